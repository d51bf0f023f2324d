/**
 * Two platforms on one host (two pools, root mode) never run functions as the same uid
 * (docs/adr/0076-host-wide-uid-claims.md): a shared uid would share RLIMIT_NPROC host-wide, so one
 * platform's function could starve the other's of processes. Real runtimes; the uid is what the
 * handler sees.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_UID_CLAIMS_DIR } from '../../poolmgr/host/uid-claims.js';
import { defaultPoolConfig, resolveSandbox, type InvocationResult } from '../../poolmgr/index.js';
import { ProcessHost } from '../../poolmgr/host/process-host.js';
import { testSandbox } from '../helpers/runtime-process.js';
import { ev, fnVersion, openPool, py, removeFunction, writeFunction } from './poolmgr-harness.js';

const SANDBOX = resolveSandbox(testSandbox());

function uidOf(result: InvocationResult): number {
  if (result.response === null) throw new Error(`call failed: ${JSON.stringify(result.error)}`);
  return (JSON.parse(Buffer.from(result.response.body).toString('utf8')) as { uid: number }).uid;
}

describe('uids across platforms on one host', { skip: SANDBOX === 'root' ? false : 'root mode only (one uid per function)' }, () => {
  it("two platforms' functions (even of the same name) get different uids; a stopped platform's claims are gone", async (t) => {
    const dir = await writeFunction({ 'main.py': py('import os', 'def handler(event, context):', '    return {"uid": os.getuid()}') });
    t.after(() => removeFunction(dir));
    const a = await openPool();
    t.after(() => a.close());
    const b = await openPool();
    t.after(() => b.close());
    const fa = fnVersion(dir);
    const fb = fnVersion(dir, { name: fa.name });
    const uidA = uidOf(await a.invoke(fa, ev()));
    const uidB = uidOf(await b.invoke(fb, ev()));
    assert.ok(uidA >= 600_000 && uidB >= 600_000, `${uidA} ${uidB}`);
    assert.notEqual(uidA, uidB);
    // The first platform stops: its claim goes (the file is gone, or another process's by now).
    await a.close();
    const claim = join(DEFAULT_UID_CLAIMS_DIR, String(uidA));
    assert.ok(!existsSync(claim) || !readFileSync(claim, 'utf8').startsWith(`${process.pid} `), `${claim} still claimed`);
    const c = await openPool();
    t.after(() => c.close());
    assert.notEqual(uidOf(await c.invoke(fnVersion(dir), ev())), uidB);
  });
});

describe('uid claims that cannot be made', { skip: SANDBOX === 'root' ? false : 'root mode only' }, () => {
  it('a claims directory that cannot be made (a file there, a read-only /run) is a warning, not a platform that does not start', async () => {
    const dir = await writeFunction({ 'not-a-dir': 'x' });
    try {
      const host = new ProcessHost({ ...defaultPoolConfig({ codeRoots: [dir] }), sandbox: 'root', zygotes: false, uidClaimsDir: join(dir, 'not-a-dir', 'uids') });
      assert.ok(host.isolation.warnings.some((w) => /uids are not claimed host-wide .*FP_SANDBOX_UIDS/.test(w)), host.isolation.warnings.join('\n'));
      await host.close();
    } finally {
      await removeFunction(dir);
    }
  });
});
