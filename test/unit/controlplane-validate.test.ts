/** Pure parts of the control plane API: field paths, zod issues → codes, path parameters, merged limits, entrypoints. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFunctionBody, limitsSchema, mergedLimits, patchFunctionBody } from '../../controlplane/api/schemas.js';
import { fieldOf, nameParam, parseQuery, positiveIntParam, validate } from '../../controlplane/api/validate.js';
import { checkEntrypoint } from '../../controlplane/service/versions.js';

function codeAndField(fn: () => unknown): [string, string] {
  try {
    fn();
  } catch (err) {
    const e = err as { code: string; details: { field: string } };
    return [e.code, e.details.field];
  }
  throw new Error('did not throw');
}

describe('controlplane validation', () => {
  it('writes field paths the way clients write them', () => {
    assert.equal(fieldOf(['files', 3, 'path']), 'files[3].path');
    assert.equal(fieldOf(['limits', 'timeout']), 'limits.timeout');
    assert.equal(fieldOf([]), 'body');
    assert.equal(fieldOf(['since'], 'query'), 'query.since');
  });

  it('names an unknown field first, a bad name as INVALID_NAME, and lists every issue', () => {
    try {
      validate(createFunctionBody, { name: 'A/B', extra: 1, preset: 'x' });
      assert.fail('accepted');
    } catch (err) {
      const e = err as { code: string; details: { field: string; issues: { code: string; field: string }[] } };
      assert.deepEqual([e.code, e.details.field], ['UNKNOWN_FIELD', 'extra']);
      assert.deepEqual(e.details.issues.map((i) => `${i.code}:${i.field}`).sort(), ['INVALID_FIELD:preset', 'INVALID_NAME:name', 'UNKNOWN_FIELD:extra']);
    }
  });

  it('refuses env and secret names the platform reserves (FP_*), naming the key; a reserved secret may still be removed', () => {
    for (const body of [{ name: 'a', env: { FP_MONGO_URI: 'mongodb://elsewhere' } }, { name: 'a', secrets: { FP_MONGO_DATABASE: 'x' } }]) {
      try {
        validate(createFunctionBody, body);
        assert.fail('accepted');
      } catch (err) {
        const e = err as { code: string; message: string; details: { field: string } };
        const key = Object.keys(body.env ?? body.secrets ?? {})[0]!;
        assert.equal(e.code, 'INVALID_FIELD');
        assert.equal(e.details.field, `${'env' in body ? 'env' : 'secrets'}.${key}`);
        assert.match(e.message, /reserved for the platform/);
      }
    }
    assert.deepEqual(codeAndField(() => validate(patchFunctionBody, { env: { FP_X: '1' } })), ['INVALID_FIELD', 'env.FP_X']);
    assert.deepEqual(codeAndField(() => validate(patchFunctionBody, { secrets: { FP_X: 'v' } })), ['INVALID_FIELD', 'secrets.FP_X']);
    assert.deepEqual(validate(patchFunctionBody, { secrets: { FP_X: null } }).secrets, { FP_X: null });
    // Only the upper-case prefix is the platform's (env names are case-sensitive).
    assert.deepEqual(validate(createFunctionBody, { name: 'a', env: { fp_mine: '1', MY_FP_X: '2' } }).env, { fp_mine: '1', MY_FP_X: '2' });
  });

  it('checks path parameters', () => {
    assert.equal(nameParam('my-fn'), 'my-fn');
    for (const raw of ['a%2Fb', '..', '%2e%2e', 'A', '%', '']) assert.deepEqual(codeAndField(() => nameParam(raw)), ['INVALID_NAME', 'name'], raw);
    assert.equal(positiveIntParam('12', 'version'), 12);
    for (const raw of ['0', '01', '-1', '1.5', 'x', '9'.repeat(20)]) assert.deepEqual(codeAndField(() => positiveIntParam(raw, 'version')), ['INVALID_FIELD', 'version'], raw);
    assert.deepEqual(codeAndField(() => parseQuery('a=1&a=2')), ['INVALID_FIELD', 'query.a']);
  });

  it('merges a limits patch into the current limits and checks the result as a whole', () => {
    const current = { timeoutMs: 1500, memoryBytes: 100_000_000, concurrency: 2, maxInstances: 3, minWarm: 1, maxQueue: 5 };
    const merged = validate(limitsSchema, mergedLimits(current, { timeout: '10s' }), { prefix: 'limits' });
    assert.deepEqual(merged, { ...current, timeoutMs: 10_000 });
    assert.deepEqual(codeAndField(() => validate(limitsSchema, mergedLimits(current, { minWarm: 4 }), { prefix: 'limits' })), ['INVALID_FIELD', 'limits.minWarm']);
  });

  it('finds the entrypoint module among the files', () => {
    checkEntrypoint('main:handler', ['main.py']);
    checkEntrypoint('pkg.app:app', ['pkg/app/__init__.py']);
    checkEntrypoint('pkg.app:app', ['pkg/app.py']);
    checkEntrypoint('fast:handler', ['fast.cpython-311-x86_64-linux-gnu.so']);
    // A src layout's own name (uvicorn --app-dir src, an installed package; apps round 12).
    checkEntrypoint('shop.api:app', ['src/shop/__init__.py', 'src/shop/api.py']);
    checkEntrypoint('shop:app', ['src/shop/__init__.py']);
    for (const [ep, paths] of [['main:handler', ['mainx.py']], ['main:handler', ['lib/main.py']], ['main:handler', ['main.txt']],
      ['shop.api:app', ['src/__init__.py', 'src/shop/api.py']], ['shop.api:app', ['lib/shop/api.py']]] as const) {
      assert.deepEqual(codeAndField(() => checkEntrypoint(ep, paths)), ['ENTRYPOINT_NOT_FOUND', 'entrypoint'], `${ep} ${paths.join()}`);
    }
  });
});
