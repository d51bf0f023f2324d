/**
 * Which apps get the path without their mount point (runtime/fp_runtime/scope.py,
 * `routes_relative_path`; docs/adr/0079-falcon-path.md): decided from the app's classes' modules.
 * Falcon and Quart run for real in test/e2e/gateway-asgi-frameworks.test.ts; here the table itself,
 * with stand-in classes named as each framework's (Sanic, Responder, Emmett, Starlite and Datasette are not among the test packages).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoPath, repoRoot } from '../helpers/runtime-process.js';

describe('routes_relative_path', () => {
  it('is true for Falcon, Sanic, Responder, Emmett, Starlite 1 and Datasette apps (subclasses too) and a FastAPI app with its own root_path; false for the others', () => {
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(repoPath('runtime'))})`,
      'from fp_runtime.scope import routes_relative_path',
      'def made(module, name, **attrs):',
      '    return type(name, (), {"__module__": module, **attrs})',
      'Falcon = made("falcon.asgi.app", "App")',
      'Sanic = made("sanic.app", "Sanic")',
      'FastAPI = made("fastapi.applications", "FastAPI")',
      'Quart = made("quart.app", "Quart")',
      // Responder 9, Emmett 2 and Starlite 1 route on scope["path"] as it is: every route under /fn/<name>/ was 404 (apps round 18).
      'Responder = made("responder.api", "API")',
      'EmmettCore = made("emmett_core.app", "App")',
      'Emmett = type("App", (EmmettCore,), {"__module__": "emmett.app"})',
      'Mine = type("Mine", (Sanic,), {"__module__": "main"})',
      'cases = {',
      '    "falcon": Falcon(), "sanic": Sanic(), "sanic subclass": Mine(),',
      '    "fastapi": FastAPI(), "fastapi root_path": made("fastapi.applications", "FastAPI", root_path="/api")(),',
      '    "quart (root_path is its folder)": made("quart.app", "Quart", root_path="/srv/app")(),',
      '    "starlette": made("starlette.applications", "Starlette")(), "a function": lambda scope, receive, send: None,',
      '    "falconry lookalike": made("falconry.app", "App")(),',
      '    "responder": Responder(), "emmett": Emmett(), "emmett_core": EmmettCore(),',
      '    "responders lookalike": made("responders.api", "API")(),',
      '    "starlite": made("starlite.app", "Starlite")(), "litestar (strips root_path itself)": made("litestar.app", "Litestar")(),',
      // Datasette's ds.app() routes on raw_path minus its base_url setting (apps round 19).
      '    "datasette": made("datasette.utils.asgi", "AsgiRunOnFirstRequest")(), "datasette lookalike": made("datasettes.app", "App")(),',
      '}',
      'print(json.dumps({k: routes_relative_path(v) for k, v in cases.items()}))',
    ].join('\n');
    const out = execFileSync(join(repoRoot(), '.venv', 'bin', 'python'), ['-I', '-c', script], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), {
      falcon: true, sanic: true, 'sanic subclass': true, fastapi: false, 'fastapi root_path': true,
      'quart (root_path is its folder)': false, starlette: false, 'a function': false, 'falconry lookalike': false,
      responder: true, emmett: true, emmett_core: true, 'responders lookalike': false, starlite: true, 'litestar (strips root_path itself)': false,
      datasette: true, 'datasette lookalike': false,
    });
  });
});
