/**
 * The modules `validate` counts as the runtime's (runtime/fp_deps/runtime-modules.txt, checked in):
 * what runtime/requirements.txt and runtime/requirements-presets.txt give with their dependencies,
 * computed again from the installed distributions' metadata. Not the venv's whole content: on a
 * setup.sh install it also holds the tests' packages, which other installs lack (apps round 4, F4).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoPath, repoRoot } from '../helpers/runtime-process.js';

function python(code: string): unknown {
  const script = `import json, sys; sys.path.insert(0, sys.argv[1]); ${code}`;
  return JSON.parse(execFileSync(join(repoRoot(), '.venv', 'bin', 'python'), ['-I', '-c', script, repoPath('runtime')], { encoding: 'utf8' }));
}

describe("the runtime's provided modules", () => {
  it('the checked-in list is what the declared files give (after changing them: .venv/bin/python -I runtime/fp_deps/provided.py)', () => {
    const [computed, listed] = python('from fp_deps import provided; print(json.dumps([sorted(provided.compute()), sorted(provided.listed())]))') as [string[], string[]];
    assert.deepEqual(listed, computed);
    // The runtime's own pins, the presets' FastAPI and what they bring, and its own packages.
    for (const module of ['msgpack', 'uvloop', 'pymongo', 'bson', 'dns', 'fastapi', 'starlette', 'pydantic', 'anyio', 'fp_runtime']) assert.ok(listed.includes(module), module);
  });

  it('leaves out the tests\' and benchmarks\' packages (runtime/requirements-dev.txt), installed here or not', () => {
    const listed = python('from fp_deps import provided; print(json.dumps(sorted(provided.listed())))') as string[];
    for (const module of ['flask', 'quart', 'falcon', 'uvicorn', 'pytest', 'schemathesis', 'httpx2', 'requests', 'yaml', 'jinja2', 'itsdangerous', 'click', 'hypothesis']) {
      assert.ok(!listed.includes(module), module);
    }
  });
});
