/**
 * A newcomer's eighth walk (docs/adr/0110-newcomer-round-8.md): what `init` tells a user to run
 * next works as written, a mistyped template is named, and a workspace token sent to another
 * workspace is told so.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { TEMPLATES } from '../../cli/commands/init.js';
import { EXIT } from '../../cli/errors.js';
import { jsonOf, ROOT, runCli, spawnCli } from '../helpers/cli-harness.js';
import { serverSkip } from '../helpers/servers.js';
import { createFunction, deploy, fnName, upload, usePlatform } from './platform-harness.js';

const PYTHON = existsSync(join(ROOT, '.venv', 'bin', 'python')) ? join(ROOT, '.venv', 'bin', 'python') : 'python3';

/** The top-level modules the folder's tests import that neither Python's stdlib nor the folder provides (ast, not a regex). */
function thirdPartyImports(dir: string): string[] {
  const script = [
    'import ast, pathlib, sys',
    'd = pathlib.Path(sys.argv[1]); own = {p.stem for p in d.glob("*.py")}',
    'mods = set()',
    'for f in [*d.glob("test_*.py"), d / "conftest.py"]:',
    '    for n in ast.walk(ast.parse(f.read_text())):',
    '        if isinstance(n, ast.Import): mods.update(a.name.split(".")[0] for a in n.names)',
    '        elif isinstance(n, ast.ImportFrom) and n.level == 0: mods.add(n.module.split(".")[0])',
    'print("\\n".join(sorted(m for m in mods if m not in sys.stdlib_module_names and m not in own and m != "pytest")))',
  ].join('\n');
  return execFileSync(PYTHON, ['-c', script, dir], { encoding: 'utf8' }).split('\n').filter(Boolean);
}
const PACKAGE_OF: Record<string, string> = { fastapi: 'fastapi[standard]' }; // its TestClient needs httpx too

describe('init: the next steps it prints', () => {
  const root = mkdtempSync(join(tmpdir(), 'fp-init-next-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  for (const template of TEMPLATES) {
    it(`${template}: the pytest hint installs what the tests import`, async () => {
      const dir = join(root, template);
      const r = await runCli(['init', dir, '--template', template]);
      assert.equal(r.code, EXIT.OK, r.stderr);
      const hint = /python -m pytest .*\(pip install ([^)]*)\)/.exec(r.stdout)?.[1];
      assert.ok(hint !== undefined, r.stdout);
      for (const module of thirdPartyImports(dir)) {
        assert.ok(hint.includes(PACKAGE_OF[module] ?? module), `${template}'s tests import ${module}; the hint says: pip install ${hint}`);
      }
    });
  }

  it('a mistyped --template is a usage error that names the one meant', async () => {
    const r = await runCli(['init', join(root, 'typo'), '--template', 'fastpai']);
    assert.equal(r.code, EXIT.USAGE);
    assert.match(r.stderr, /did you mean "fastapi"\?/);
  });
});

