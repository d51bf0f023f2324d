/** `init` and `validate` as commands (in-process, real files, real Python; no platform needed). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { EXIT } from '../../cli/errors.js';
import { pythonPath } from '../../cli/python.js';
import { ROOT, runCli } from '../helpers/cli-harness.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'fp-cli-init-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('cli init', () => {
  it('prints a "Next:" cd line a shell reads back (a folder with a space was `cd My Func`)', async (t) => {
    const root = tempDir(t);
    const r = await runCli(['init', "Tom's Func"], { cwd: root });
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.match(r.stdout, /^ {2}cd 'Tom'\\''s Func'$/m, r.stdout);
    // The inner loop, before deploy (which needs a running platform): new-user round 6.
    assert.match(r.stdout, /validate\n {2}\S.*fastapi-platform\S* dev +# run it here on a platform of its own: reloads on every save, shows each call \(Ctrl-C stops\)\n {2}\S.* deploy\n/, r.stdout);
  });

  for (const template of ['http', 'webhook', 'cron', 'worker', 'fastapi']) {
    it(`scaffolds the ${template} template, which validates`, async (t) => {
      const root = tempDir(t);
      const r = await runCli(['init', 'My Func', '--template', template, '--json'], { cwd: root });
      assert.equal(r.code, EXIT.OK, r.stderr);
      const doc = JSON.parse(r.stdout) as { name: string; files: string[] };
      assert.equal(doc.name, 'my-func');
      const dir = join(root, 'My Func');
      assert.deepEqual(readdirSync(dir).sort(), doc.files.slice().sort());
      assert.ok(doc.files.includes('conftest.py') && doc.files.some((f) => /^test_.*\.py$/.test(f)), 'every template ships tests');
      assert.equal(readFileSync(join(dir, '.gitignore'), 'utf8'), '.env\n__pycache__/\n.pytest_cache/\n');
      assert.match(readFileSync(join(dir, 'platform.yaml'), 'utf8'), /^name: my-func$/m);
      JSON.parse(readFileSync(join(dir, 'payload.json'), 'utf8'));
      const v = await runCli(['validate', '--json'], { cwd: dir });
      assert.equal(v.code, EXIT.OK, v.stdout + v.stderr);
      const report = JSON.parse(v.stdout) as { ok: boolean; entrypoint: { kind: string } };
      assert.equal(report.entrypoint.kind, template === 'fastapi' ? 'assignment' : 'handler');
    });
  }

  it('takes the old template name handler as http', async (t) => {
    const r = await runCli(['init', tempDir(t), '--name', 'x', '--template', 'handler', '--json']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { template: string }).template, 'http');
  });

  it('refuses an unknown template or CI (exit 2)', async (t) => {
    assert.equal((await runCli(['init', tempDir(t), '--name', 'x', '--template', 'nope'])).code, EXIT.USAGE);
    assert.equal((await runCli(['init', tempDir(t), '--name', 'x', '--ci', 'jenkins'])).code, EXIT.USAGE);
  });

  it('--ci github writes a workflow that tests, validates and deploys with FP_URL/FP_TOKEN', async (t) => {
    const dir = tempDir(t);
    const r = await runCli(['init', dir, '--name', 'shop', '--ci', 'github', '--json']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    const workflow = readFileSync(join(dir, '.github', 'workflows', 'deploy.yml'), 'utf8');
    assert.match(workflow, /name: deploy shop/);
    for (const step of ['python -m pytest', 'validate', 'deploy', 'secrets.FP_URL', 'secrets.FP_TOKEN', 'vars.FASTAPI_PLATFORM_REPO']) assert.ok(workflow.includes(step), step);
    const text = await runCli(['init', tempDir(t), '--name', 'shop', '--ci', 'github']);
    assert.match(text.stdout, /the variable FASTAPI_PLATFORM_REPO/);
    // The CLI is in no package registry (package.json is private): the workflow installed
    // `fastapi-platform` from npm's, which has none, and every first push failed there.
    assert.equal(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).private, true);
    assert.doesNotMatch(workflow, /npm install/);
    const steps = (parseYaml(workflow) as { jobs: { deploy: { steps: { name?: string; run?: string }[] } } }).jobs.deploy.steps;
    const run = (name: string): string => steps.find((s) => s.name === name)!.run!;
    // Without the variable, the build step stops at once and says what to set.
    const unset = spawnSync('bash', ['-e', '-c', run('Build the CLI')], { env: { PATH: process.env.PATH ?? '', FASTAPI_PLATFORM_REPO: '', RUNNER_TEMP: dir }, encoding: 'utf8' });
    assert.notEqual(unset.status, 0);
    assert.match(unset.stdout, /::error::set the repository variable FASTAPI_PLATFORM_REPO/);
    // What it builds is run as $FP_CLI: the repository's own bin (here this checkout's, built).
    assert.ok(existsSync(join(ROOT, 'scripts', 'transpile.mjs')));
    const validate = spawnSync('bash', ['-e', '-c', run('Validate')], { cwd: dir, env: { PATH: process.env.PATH ?? '', FP_CLI: join(ROOT, 'bin', 'fastapi-platform.js'), HOME: dir }, encoding: 'utf8' });
    assert.equal(validate.status, 0, validate.stdout + validate.stderr);
    assert.match(validate.stdout, /valid: ready to deploy/);
  });

  it('adds only the missing lines to an existing .gitignore', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, '.gitignore'), 'node_modules\n.env');
    const r = await runCli(['init', dir, '--name', 'x', '--json']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.equal(readFileSync(join(dir, '.gitignore'), 'utf8'), 'node_modules\n.env\n__pycache__/\n.pytest_cache/\n');
  });

  it('in a folder with an app of its own and no platform.yaml, writes only platform.yaml naming that app (apps round 11)', async (t) => {
    // `deploy` in a FastAPI project says "create one here with `init .`"; init refused (main.py
    // exists), or, with the app in a package, wrote a handler template beside it.
    const dir = tempDir(t);
    for (const [path, text] of Object.entries({
      'main.py': 'from fastapi import FastAPI\napp = FastAPI()\n@app.get("/")\ndef root():\n    return {"ok": 1}\n',
      'shop/__init__.py': '',
      'shop/api.py': 'import fastapi\napi: fastapi.FastAPI = fastapi.FastAPI(title="shop")\n',
      'tests/test_main.py': 'from fastapi import FastAPI\napp = FastAPI()\n',
      'requirements.txt': 'fastapi\n',
    })) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const r = await runCli(['init', dir, '--name', 'shop', '--json']);
    assert.equal(r.code, EXIT.OK, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { files: string[]; app: { file: string; entrypoint: string; framework: string } };
    assert.deepEqual(doc.app, { file: 'main.py', entrypoint: 'main:app', framework: 'FastAPI' });
    assert.deepEqual(doc.files, ['platform.yaml', '.gitignore']);
    assert.deepEqual(readdirSync(dir).sort(), ['.gitignore', 'main.py', 'platform.yaml', 'requirements.txt', 'shop', 'tests']);
    assert.match(readFileSync(join(dir, 'platform.yaml'), 'utf8'), /^entrypoint: main:app\b/m);
    const v = await runCli(['validate', '--json'], { cwd: dir });
    assert.equal(v.code, EXIT.OK, v.stdout + v.stderr);

    rmSync(join(dir, 'main.py'));
    rmSync(join(dir, 'platform.yaml'));
    const again = await runCli(['init', dir, '--name', 'shop', '--json']);
    assert.equal(again.code, EXIT.OK, again.stdout + again.stderr);
    assert.equal((JSON.parse(again.stdout) as { app: { entrypoint: string } }).app.entrypoint, 'shop.api:api');
    assert.equal((await runCli(['validate', '--json'], { cwd: dir })).code, EXIT.OK);

    // FastAPI CLI's own setting names it first.
    rmSync(join(dir, 'platform.yaml'));
    writeFileSync(join(dir, 'pyproject.toml'), '[project]\nname = "shop"\n\n[tool.fastapi]\nentrypoint = "shop.api:api"\n\n[tool.ruff]\nline-length = 100\n');
    writeFileSync(join(dir, 'main.py'), 'from fastapi import FastAPI\napp = FastAPI()\n');
    const third = await runCli(['init', dir, '--name', 'shop', '--json']);
    assert.equal(third.code, EXIT.OK, third.stdout + third.stderr);
    assert.deepEqual((JSON.parse(third.stdout) as { app: unknown }).app, { file: 'pyproject.toml', entrypoint: 'shop.api:api', framework: 'FastAPI' });
  });

  // FastAPI's full-stack template (apps round 22): `init .` at the repository's root found
  // backend/app/main.py and wrote `entrypoint: backend.app.main:app` there, which validate passed; the
  // deploy declared none of backend/requirements.txt and the app's `from app.api…` imports found nothing.
  it("at a repository's root whose app's project is a folder below (its requirements there), names `init <folder>` and writes nothing (apps round 22)", async (t) => {
    const repo = tempDir(t);
    for (const [path, text] of Object.entries({
      'backend/app/__init__.py': '', 'backend/app/api/__init__.py': '',
      'backend/app/api/main.py': 'from fastapi import APIRouter\napi_router = APIRouter()\n',
      'backend/app/main.py': 'from fastapi import FastAPI\nfrom app.api.main import api_router\napp = FastAPI()\napp.include_router(api_router)\n',
      'backend/pyproject.toml': '[project]\nname = "app"\ndependencies = ["fastapi"]\n',
      'frontend/package.json': '{}\n', '.env': 'SECRET_KEY=changethis\n',
    })) {
      mkdirSync(join(repo, path, '..'), { recursive: true });
      writeFileSync(join(repo, path), text);
    }
    const r = await runCli(['init', '.'], { cwd: repo });
    assert.equal(r.code, EXIT.USAGE, r.stdout + r.stderr);
    assert.match(r.stderr, /found the FastAPI app in backend\/app\/main\.py, whose project is backend\/ \(its pyproject\.toml is there, and its imports start there\).* Nothing was written; run `[^`]*fastapi-platform\S* init backend`, then validate and deploy from backend/, r.stderr);
    assert.equal(existsSync(join(repo, 'platform.yaml')), false);
    const there = await runCli(['init', 'backend', '--json'], { cwd: repo });
    assert.equal(there.code, EXIT.OK, there.stdout + there.stderr);
    assert.deepEqual((JSON.parse(there.stdout) as { app: unknown }).app, { file: 'app/main.py', entrypoint: 'app.main:app', framework: 'FastAPI' });
    // A root that is the project itself (its own requirements.txt) is init'd as before.
    writeFileSync(join(repo, 'requirements.txt'), 'fastapi\n');
    rmSync(join(repo, 'backend', 'platform.yaml'));
    const root = await runCli(['init', '.', '--name', 'mono', '--json'], { cwd: repo });
    assert.equal(root.code, EXIT.OK, root.stdout + root.stderr);
  });

  it('in a folder with a handler(event, context) of its own and no platform.yaml, writes only platform.yaml naming it (round 10)', async (t) => {
    // validate and deploy in such a folder said "create one here with `init .`", and init refused:
    // main.py exists (the folder of an init'd function whose platform.yaml was lost, Lambda code).
    const dir = tempDir(t);
    assert.equal((await runCli(['init', dir, '--name', 'kept'])).code, EXIT.OK);
    rmSync(join(dir, 'platform.yaml'));
    const said = await runCli(['validate'], { cwd: dir });
    assert.match(said.stderr, /init \./);
    const r = await runCli(['init', '.', '--json'], { cwd: dir });
    assert.equal(r.code, EXIT.OK, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { files: string[]; app: { file: string; entrypoint: string; framework: string } };
    assert.deepEqual(doc.app, { file: 'main.py', entrypoint: 'main:handler', framework: 'handler' });
    assert.deepEqual(doc.files, ['platform.yaml']);
    assert.doesNotMatch(readFileSync(join(dir, 'platform.yaml'), 'utf8'), /^event:/m);
    assert.equal((await runCli(['validate', '--json'], { cwd: dir })).code, EXIT.OK);

    // Lambda's own file and name.
    const lambda = tempDir(t);
    writeFileSync(join(lambda, 'lambda_function.py'), 'import json\n\ndef lambda_handler(event, context):\n    return {"statusCode": 200, "body": json.dumps({"ok": True})}\n');
    writeFileSync(join(lambda, 'util.py'), 'def helper(event, context):\n    return 1\n');
    const text = await runCli(['init', lambda, '--name', 'from-lambda']);
    assert.equal(text.code, EXIT.OK, text.stdout + text.stderr);
    assert.match(text.stdout, /Found the handler `lambda_handler\(event, context\)` in lambda_function\.py/);
    assert.match(readFileSync(join(lambda, 'platform.yaml'), 'utf8'), /^entrypoint: lambda_function:lambda_handler\b/m);
    // Lambda's handler gets Lambda's event (body a str), as validate's advice for the folder says (new-user round 12).
    assert.match(readFileSync(join(lambda, 'platform.yaml'), 'utf8'), /^event: lambda\b/m);
    assert.equal((await runCli(['validate', '--json'], { cwd: lambda })).code, EXIT.OK);
  });

  it("at the top of sam init's layout names the CodeUri folder to run it in, and writes nothing (new-user round 12)", async (t) => {
    // `init .` beside template.yaml wrote the http template's main.py and platform.yaml there, where no Lambda code runs.
    const dir = tempDir(t);
    writeFileSync(join(dir, 'template.yaml'), 'Transform: AWS::Serverless-2016-10-31\nResources:\n  HelloWorldFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: hello_world/\n      Handler: app.lambda_handler\n');
    mkdirSync(join(dir, 'hello_world'));
    writeFileSync(join(dir, 'hello_world', 'app.py'), 'import json\n\ndef lambda_handler(event, context):\n    return {"statusCode": 200, "body": json.dumps({"message": "hello world"})}\n');
    writeFileSync(join(dir, 'hello_world', 'requirements.txt'), '');
    const r = await runCli(['init', '.'], { cwd: dir });
    assert.equal(r.code, EXIT.USAGE, r.stdout + r.stderr);
    assert.match(r.stderr, /whose code is in hello_world\/ \(its CodeUri: .*Nothing was written; run `(?:node )?\S*fastapi-platform(\.js)? init hello_world`/);
    assert.deepEqual(readdirSync(dir).sort(), ['hello_world', 'template.yaml']);
    const there = await runCli(['init', 'hello_world', '--name', 'hello'], { cwd: dir });
    assert.equal(there.code, EXIT.OK, there.stdout + there.stderr);
    assert.match(readFileSync(join(dir, 'hello_world', 'platform.yaml'), 'utf8'), /^entrypoint: app:lambda_handler\b[^]*^event: lambda\b/m);
  });

  it('refuses to overwrite any file and writes nothing (exit 1)', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'platform.yaml'), 'mine\n');
    const r = await runCli(['init', dir, '--name', 'x', '--json']);
    assert.equal(r.code, EXIT.FAILURE);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'FILES_EXIST');
    assert.deepEqual(readdirSync(dir), ['platform.yaml']);
    assert.equal(readFileSync(join(dir, 'platform.yaml'), 'utf8'), 'mine\n');
  });

  it('refuses a name that is not a DNS label (exit 2)', async (t) => {
    const r = await runCli(['init', tempDir(t), '--name', 'Bad_Name']);
    assert.equal(r.code, EXIT.USAGE);
  });
});

describe('cli validate', () => {
  it('says what an app factory entrypoint is (module:factory())', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: fac\nentrypoint: app:create_app()\n');
    writeFileSync(join(dir, 'app.py'), 'def create_app():\n    from flask import Flask\n    return Flask(__name__)\n');
    const r = await runCli(['validate', dir]);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.match(r.stdout, /^ok  entrypoint app:create_app\(\): an app factory, called once at each instance's start at app\.py:1$/m);
  });

  it('lists every problem with file, line and key path, and exits 3', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: ok-name\nlimits:\n  timeout: 30\n  cpu: 1\n');
    writeFileSync(join(dir, 'main.py'), 'def handler(event):\n    return 1\n');
    writeFileSync(join(dir, 'util.py'), 'def f(:\n    pass\n');
    const r = await runCli(['validate', dir]);
    assert.equal(r.code, EXIT.INVALID);
    const lines = r.stderr.trim().split('\n');
    assert.deepEqual(lines.map((l) => l.split(': ').slice(0, 3).join(': ')), [
      'error: platform.yaml:4:3: limits.timeout',
      'error: platform.yaml:5:3: limits.cpu',
      'error: util.py:1:7: SyntaxError',
      'error: main.py:1: entrypoint main:handler',
    ]);
    const json = await runCli(['validate', dir, '--json']);
    assert.equal(json.code, EXIT.INVALID);
    const doc = JSON.parse(json.stdout) as { ok: boolean; problems: { kind: string }[] };
    assert.deepEqual([doc.ok, doc.problems.map((p) => p.kind)], [false, ['manifest', 'manifest', 'syntax', 'entrypoint']]);
  });

  it('refuses a cron schedule the platform would refuse at deploy, at its line (exit 3)', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: ticks\ntriggers:\n  - type: cron\n    schedule: "61 * * * *"\n');
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return 1\n');
    const r = await runCli(['validate', dir]);
    assert.equal(r.code, EXIT.INVALID, r.stdout + r.stderr);
    assert.match(r.stderr, /^error: platform\.yaml:5:5: triggers\.0\.schedule: bad cron expression "61 \* \* \* \*": .*out of range/m);
  });

  it("refuses limits past the platform's default ceilings (memory 64Gi, timeout 2h), at their lines, as deploy would (exit 3)", async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: big\nlimits:\n  memory: 64Gi\n  timeout: 2h\n  maxInstances: 51\n');
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return 1\n');
    const r = await runCli(['validate', dir]);
    assert.equal(r.code, EXIT.INVALID, r.stdout + r.stderr);
    assert.match(r.stderr, /^error: platform\.yaml:4:3: limits\.memory: this platform allows at most 4Gi of memory per function \(FP_MAX_FUNCTION_MEMORY_BYTES\)$/m);
    assert.match(r.stderr, /^error: platform\.yaml:5:3: limits\.timeout: this platform allows a timeout of at most 1h \(FP_MAX_FUNCTION_TIMEOUT_MS\)$/m);
    assert.match(r.stderr, /^error: platform\.yaml:6:3: limits\.maxInstances: this platform allows at most 50 instances per function \(FP_MAX_FUNCTION_INSTANCES\)$/m);
    // At the ceilings: valid.
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: big\nlimits:\n  memory: 4Gi\n  timeout: 1h\n  maxInstances: 50\n');
    assert.equal((await runCli(['validate', dir])).code, EXIT.OK);
    // With another problem in the file, the ceilings are reported too (they waited for the rest to be fixed).
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: big\nlimits:\n  memory: 100000Mi\n  concurrency: 0\n');
    const both = await runCli(['validate', dir]);
    assert.equal(both.code, EXIT.INVALID);
    assert.match(both.stderr, /^error: platform\.yaml:4:3: limits\.memory: this platform allows at most 4Gi of memory per function/m);
    assert.match(both.stderr, /^error: platform\.yaml:5:3: limits\.concurrency: must be at least 1, not 0$/m);
  });

  it('refuses a manifest larger than the upload takes (MANIFEST_TOO_LARGE at deploy), before anything is created', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'platform.yaml'), `kind: function\nname: big\ntriggers:\n  - type: cron\n    schedule: "0 0 * * *"\n    payload: "${'x'.repeat(70_000)}"\n`);
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return 1\n');
    const r = await runCli(['validate', dir]);
    assert.equal(r.code, EXIT.INVALID, r.stdout + r.stderr);
    assert.match(r.stderr, /the manifest is \d+ bytes as JSON; the limit is 65536/);
    const d = await runCli(['deploy', dir, '--url', 'http://127.0.0.1:9']);
    assert.equal(d.code, EXIT.INVALID, 'deploy stops at validate: nothing reaches a platform');
  });

  it('says where platform.yaml is missing', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return 1\n');
    const r = await runCli(['validate', dir, '--json']);
    assert.equal(r.code, EXIT.INVALID);
    assert.match(r.stdout, /platform\.yaml/);
  });

  it('starts validate.py before it loads the command, as one kept process (not for --help)', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: ok-name\nentrypoint: main:handler\n');
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return 1\n');
    // FP_PYTHON: a wrapper that records how it is started.
    const log = join(dir, '.python-calls');
    const wrapper = join(dir, '.python');
    writeFileSync(wrapper, `#!/bin/sh\necho "$@" >> '${log}'\nexec '${pythonPath(undefined)}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', FP_PYTHON: wrapper };
    assert.equal((await runCli(['validate', dir, '--help'], { env })).code, EXIT.OK);
    assert.equal(existsSync(log), false);
    const r = await runCli(['validate', dir, '--json'], { env });
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { ok: boolean }).ok, true);
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n').map((line) => line.split(' ').slice(-1)[0]), ['--serve']);
  });
});
