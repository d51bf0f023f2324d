/**
 * The code check's folders under the system's temporary folder (controlplane/service/check-folders.ts;
 * loose ends round 14, ADR 0248 amended): a platform killed outright left its warmed checkers'
 * `fp-check-*` folders for ever. Each start (a CodeChecker made) removes those whose process is gone,
 * and no other: its own, a running process's, another name's. Fails without: the dead platform's
 * folders stay.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CodeChecker } from '../../controlplane/service/code-check.js';
import { eventually } from '../helpers/processes.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const SCRIPT = join(ROOT, 'runtime', 'validate.py');

/** A CodeChecker made with TMPDIR at `dir` (os.tmpdir() reads it at each call), as a platform's start makes one. */
function startIn(dir: string, log: (line: string) => void = () => undefined): CodeChecker {
  const was = process.env['TMPDIR'];
  process.env['TMPDIR'] = dir;
  try {
    return new CodeChecker({ python: PYTHON, script: SCRIPT }, log);
  } finally {
    if (was === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = was;
  }
}

describe('the code check folders of a platform process that is gone', { timeout: 60_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-check-folders-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('are removed at start; its own, a running process\'s and other names are kept', async () => {
    const dir = join(work, 'sweep');
    mkdirSync(dir);
    const dead = spawnSync('true').pid!; // ended: its pid names nothing now
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    after(() => sleeper.kill('SIGKILL'));
    const names = {
      deadZygote: `fp-check-${dead}-aB3dE9`,
      deadSpawned: `fp-validate-${dead}-Zz0099`,
      running: `fp-check-${sleeper.pid}-q1w2e3`,
      own: `fp-check-${process.pid}-r4t5y6`,
      legacy: 'fp-check-u7i8o9',
      other: `fp-checks-${dead}-p0o9i8`,
    };
    for (const name of Object.values(names)) mkdirSync(join(dir, name, 'code'), { recursive: true });
    writeFileSync(join(dir, names.deadSpawned, 'code', 'main.py'), 'print(1)\n');
    const file = `fp-check-${dead}-f1l2e3`; // a file, not a folder of ours
    writeFileSync(join(dir, file), '');
    const logged: string[] = [];
    startIn(dir, (line) => logged.push(line)).close();
    const left = readdirSync(dir).sort();
    assert.deepEqual(left, [names.running, names.own, names.legacy, names.other, file].sort());
    assert.match(logged.join('\n'), /removed 2 check folder/);
  });

  it('a platform SIGKILLed with a warmed checker: its folder goes at the next start', { skip: process.getuid?.() !== 0 ? 'needs root (a boxed check)' : false }, async () => {
    const dir = join(work, 'killed');
    mkdirSync(dir);
    // A platform's CodeChecker in another process, a boxed check done (its warmed checker's folder made), then SIGKILL.
    const program = `
      import { CodeChecker } from ${JSON.stringify(join(ROOT, 'dist', 'controlplane', 'service', 'code-check.js'))};
      const checks = new CodeChecker({ python: ${JSON.stringify(PYTHON)}, script: ${JSON.stringify(SCRIPT)}, box: { mode: 'root', uid: 599971, idmap: null, cgroups: null } }, () => undefined);
      const report = await checks.check('ws', [{ path: 'main.py', content: 'def handler(event, context):\\n    return 1\\n' }]);
      console.log(report.ok ? 'checked' : 'failed');
      setInterval(() => undefined, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', program], { env: { ...process.env, TMPDIR: dir }, stdio: ['ignore', 'pipe', 'inherit'] });
    after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
    assert.ok(await eventually(() => out.includes('checked') || out.includes('failed') || child.exitCode !== null, 30_000), 'the check did not answer');
    assert.match(out, /checked/);
    const made = readdirSync(dir);
    assert.deepEqual(made.map((n) => n.replace(/-[A-Za-z0-9]{6}$/, '')), [`fp-check-${child.pid}`]);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    assert.ok(existsSync(join(dir, made[0]!)), 'the killed platform removed its folder itself');
    startIn(dir).close();
    assert.deepEqual(readdirSync(dir), []);
  });
});