describe('a workspace token with another workspace named', { timeout: 120_000 }, () => {
  const h = usePlatform({ poolSize: 1 });
  const workspace = `j8-${randomBytes(3).toString('hex')}`;
  let work = '';
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'fp-cli-j8-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('says the token acts in its own workspace, not that the named one does not exist', async () => {
    const env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work };
    assert.equal((await spawnCli(['workspaces', 'create', workspace, '--url', h.url, '--token', h.api.token!], { env })).code, EXIT.OK);
    const made = await spawnCli(['tokens', 'create', '--role', 'viewer', '-w', workspace, '--url', h.url, '--token', h.api.token!, '--json'], { env });
    const token = jsonOf(made).secret as string;
    const r = await spawnCli(['functions', '-w', 'default', '--url', h.url, '--token', token, '--json'], { env });
    assert.equal(r.code, EXIT.API);
    const error = jsonOf(r).error as { code: string; tokenWorkspace?: string };
    assert.equal(error.code, 'WORKSPACE_NOT_FOUND');
    assert.equal(error.tokenWorkspace, workspace);
    // Its own workspace named, or none: as before.
    assert.equal((await spawnCli(['functions', '-w', workspace, '--url', h.url, '--token', token], { env })).code, EXIT.OK);
    // A mistyped workspace with the admin token still gets "did you mean".
    const typo = await spawnCli(['functions', '-w', 'defualt', '--url', h.url, '--token', h.api.token!, '--json'], { env });
    assert.equal(jsonOf(typo).error.suggestion, 'default');
  });

  it('workspaces lists the quotas as limits, not as use', async () => {
    const env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work };
    const r = await spawnCli(['workspaces', '--url', h.url, '--token', h.api.token!], { env });
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.match(r.stdout, /^WORKSPACE +MAX FUNCTIONS +MAX INSTANCES +MAX CALLS\/MIN +MAX CODE +MAX LOGS$/m);
    assert.match(r.stdout, /workspaces show <name>/);
  });

  it('login takes the console\'s address as printed and refuses a URL without a scheme with the one meant', async () => {
    const env = { FP_CONFIG_DIR: join(work, 'login'), HOME: work };
    const port = new URL(h.url).port;
    const bare = await spawnCli(['login', `localhost:${port}`, '--token', h.api.token!], { env });
    assert.equal(bare.code, EXIT.USAGE, bare.stderr);
    assert.match(bare.stderr, new RegExp(`did you mean http://localhost:${port}\\?`));
    const console_ = await spawnCli(['login', `http://console.localhost:${port}/console/`, '--token', h.api.token!, '--json'], { env });
    assert.equal(console_.code, EXIT.OK, console_.stderr);
    assert.equal(jsonOf(console_).url, `http://localhost:${port}`);
  });
});

describe('functions delete of a function with a database', { skip: serverSkip('ferretdb'), timeout: 120_000 }, () => {
  const h = usePlatform({ poolSize: 1, ...(process.env.FP_TEST_PYTHON ? { pythonPath: process.env.FP_TEST_PYTHON } : {}) });

  it('says the database is kept, and how to drop it', async () => {
    const name = fnName('kept');
    await createFunction(h.api, name);
    await upload(h.api, name, { 'main.py': 'def handler(event, context):\n    context.db.notes.insert_one({"n": 1})\n    return context.db.name\n' }, { manifest: { kind: 'function', name, data: { mongo: { database: 'kept' } } } });
    await deploy(h.api, name);
    const called = await fetch(`${h.url}/fn/${name}/`); // a write: the database exists on the server
    assert.equal(called.status, 200, await called.text());
    const env = { FP_URL: h.url, FP_TOKEN: h.api.token!, HOME: tmpdir() };
    // Dropping it while the function uses it is refused before any question (round 10: it asked first).
    const inUse = await spawnCli(['data', 'drop', 'kept', '--json'], { env });
    assert.equal(inUse.code, EXIT.API, inUse.stderr);
    assert.deepEqual([jsonOf(inUse).error.code, jsonOf(inUse).error.functions], ['DATA_DATABASE_IN_USE', [name]]);
    const asked = await spawnCli(['functions', 'delete', name], { env });
    assert.equal(asked.code, EXIT.USAGE);
    assert.match(asked.stderr, /its database "kept" is kept \(`.* data drop kept` removes it/);
    const r = await spawnCli(['functions', 'delete', name, '--yes', '--json'], { env });
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.equal(jsonOf(r).keptDatabase, 'kept');
    // A mistyped drop is found out before it asks, with the one meant.
    const typo = await spawnCli(['data', 'drop', 'kep', '--json'], { env });
    assert.equal(typo.code, EXIT.API, typo.stderr);
    assert.equal(jsonOf(typo).error.code, 'DATA_DATABASE_NOT_FOUND');
    assert.match(jsonOf(typo).error.message, /did you mean "kept"\?/);
  });
});

describe('tokens create with a role that is not one', () => {
  it('names the roles, the one meant, and where the admin token comes from', async () => {
    const env = { FP_URL: 'http://127.0.0.1:9', FP_TOKEN: 'fpa_x' };
    const typo = await runCli(['tokens', 'create', '--role', 'deployr'], { env });
    assert.equal(typo.code, EXIT.USAGE);
    assert.match(typo.stderr, /--role must be one of viewer, invoker, deployer, owner, got "deployr"; did you mean "deployer"\?/);
    const admin = await runCli(['tokens', 'create', '--role', 'admin'], { env });
    assert.equal(admin.code, EXIT.USAGE);
    assert.match(admin.stderr, /the admin token is not made here/);
  });
});
