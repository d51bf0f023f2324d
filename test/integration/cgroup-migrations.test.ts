/**
 * A root-mode process host makes moves into cgroups fast (poolmgr/host/cgroup-migrations.ts):
 * afterwards a cgroup2 mount carries `favordynmods`, or, on a kernel that cannot, the host says so
 * in its isolation warnings. (What it saves is measured in bench/, not asserted here.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { defaultPoolConfig, ProcessHost } from '../../poolmgr/index.js';
import { cgroup2Mounts, FLAG } from '../../poolmgr/host/cgroup-migrations.js';

const isRoot = process.geteuid?.() === 0;

describe('fast cgroup migrations (root mode)', { skip: isRoot ? false : 'needs root' }, () => {
  it('sets favordynmods on the cgroup2 root, or warns that moves wait', async () => {
    const host = new ProcessHost({ ...defaultPoolConfig({ codeRoots: [tmpdir()] }), sandbox: 'root', zygotes: false });
    try {
      if (host.isolation.cgroups === null) return; // no cgroups: nothing moves
      const flagged = cgroup2Mounts(readFileSync('/proc/self/mountinfo', 'utf8')).some((m) => m.options.includes(FLAG));
      const warned = host.isolation.warnings.some((w) => /grace period/.test(w));
      assert.ok(flagged !== warned, `flag set: ${flagged}, warned: ${warned}`);
    } finally {
      await host.close();
    }
  });
});
