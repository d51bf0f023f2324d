/** Which `mount` calls turn on fast cgroup migrations (poolmgr/host/cgroup-migrations.ts), read from mountinfo. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cgroup2Mounts, plan } from '../../poolmgr/host/cgroup-migrations.js';

const V1_ONLY = [
  '30 23 0:26 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory',
  '31 23 0:27 / /sys/fs/cgroup/pids rw,relatime shared:10 - cgroup cgroup rw,pids',
].join('\n');
const HYBRID = `${V1_ONLY}\n40 23 0:35 / /sys/fs/cgroup/unified rw,relatime shared:11 - cgroup2 cgroup2 rw`;
const SYSTEMD = '25 21 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot';

describe('fast cgroup migrations', () => {
  it('finds the cgroup2 mounts and their root options', () => {
    assert.deepEqual(cgroup2Mounts(V1_ONLY), []);
    assert.deepEqual(cgroup2Mounts(SYSTEMD), [{ mountPoint: '/sys/fs/cgroup', options: ['rw', 'nsdelegate', 'memory_recursiveprot'] }]);
    assert.deepEqual(cgroup2Mounts('1 2 0:3 / /a\\040b rw - cgroup2 none rw').map((m) => m.mountPoint), ['/a b']);
  });

  it('remounts the cgroup2 mount with its own options kept (a remount clears every flag it does not name)', () => {
    assert.deepEqual(plan(cgroup2Mounts(SYSTEMD), '/tmp/x'), [['-o', 'remount,nsdelegate,memory_recursiveprot,favordynmods', '/sys/fs/cgroup']]);
    assert.deepEqual(plan(cgroup2Mounts(HYBRID), '/tmp/x'), [['-o', 'remount,favordynmods', '/sys/fs/cgroup/unified']]);
  });

  it('mounts and unmounts cgroup2 in a scratch directory when none is mounted', () => {
    assert.deepEqual(plan(cgroup2Mounts(V1_ONLY), '/tmp/x'), [['-t', 'cgroup2', '-o', 'favordynmods', 'cgroup2', '/tmp/x'], ['umount', '/tmp/x']]);
  });

  it('does nothing when the flag is already set', () => {
    assert.deepEqual(plan(cgroup2Mounts(`${V1_ONLY}\n40 23 0:35 / /u rw - cgroup2 cgroup2 rw,favordynmods`), '/tmp/x'), []);
  });
});
