/**
 * The CLI run in a function's folder, or in a folder below it (new-user round 8): `env`, `env
 * list|pull|push` take the folder's function as `logs` and `invoke` do, and a subfolder of a
 * function (`app/routers/`) counts as that function for the commands that take its name, while
 * `validate`/`deploy`/`dev` there name the folder above, where they said "not a function folder …
 * `init .`" (a second function inside the first).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { functionFolderAbove, functionOfFolder } from '../../cli/folder-function.js';
import { preflight } from '../../cli/preflight.js';
import type { PythonPreflight } from '../../cli/python.js';
import { runCli } from '../helpers/cli-harness.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-folder-below-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
// "my proj é": a folder with a space and a letter past ASCII, as a user's may be.
const project = join(scratch, 'my proj é', 'shop');
const below = join(project, 'app', 'routers');
mkdirSync(below, { recursive: true });
writeFileSync(join(project, 'platform.yaml'), 'kind: function\nname: shop\nentrypoint: main:handler\n');
writeFileSync(join(project, '.env'), 'GREETING=hi\n');
writeFileSync(join(project, 'main.py'), 'def handler(event, context):\n    return {}\n');
// Nothing listens here: a command that got as far as its request ends UNREACHABLE (exit 5).
const env = { FP_CONFIG_DIR: join(scratch, 'config'), FP_URL: 'http://127.0.0.1:9', PATH: '' };

const runPython: PythonPreflight = async () => ({
  python: '3.11.7', checked: 1, syntaxErrors: [], problems: [], warnings: [],
  entrypoint: { module: 'main', attr: 'handler', file: null, line: null, kind: null, async: null, arity: null },
});

describe('a folder below a function folder', () => {
  it("is that function's for the commands that take its name", () => {
    assert.equal(functionOfFolder(project), 'shop');
    assert.equal(functionOfFolder(below), 'shop');
    assert.deepEqual(functionFolderAbove(below), { path: join('..', '..'), name: 'shop' });
    assert.equal(functionFolderAbove(project), null);
  });

  it('validate/deploy there names the folder above and the cd, not `init .`', async () => {
    const found = await preflight(below, 'python3', {}, { runPython });
    assert.equal(found.problems.length, 1);
    const message = found.problems[0]!.message;
    assert.match(message, /a folder inside the function folder \.\.\/\.\. \(function "shop"\).*`cd \.\.\/\.\.` and run it there/);
    assert.doesNotMatch(message, /init \./);
  });

  it('validate/deploy in the folder holding function folders names them and the cd, not `init .` (new-user round 9)', async () => {
    const parent = join(scratch, 'my proj é');
    const found = await preflight(parent, 'python3', {}, { runPython });
    assert.equal(found.problems.length, 1);
    const message = found.problems[0]!.message;
    assert.match(message, /not a function folder, but a folder in it is: shop; `cd shop` and run it there, or give that folder as the argument$/);
    assert.doesNotMatch(message, /init \./);
    mkdirSync(join(parent, 'two words'));
    writeFileSync(join(parent, 'two words', 'platform.yaml'), 'kind: function\nname: two\n');
    mkdirSync(join(parent, '.hidden'));
    writeFileSync(join(parent, '.hidden', 'platform.yaml'), 'kind: function\nname: hidden\n');
    const two = (await preflight(parent, 'python3', {}, { runPython })).problems[0]!.message;
    assert.match(two, /but folders in it are: shop, 'two words'; `cd` into one \(`cd shop`\) and run it there, or give it as the argument$/);
  });

  it("validate/deploy/dev given the folder's function name (as invoke takes it) say to leave it out; a near miss names the folder (new-user round 9)", async () => {
    for (const command of ['validate', 'deploy', 'dev']) {
      const r = await runCli([command, 'shop'], { env, cwd: project });
      assert.equal(r.code, EXIT.USAGE, r.stderr);
      assert.match(r.stderr, new RegExp(`is not a folder: ${command} takes a function's folder, not its name; this folder holds function "shop": run \`${command}\` without the name`));
    }
    const near = await runCli(['validate', 'shpo'], { env, cwd: join(scratch, 'my proj é') });
    assert.equal(near.code, EXIT.USAGE);
    assert.match(near.stderr, /shpo is not a folder: give the function's folder \(the one with platform\.yaml\); did you mean "shop"\?/);
  });

  it('init inside a function folder (init shop again in shop/, init . below it) writes nothing and says where a new one goes (new-user round 9)', async () => {
    const again = await runCli(['init', 'shop'], { env, cwd: project });
    assert.equal(again.code, EXIT.USAGE, again.stderr);
    assert.match(again.stderr, /shop is inside the folder of function "shop" \(this folder, with its platform\.yaml\), whose deploy uploads all of it: nothing was written\. A new function goes beside it: `cd \.\.` and init there/);
    assert.equal(existsSync(join(project, 'shop')), false);
    const here = await runCli(['init', '.'], { env, cwd: below });
    assert.equal(here.code, EXIT.USAGE, here.stderr);
    assert.match(here.stderr, /this folder is inside the folder of function "shop" \(\.\.\/\.\., with its platform\.yaml\)/);
    assert.equal(existsSync(join(below, 'main.py')), false);
  });

  it('dev --remote with no platform there says dev can start its own (new-user round 9)', async () => {
    const r = await runCli(['dev', '--remote'], { env, cwd: project });
    assert.equal(r.code, EXIT.UNREACHABLE, r.stderr);
    assert.match(r.stderr, /cannot reach the platform .* Or run `.*dev` without --remote or --url: it starts a platform of its own\. \[UNREACHABLE\]/);
  });

  it('logs and triggers there ask the platform for that function (no usage error)', async () => {
    for (const argv of [['logs', '-n', '1'], ['triggers']]) {
      const r = await runCli(argv, { env, cwd: below });
      assert.equal(r.code, EXIT.UNREACHABLE, `${argv.join(' ')}: ${r.stderr}`);
    }
    const outside = await runCli(['triggers'], { env, cwd: scratch });
    assert.equal(outside.code, EXIT.USAGE);
    assert.match(outside.stderr, /triggers needs the function name: .*triggers <name> \(or run it in a function's folder\)/);
  });
});

describe('env in a function folder', () => {
  for (const argv of [['env'], ['env', 'list'], ['env', 'pull', '--file', join(scratch, 'pulled.env')], ['env', 'push', '--dry-run']]) {
    it(`\`${argv.slice(0, 2).join(' ')}\` takes the folder's function`, async () => {
      const r = await runCli(argv, { env, cwd: project });
      assert.equal(r.code, EXIT.UNREACHABLE, r.stderr);
    });
  }

  it('env list below it too; env pull and push only in the folder of platform.yaml (they read and write .env there)', async () => {
    assert.equal((await runCli(['env', 'list'], { env, cwd: below })).code, EXIT.UNREACHABLE);
    for (const action of ['pull', 'push']) {
      const r = await runCli(['env', action], { env, cwd: below });
      assert.equal(r.code, EXIT.USAGE, r.stderr);
      assert.match(r.stderr, new RegExp(`env ${action} needs the function name: .*env ${action} <fn> \\(or run it in the function's folder, where its platform\\.yaml is\\)`));
    }
  });

  it('env set API_KEY=… and env unset API_KEY there take it too (no function is named so); env unset shop names the function', async () => {
    for (const argv of [['env', 'set', 'API_KEY=x'], ['env', 'unset', 'API_KEY'], ['env', 'set', 'A=1', 'B=2']]) {
      const r = await runCli(argv, { env, cwd: below });
      assert.equal(r.code, EXIT.UNREACHABLE, `${argv.join(' ')}: ${r.stderr}`);
    }
    assert.equal((await runCli(['env', 'unset', 'shop'], { env, cwd: project })).code, EXIT.USAGE);
  });

  it('env set A=1 outside a function folder says the name comes first', async () => {
    const r = await runCli(['env', 'set', 'A=1'], { env, cwd: scratch });
    assert.equal(r.code, EXIT.USAGE, r.stderr);
    assert.match(r.stderr, /env set needs the function name before "A=1": .*env set <fn> NAME=value \(or run it in a function's folder\)/);
  });
});
