/**
 * `validate`/`deploy` of a folder that another platform deploys and that has no platform.yaml yet
 * (cli/other-platforms.ts; apps round 21): the problem names that platform and the platform.yaml
 * to add (the entrypoint read from its config), where it said to run `init .`, which writes a new
 * main.py and `entrypoint: main:handler` beside the code. Each section it names is docs/migrating.md's.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { otherPlatform } from '../../cli/other-platforms.js';
import { preflight } from '../../cli/preflight.js';
import type { PythonPreflight } from '../../cli/python.js';
import { repoPath } from '../helpers/runtime-process.js';

/** validate.py's side, not under test here: a report of a module that checks clean. */
const runPython: PythonPreflight = async () => ({
  python: '3.11.7', checked: 1, syntaxErrors: [], problems: [], warnings: [],
  entrypoint: { module: 'main', attr: 'handler', file: null, line: null, kind: null, async: null, arity: null },
});
const check = (dir: string) => preflight(dir, 'python3', {}, { runPython });

const scratch = mkdtempSync(join(tmpdir(), 'fp-other-platforms-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function folder(name: string, files: Record<string, string>): string {
  const dir = join(scratch, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

const CASES: [string, Record<string, string>, RegExp][] = [
  ['vercel', { 'vercel.json': '{}', 'api/index.py': 'from http.server import BaseHTTPRequestHandler\nclass handler(BaseHTTPRequestHandler):\n    pass\n' },
    /folder of Vercel \(vercel\.json\); add a platform\.yaml here with kind: function, name: <name>, entrypoint: api\.index:handler \(docs\/migrating\.md/],
  ['vercel-app', { 'vercel.json': '{}', 'api/index.py': 'from fastapi import FastAPI\napp = FastAPI()\n' }, /entrypoint: api\.index:app \(/],
  ['sam', { 'template.yaml': 'Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Properties:\n      Handler: src/app.lambda_handler\n', 'src/app.py': '' },
    /folder of AWS Lambda \(template\.yaml\); .*entrypoint: src\.app:lambda_handler and event: lambda/],
  // sam init's layout (new-user round 12): the code in CodeUri's folder, Globals' Timeout and MemorySize.
  ['sam-codeuri', { 'template.yaml': 'Transform: AWS::Serverless-2016-10-31\nGlobals:\n  Function:\n    Timeout: 15\n    MemorySize: 512\nResources:\n  HelloWorldFunction:\n    Properties:\n      CodeUri: hello_world/\n      Handler: app.lambda_handler\n', 'hello_world/app.py': '', 'hello_world/requirements.txt': '' },
    /folder of AWS Lambda \(template\.yaml\); add a platform\.yaml in hello_world\/ \(its CodeUri: .*\) with kind: function, name: <name>, entrypoint: app:lambda_handler and event: lambda, limits: \{timeout: 15s, memory: 512Mi\} \(its Timeout and MemorySize/],
  ['serverless', { 'serverless.yml': 'functions:\n  hello:\n    handler: handler.hello\n', 'handler.py': '' }, /AWS Lambda \(serverless\.yml\); .*entrypoint: handler:hello and event: lambda/],
  ['openfaas', { 'stack.yml': 'functions:\n  hello:\n    lang: python3-http\n    handler: ./hello\n', 'hello/handler.py': '' },
    /folder of OpenFaaS \(stack\.yml\); .*entrypoint: handler:handle, in the function's handler folder \(hello\)/],
  ['fission', { 'specs/fission-deployment-config.yaml': 'uid: x\n', 'hello.py': '' }, /folder of Fission \(specs\/\); .*entrypoint: app:app, with main\(\) served from a Flask app/],
  // Code alone, no config (new-user round 7): Lambda's console download, OpenFaaS's handler.py, a uvicorn app.
  ['lambda-console', { 'lambda_function.py': 'import json\n\ndef lambda_handler(event, context):\n    return {"statusCode": 200}\n' },
    /folder of AWS Lambda \(lambda_function\.py\); .*entrypoint: lambda_function:lambda_handler and event: lambda \(docs\/migrating\.md/],
  ['openfaas-classic', { 'handler.py': 'def handle(req):\n    return req\n', 'requirements.txt': '' },
    /folder of OpenFaaS \(handler\.py\); .*entrypoint: handler:handle, with handle\(req\) made handle\(event, context\) and event\.text\(\) as req/],
  ['openfaas-http', { 'handler.py': 'def handle(event, context):\n    return {"statusCode": 200}\n' }, /folder of OpenFaaS \(handler\.py\); .*entrypoint: handler:handle \(docs/],
  ['uvicorn', { 'main.py': 'from fastapi import FastAPI\n\napi: FastAPI = FastAPI(title="x")\n' }, /folder of a FastAPI app run by uvicorn \(main\.py\); .*entrypoint: main:api \(docs\/migrating\.md, section "uvicorn or gunicorn/],
  ['uvicorn-factory', { 'app.py': 'from fastapi import FastAPI\n\ndef create_app():\n    app = FastAPI()\n    return app\n' }, /a FastAPI app run by uvicorn \(app\.py\); .*entrypoint: app:create_app\(\) \(docs/],
  // A package folder, as FastAPI's "Bigger Applications" lays it out (new-user round 11: told `init .`).
  ['uvicorn-package', { 'app/__init__.py': '', 'app/main.py': 'from fastapi import FastAPI\nfrom .routers import items\n\napp = FastAPI()\n', 'app/routers/items.py': '', 'requirements.txt': 'fastapi\n' },
    /folder of a FastAPI app run by uvicorn \(app\/main\.py\); .*entrypoint: app\.main:app \(docs/],
  ['uvicorn-src', { 'src/shop/__init__.py': '', 'src/shop/api.py': 'import fastapi\n\napi = fastapi.FastAPI()\n' }, /FastAPI app run by uvicorn \(src\/shop\/api\.py\); .*entrypoint: shop\.api:api \(/],
  ['openwhisk', { 'manifest.yaml': 'packages:\n  demo:\n    actions:\n      hello:\n        function: hello.py\n', 'hello.py': '' }, /folder of Apache OpenWhisk \(manifest\.yaml\); .*main\(args\) made main\(event, context\)/],
];

describe('a folder of another platform without platform.yaml', () => {
  for (const [name, files, said] of CASES) {
    it(`${name}: the problem says which platform and the platform.yaml to add`, async () => {
      const found = await check(folder(name, files));
      assert.equal(found.problems.length, 1);
      assert.match(found.problems[0]!.message, said);
      assert.doesNotMatch(found.problems[0]!.message, /init \./);
    });
  }

  it('an unrelated folder (a template.yaml that is not SAM, a stack.yml with no lang) keeps the plain message', async () => {
    const found = await check(folder('plain', { 'template.yaml': 'a: 1\n', 'stack.yml': 'b: 2\n', 'x.py': '', 'main.py': 'def handler(event, context):\n    return {}\n', 'handler.py': 'def other():\n    pass\n' }));
    assert.match(found.problems[0]!.message, /this is not a function folder; cd into yours, or create one here with `fastapi-platform init \.`/);
  });

  it('a folder holding a function folder of a FastAPI app (init shop was run there) names that folder, not an app to add a platform.yaml for', async () => {
    const found = await check(folder('holder', { 'shop/platform.yaml': 'kind: function\nname: shop\nentrypoint: main:app\n', 'shop/main.py': 'from fastapi import FastAPI\napp = FastAPI()\n' }));
    assert.match(found.problems[0]!.message, /a folder in it is: shop; `cd shop`/);
  });

  // The folder may be a hostile clone's: its app/main.py a FIFO (the read hung), main.py a link to
  // /dev/zero (read without end) or to a file outside the folder (read and matched).
  it('reads no FIFO, device or file outside the folder for the app it looks for', { timeout: 10_000 }, async () => {
    const dir = folder('hostile', { 'requirements.txt': 'fastapi\n', 'web/x.txt': '' });
    execFileSync('mkfifo', [join(dir, 'web', 'main.py')]);
    symlinkSync('/dev/zero', join(dir, 'main.py'));
    const outside = folder('outside-app', { 'main.py': 'from fastapi import FastAPI\napp = FastAPI()\n' });
    mkdirSync(join(dir, 'api'));
    symlinkSync(join(outside, 'main.py'), join(dir, 'api', 'main.py'));
    const found = await check(dir);
    assert.match(found.problems[0]!.message, /this is not a function folder/);
  });

  it("names sections that are docs/migrating.md's headings", () => {
    const headings = readFileSync(repoPath('docs/migrating.md'), 'utf8').split('\n').filter((l) => l.startsWith('## ')).map((l) => l.slice(3));
    const sections = CASES.map(([name]) => otherPlatform(join(scratch, name))?.section);
    assert.deepEqual(sections.filter((s) => s === undefined || !headings.includes(s)), []);
  });
});
