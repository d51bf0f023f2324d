/**
 * The platform's cgroup v2 home (poolmgr/host/cgroup-v2-home.ts, ADR 0144): cgroup v2 gives a
 * cgroup holding processes no controller for its children (EBUSY), and the platform's cgroup holds
 * the platform, so it moves itself (and what it started there) into a leaf of its own first; a
 * process there that is not its own is never moved and the refusal names it. On the real v2
 * hierarchy of this host, with whatever domain controller its root offers (this VM's v2 mount
 * offers only `hugetlb`, the rule is the same for memory, pids and cpu). Root only.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SELF_LEAF, startedBy, v2Home } from '../../poolmgr/host/cgroup-v2-home.js';

const MODULE = fileURLToPath(new URL('../../poolmgr/host/cgroup-v2-home.js', import.meta.url));

/** The cgroup2 mount point and a controller its root offers, or why the test cannot run. */
function v2Setup(): { mount: string; controller: string } | string {
  if (process.geteuid?.() !== 0) return 'needs root';
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' - ')[1]?.startsWith('cgroup2 '));
  if (line === undefined) return 'no cgroup2 hierarchy is mounted';
  const mount = line.split(' ')[4]!;
  if (!readFileSync('/proc/self/cgroup', 'utf8').split('\n').includes('0::/')) return 'this process is not in the cgroup2 root';
  const offered = readFileSync(`${mount}/cgroup.controllers`, 'utf8').trim().split(/\s+/).filter((c) => c !== '');
  const controller = ['pids', 'memory', 'hugetlb'].find((c) => offered.includes(c));
  return controller === undefined ? `the cgroup2 root offers no domain controller to try (${offered.join(' ') || 'none'})` : { mount, controller };
}

/**
 * Node in `dir` (it joins before its exec), calling enableV2Controllers(dir, [controller]); prints
 * `ok <its 0:: cgroup line> <v2Home of it>` or `refused <message>`.
 */
const CHILD = [
  `const { enableV2Controllers, v2Home } = await import(process.argv[1]);`,
  `const [dir, controller, mount] = process.argv.slice(2);`,
  `try {`,
  `  enableV2Controllers(dir, [controller]);`,
  `  const line = (await import('node:fs')).readFileSync('/proc/self/cgroup', 'utf8').split('\\n').find((l) => l.startsWith('0::'));`,
  `  console.log('ok', line, v2Home(mount + line.slice(3)));`,
  `} catch (err) { console.log('refused', err.message); }`,
].join('\n');

function runChild(dir: string, setup: { mount: string; controller: string }): Promise<string> {
  const child = spawn('sh', ['-c', `echo $$ > "${dir}/cgroup.procs" && exec "${process.execPath}" --input-type=module -e "$0" "$@"`, CHILD, MODULE, dir, setup.controller, setup.mount], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  return once(child, 'exit').then(() => out.trim());
}

function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(`${dir}/${e.name}`);
  rmdirSync(dir);
}

const setup = v2Setup();

