/**
 * The local process host against the RuntimeHost conformance suite, in each sandbox mode this
 * machine can run: root (namespaces, own uids, cgroups), userns (the same box inside a user
 * namespace, as a platform not running as root gets it) and off (--unsafe-no-sandbox).
 */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { defaultPoolConfig, ProcessHost, type SandboxMode } from '../../poolmgr/index.js';
import { runtimeHostTests } from '../conformance/runtime-host-suite.js';

function host(sandbox: SandboxMode, zygotes = false): ProcessHost {
  return new ProcessHost({ ...defaultPoolConfig({ codeRoots: [tmpdir()], tasksMax: 64 }), sandbox, zygotes });
}

/** A host whose runtimes are all forked by its zygotes (docs/adr/0019-zygotes.md). */
async function forking(sandbox: SandboxMode): Promise<ProcessHost> {
  const h = host(sandbox, true);
  assert.equal(await h.zygotesReady(30_000), true, 'the zygotes started');
  return h;
}

const isRoot = process.geteuid?.() === 0;
if (isRoot) {
  runtimeHostTests('process host, root mode', () => {
    const h = host('root');
    return { host: h, sandboxed: true, cgroups: h.isolation.cgroups !== null };
  });
}
runtimeHostTests('process host, user-namespace mode', () => ({ host: host('userns'), sandboxed: true, cgroups: false }));
runtimeHostTests('process host, sandbox off', () => ({ host: host('off'), sandboxed: false, cgroups: false }));
if (isRoot) {
  runtimeHostTests('process host, root mode, forked by a zygote', async () => {
    const h = await forking('root');
    return { host: h, sandboxed: true, cgroups: h.isolation.cgroups !== null };
  });
}
runtimeHostTests('process host, user-namespace mode, forked by a zygote', async () => ({ host: await forking('userns'), sandboxed: true, cgroups: false }));
runtimeHostTests('process host, sandbox off, forked by a zygote', async () => ({ host: await forking('off'), sandboxed: false, cgroups: false }));
