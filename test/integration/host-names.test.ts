/**
 * Names a host takes on the machine (its cgroup root `fp-<pid>-<n>`, its template root
 * `<tmp>/fp-tpl-<pid>-<n>`) stay its own when a second copy of the host's modules runs in the same
 * process (bench/ab-cold.ts loads two builds side by side): the second copy's counter starts at 1
 * too, and it used to take, and then remove, the first one's directories. They also stay its own
 * when a platform starts in another pid namespace (ADR 0125).
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as CgroupsModule from '../../poolmgr/host/cgroups.js';
import type * as TemplatesModule from '../../poolmgr/host/templates.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The module at `dist/poolmgr/host/<file>`, as a copy of its own (a query makes another module instance). */
async function copyOf<T>(file: string, copy: string): Promise<T> {
  return await import(`${pathToFileURL(join(here, '..', '..', 'poolmgr', 'host', file)).href}?copy=${copy}`) as T;
}
const isRoot = process.geteuid?.() === 0;


/** The host's built module `file` (poolmgr/host/), as an import URL for a script run elsewhere. */
function hostModule(file: string): string {
  return pathToFileURL(join(here, '..', '..', 'poolmgr', 'host', file)).href;
}

/**
 * A platform's start in a pid namespace of its own (`unshare --pid --fork` and `flags`): `steps`,
 * then a template root made and removed, which sweeps what it takes for stale.
 */
function platformStartIn(flags: string[], steps: string[]): SpawnSyncReturns<string> {
  const script = [
    `const { makeTemplateRoot } = await import(${JSON.stringify(hostModule('templates.js'))});`,
    'const { rmSync } = await import("node:fs");',
    'if (process.pid !== 1) throw new Error("not in a pid namespace of its own");',
    ...steps,
    'rmSync(makeTemplateRoot(), { recursive: true });',
  ].join('\n');
  return spawnSync('unshare', ['--pid', '--fork', ...flags, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
}

describe('a second copy of the host in one process', () => {
  it('gets its own cgroup root, and the first keeps its own', { skip: isRoot ? false : 'needs root' }, async (t) => {
    const [a, b] = [await copyOf<typeof CgroupsModule>('cgroups.js', 'a'), await copyOf<typeof CgroupsModule>('cgroups.js', 'b')];
    const first = a.Cgroups.open({ tasksMax: 8, cpuShares: 1024, leafStock: 0 }).cgroups;
    if (first === null) return t.skip('no usable cgroups');
    t.after(() => first.close());
    const second = b.Cgroups.open({ tasksMax: 8, cpuShares: 1024, leafStock: 0 }).cgroups;
    assert.ok(second !== null);
    t.after(() => second.close());
    const rootOf = (c: CgroupsModule.Cgroups, id: string): string => dirname(dirname(c.forRuntime(id).join[0]!));
    const [r1, r2] = [rootOf(first, 'one'), rootOf(second, 'two')];
    assert.notEqual(r1, r2, 'two roots');
    assert.match(r2, /\/fp-\d+-\d+-\d+$/, 'named as ever, with its pid namespace (ADR 0125): the stale-directory sweep recognises it');
    assert.ok(existsSync(r1) && existsSync(r2), 'both still there');
  });

  it('gets its own template root, and the first keeps its own', async () => {
    const [a, b] = [await copyOf<typeof TemplatesModule>('templates.js', 'a'), await copyOf<typeof TemplatesModule>('templates.js', 'b')];
    const r1 = a.makeTemplateRoot();
    const r2 = b.makeTemplateRoot();
    try {
      assert.notEqual(r1, r2);
      assert.ok(existsSync(r1), 'the first root was not removed by the second copy');
      assert.match(r2, /\/fp-tpl-\d+-\d+-\d+$/);
    } finally {
      const { rmSync } = await import('node:fs');
      for (const r of [r1, r2]) rmSync(r, { recursive: true, force: true });
    }
  });

  it('a platform starting in another pid namespace leaves this one\'s idle cgroup root and template root alone', { skip: isRoot ? false : 'needs root' }, async (t) => {
    // Apps round 12: a platform run under `unshare --pid` saw no process behind fp-<pid>-<n> and removed
    // another platform's idle directories as stale; that platform's next dependency build failed
    // (ENOENT … mkdir '/sys/fs/cgroup/pids/fp-18423-2/l6') and its runtimes died before their function.
    if (!existsSync('/usr/bin/unshare')) return t.skip('no unshare');
    const cgroups = await copyOf<typeof CgroupsModule>('cgroups.js', 'ns');
    const mine = cgroups.Cgroups.open({ tasksMax: 8, cpuShares: 1024, leafStock: 0 }).cgroups;
    if (mine === null) return t.skip('no usable cgroups');
    t.after(() => mine.close());
    const root = dirname(dirname(mine.forRuntime('probe').join[0]!));
    await mine.release('probe');
    const tpl = (await copyOf<typeof TemplatesModule>('templates.js', 'ns')).makeTemplateRoot();
    t.after(() => rmSync(tpl, { recursive: true, force: true }));
    const run = platformStartIn(['--mount-proc'], [
      `const { Cgroups } = await import(${JSON.stringify(hostModule('cgroups.js'))});`,
      'const opened = Cgroups.open({ tasksMax: 8, cpuShares: 1024, leafStock: 0 });',
      'if (opened.cgroups === null) throw new Error(opened.reason);',
      'opened.cgroups.close();',
    ]);
    assert.equal(run.status, 0, run.stderr);
    assert.ok(existsSync(root), `${root} is still there`);
    assert.ok(existsSync(tpl), `${tpl} is still there`);
  });
  it('a platform in a nested pid namespace without a /proc of its own (as the Kubernetes tests\' kubelet runs its pods) leaves a name without a namespace alone: an earlier build\'s, still running', { skip: isRoot ? false : 'needs root' }, async (t) => {
    // Round 10: a platform of a build before ADR 0125 names its template root fp-tpl-<pid>-<n>.
    // Seen from such a namespace every outside pid is dead, and the new sweep still removed it.
    if (!existsSync('/usr/bin/unshare')) return t.skip('no unshare');
    const legacy = join(tmpdir(), `fp-tpl-${process.pid}-${900 + Math.floor(Math.random() * 99)}`);
    mkdirSync(legacy, { mode: 0o700 });
    t.after(() => rmSync(legacy, { recursive: true, force: true }));
    const run = platformStartIn(['--kill-child'], []);
    assert.equal(run.status, 0, run.stderr);
    assert.ok(existsSync(legacy), `${legacy} is still there`);
  });
});