describe('the platform leaves its own cgroup v2 for a leaf before enabling controllers (ADR 0144)', { skip: typeof setup === 'string' ? setup : false }, () => {
  const { mount, controller } = setup as { mount: string; controller: string };
  const top = `${mount}/fp-v2home-test-${process.pid}`;
  let enabledAtRoot = false;
  const running: ChildProcess[] = [];
  before(() => {
    // The test's own cgroup under the root, with the controller reaching it (the root is exempt from the rule).
    if (!readFileSync(`${mount}/cgroup.subtree_control`, 'utf8').includes(controller)) {
      writeFileSync(`${mount}/cgroup.subtree_control`, `+${controller}`);
      enabledAtRoot = true;
    }
    mkdirSync(top);
    writeFileSync(`${top}/cgroup.subtree_control`, `+${controller}`); // to the platform's cgroups below it
  });
  after(() => {
    for (const c of running) c.kill('SIGKILL');
    // Every process left in the test's cgroups goes back to the root before they are removed.
    const drain = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) drain(`${dir}/${e.name}`);
      for (const pid of readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter((l) => l !== '')) {
        try {
          writeFileSync(`${mount}/cgroup.procs`, pid);
        } catch { /* ended */ }
      }
    };
    if (existsSync(top)) {
      drain(top);
      spawnSync('sleep', ['0.2']);
      removeTree(top);
    }
    try {
      if (enabledAtRoot) writeFileSync(`${mount}/cgroup.subtree_control`, `-${controller}`);
    } catch { /* another cgroup enabled it meanwhile: left on, as harmless as it was at the root */ }
  });

  it('a cgroup holding only the platform: the platform moves into fp-<pid>-self-<ns> and the controller reaches the cgroup it left', async () => {
    const dir = `${top}/alone`;
    mkdirSync(dir);
    const out = await runChild(dir, { mount, controller });
    const match = /^ok 0::(\S+) (\S+)$/.exec(out);
    assert.ok(match, `the child said: ${out}`);
    assert.match(match[1]!, new RegExp(`^${dir.slice(mount.length)}/fp-\\d+-self(-\\d+)?$`), 'the child now lives in its own leaf');
    assert.equal(match[2], dir, 'v2Home names the cgroup it left, where its directories go');
    assert.ok(readFileSync(`${dir}/cgroup.subtree_control`, 'utf8').includes(controller), 'the controller is enabled for the children');
  });

  it('a cgroup also holding a process that is not the platform\'s: nothing is moved and the refusal names the pid', async () => {
    const dir = `${top}/shared`;
    mkdirSync(dir);
    const other = spawn('sh', ['-c', `echo $$ > "${dir}/cgroup.procs" && exec sleep 60`], { stdio: 'ignore' });
    running.push(other);
    for (let i = 0; i < 100 && !readFileSync(`${dir}/cgroup.procs`, 'utf8').includes(String(other.pid)); i++) await new Promise((r) => setTimeout(r, 20));
    const out = await runChild(dir, { mount, controller });
    assert.match(out, new RegExp(`^refused the platform's cgroup ${dir} also holds processes that are not the platform's \\(pid ${other.pid}\\)`));
    assert.match(out, /systemd-run --scope -p Delegate=yes/);
    assert.deepEqual(readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name), [], 'no leaf was made');
    assert.ok(!readFileSync(`${dir}/cgroup.subtree_control`, 'utf8').includes(controller));
  });
});

describe('startedBy and v2Home', () => {
  it('startedBy follows parents in /proc: this process and its children are its own, its parent and pid 1 are not', async () => {
    assert.equal(startedBy(process.pid, process.pid), true);
    const child = spawn('sleep', ['5'], { stdio: 'ignore' });
    try {
      assert.equal(startedBy(child.pid!, process.pid), true);
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(startedBy(process.ppid, process.pid), false);
    assert.equal(startedBy(1, process.pid), false);
    assert.equal(startedBy(2 ** 22 + 1, process.pid), false, 'a pid that does not exist');
  });

  it('v2Home is the cgroup itself, or the one left when the platform lives in its own self leaf', () => {
    assert.equal(v2Home('/sys/fs/cgroup/system.slice/fp.service'), '/sys/fs/cgroup/system.slice/fp.service');
    assert.match(SELF_LEAF, new RegExp(`^fp-${process.pid}-self(-\\d+)?$`));
    assert.equal(v2Home(`/sys/fs/cgroup/system.slice/fp.service/${SELF_LEAF}`), '/sys/fs/cgroup/system.slice/fp.service');
    // Another platform's self leaf is not this one's home.
    assert.equal(v2Home(`/sys/fs/cgroup/a/fp-${process.pid + 1}-self`), `/sys/fs/cgroup/a/fp-${process.pid + 1}-self`);
  });
});
