/**
 * Upload robustness (issue 8) over real HTTP against a real platform with one bundle thread, the
 * setting under which one lost worker task used to wedge every later upload: deeply nested JSON
 * bodies on every route that reads one, invalid UTF-8, oversized and ill-typed manifests, and file
 * names that do not show what they are. Each refusal has its status, code and field, and a normal
 * upload still works right after it.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { b64, createFunction, deployed, errorOf, filesOf, fnName, upload, usePlatform, type Api, type ApiAnswer } from './platform-harness.js';

const h = usePlatform({ bundleThreads: 1 });

const MAIN = 'def handler(event, context):\n    return "ok"\n';
const MAIN_FILE = `{"path":"main.py","contentBase64":"${b64(MAIN)}"}`;
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

function assertError(res: ApiAnswer, status: number, code: string, field: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body).slice(0, 300));
  assert.deepEqual([errorOf(res).code, errorOf(res).field], [code, field]);
}

/** The version numbers of `name`, newest first. */
async function versions(api: Api, name: string): Promise<number[]> {
  return (await api.call('GET', `/functions/${name}/versions`)).body.items.map((v: { version: number }) => v.version);
}

/**
 * A normal upload right after a refused one: created, numbered next. A thread wedged by the
 * refused one would hold it until the check timeout and answer 503 BUNDLE_CHECK_TIMEOUT (or never),
 * so its success is the proof; how long it took is not measured (test/README.md).
 */
async function stillUploads(api: Api, name: string): Promise<void> {
  const before = await versions(api, name);
  const number = await upload(api, name, { 'main.py': `${MAIN}# ${before.length}\n` });
  assert.equal(number, (before[0] ?? 0) + 1);
}

describe('deeply nested JSON', () => {
  const name = fnName('deep');
  before(() => createFunction(h.api, name));

  for (const depth of [3000, 5000]) {
    it(`refuses a 10 KB upload whose manifest nests ${depth} deep: 400 JSON_TOO_DEEP (manifest); the next upload works`, async () => {
      const body = `{"files":[${MAIN_FILE}],"manifest":${nested(depth)}}`;
      assertError(await h.api.call('POST', `/functions/${name}/versions`, body), 400, 'JSON_TOO_DEEP', 'manifest');
      await stillUploads(h.api, name);
    });
  }

  it('refuses a deep value anywhere in the upload, naming its top-level field', async () => {
    const deepFile = `{"files":[${MAIN_FILE},{"path":"x.py","contentBase64":"","extra":${nested(200)}}]}`;
    assertError(await h.api.call('POST', `/functions/${name}/versions`, deepFile), 400, 'JSON_TOO_DEEP', 'files');
    assertError(await h.api.call('POST', `/functions/${name}/versions`, nested(129)), 400, 'JSON_TOO_DEEP', 'body');
    await stillUploads(h.api, name);
  });

  it('accepts nesting under the limit (a cron payload 100 levels deep)', async () => {
    let payload: unknown = 'leaf';
    for (let i = 0; i < 100; i++) payload = { next: payload };
    const manifest = { kind: 'function', name, triggers: [{ type: 'cron', schedule: '0 0 1 1 *', payload }] };
    const res = await h.api.call('POST', `/functions/${name}/versions`, { files: filesOf({ 'main.py': MAIN }), manifest });
    assert.equal(res.status, 201, JSON.stringify(res.body).slice(0, 300));
    const stored = await h.api.call('GET', `/functions/${name}/versions/${res.body.version.version}`);
    assert.deepEqual(stored.body.version.manifest, manifest);
  });

  it('refuses a deep body on every other route that reads one, before anything else', async () => {
    const other = fnName('deep-other');
    await deployed(h.api, other, { 'main.py': MAIN });
    const deep = nested(4000);
    const cases: [string, string, string, string][] = [
      ['POST', '/functions', `{"name":"${fnName('never')}","env":${deep}}`, 'env'],
      ['PATCH', `/functions/${other}`, `{"limits":${deep}}`, 'limits'],
      ['POST', '/blobs/missing', `{"sha256":${deep}}`, 'sha256'],
      ['POST', `/functions/${other}/deploy`, `{"note":${deep}}`, 'note'],
      ['POST', `/functions/${other}/rollback`, `{"note":${deep}}`, 'note'],
      ['POST', `/functions/${other}/pause`, `{"note":${deep}}`, 'note'],
      ['POST', `/functions/${other}/resume`, `{"note":${deep}}`, 'note'],
      ['POST', `/functions/${other}/invoke`, `{"method":"POST","body":${deep}}`, 'body'],
      ['POST', `/functions/${other}/triggers/hook/secret/rotate`, `{"grace":${deep}}`, 'grace'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await h.api.call(method, path, body);
      assert.equal(res.status, 400, `${method} ${path}: ${JSON.stringify(res.body)}`);
      assert.deepEqual([errorOf(res).code, errorOf(res).field], ['JSON_TOO_DEEP', field], `${method} ${path}`);
    }
    const invoked = await h.api.call('POST', `/functions/${other}/invoke`, { body: { fine: [[[1]]] } });
    assert.equal(invoked.status, 200);
    await stillUploads(h.api, other);
  });
});

describe('invalid UTF-8', () => {
  const name = fnName('utf');
  before(() => createFunction(h.api, name));
  const bytes = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

  it('refuses it in a create body instead of storing U+FFFD: 400 INVALID_JSON, nothing created', async () => {
    const fresh = fnName('utf-env');
    const res = await h.api.call('POST', '/functions', bytes(`{"name":"${fresh}","env":{"A":"`, [0xff, 0xfe, 0xc3], '"}}'));
    assertError(res, 400, 'INVALID_JSON', 'body');
    assert.equal((await h.api.call('GET', `/functions/${fresh}`)).status, 404);
  });

  it('refuses it in an upload body (and an encoded surrogate); the next upload works', async () => {
    const note = bytes(`{"files":[${MAIN_FILE}],"note":"`, [0xc3, 0x28], '"}');
    assertError(await h.api.call('POST', `/functions/${name}/versions`, note), 400, 'INVALID_JSON', 'body');
    const surrogate = bytes(`{"files":[${MAIN_FILE}],"note":"`, [0xed, 0xb2, 0x80], '"}');
    assertError(await h.api.call('POST', `/functions/${name}/versions`, surrogate), 400, 'INVALID_JSON', 'body');
    await stillUploads(h.api, name);
    const ok = await h.api.call('POST', `/functions/${name}/versions`, { files: filesOf({ 'main.py': MAIN }), note: 'naïve ☃ 😀' });
    assert.equal(ok.status, 201);
    assert.equal(ok.body.version.note, 'naïve ☃ 😀');
  });
});

describe('the manifest stored with a version', () => {
  const name = fnName('manifest');
  before(() => createFunction(h.api, name));
  const uploadWith = (manifest: unknown): Promise<ApiAnswer> => h.api.call('POST', `/functions/${name}/versions`, { files: filesOf({ 'main.py': MAIN }), manifest });

  it('refuses a 20 MiB manifest: 413 MANIFEST_TOO_LARGE; one of 60 KiB is fine', async () => {
    const huge = await uploadWith('x'.repeat(20 * 1024 * 1024));
    assertError(huge, 413, 'MANIFEST_TOO_LARGE', 'manifest');
    assert.deepEqual([errorOf(huge).limit, errorOf(huge).actual], [64 * 1024, 20 * 1024 * 1024 + 2]);
    const over = await uploadWith({ kind: 'function', name, triggers: [{ type: 'cron', schedule: '0 0 1 1 *', payload: 'p'.repeat(64 * 1024) }] });
    assertError(over, 413, 'MANIFEST_TOO_LARGE', 'manifest');
    const fits = await uploadWith({ kind: 'function', name, triggers: [{ type: 'cron', schedule: '0 0 1 1 *', payload: 'p'.repeat(60 * 1024) }] });
    assert.equal(fits.status, 201);
  });

  it('checks it with the schema `validate` uses, naming the field', async () => {
    const cases: [unknown, string, string][] = [
      [{ kind: 'function', name, limits: { timeout: 30 } }, 'INVALID_FIELD', 'manifest.limits.timeout'],
      [{ kind: 'function', name, limits: 'big' }, 'INVALID_FIELD', 'manifest.limits'],
      [{ kind: 'function', name, limits: { concurrency: '4' } }, 'INVALID_FIELD', 'manifest.limits.concurrency'],
      [{ kind: 'function', name, limits: { memory: 'lots' } }, 'INVALID_FIELD', 'manifest.limits.memory'],
      [{ kind: 'function', name, env: { PORT: 8080 } }, 'INVALID_FIELD', 'manifest.env.PORT'],
      [{ kind: 'function', name, cpu: 2 }, 'UNKNOWN_FIELD', 'manifest.cpu'],
      [{ kind: 'function', name: 'Not A Name' }, 'INVALID_NAME', 'manifest.name'],
      [{ name }, 'INVALID_FIELD', 'manifest.kind'],
      ['kind: function', 'INVALID_FIELD', 'manifest'],
    ];
    for (const [manifest, code, field] of cases) {
      const res = await uploadWith(manifest);
      assert.equal(res.status, 400, JSON.stringify(manifest));
      assert.deepEqual([errorOf(res).code, errorOf(res).field], [code, field], JSON.stringify(manifest));
    }
  });

  it('stores a valid manifest as sent (as the CLI sends platform.yaml: ${VAR} unresolved, no defaults filled)', async () => {
    const manifest = { kind: 'function', name, limits: { timeout: '10s' }, env: { DB: '${DB_URL:-sqlite://}' }, version: '1.2.0' };
    const before = await versions(h.api, name);
    const res = await uploadWith(manifest);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.version.version, (before[0] ?? 0) + 1, 'refused uploads used no number');
    assert.deepEqual(res.body.version.manifest, manifest);
    assert.equal((await uploadWith(null)).status, 201, 'null is no manifest');
  });
});

describe('file names', () => {
  const name = fnName('names');
  before(() => createFunction(h.api, name));

  // Raw JSON, so the escapes (a lone surrogate among them) reach the server as written.
  const names: [string, string][] = [
    ['a bidi override', 'x\\u202egnp.py'],
    ['a zero-width space', 'ma\\u200bin2.py'],
    ['a C1 control character', 'a\\u0085.py'],
    ['a lone surrogate', 'a\\udc80.py'],
    ['a ~user first folder', '~root/x.py'],
    ['a leading space', ' .py'],
    ['a trailing space in a folder', 'lib /x.py'],
  ];
  for (const [what, raw] of names) {
    it(`refuses ${what} (${raw}): 400 BUNDLE_PATH_INVALID (files[1].path); the next upload works`, async () => {
      const body = `{"files":[${MAIN_FILE},{"path":"${raw}","contentBase64":"eA=="}]}`;
      assertError(await h.api.call('POST', `/functions/${name}/versions`, body), 400, 'BUNDLE_PATH_INVALID', 'files[1].path');
      await stillUploads(h.api, name);
    });
  }

  it('keeps ordinary names valid (spaces inside, accents, emoji, ~ later on)', async () => {
    const files = { 'main.py': MAIN, 'data/naïve file (1).json': '{}', 'docs/😀.md': '#', 'lib/~backup/x.py': '', 'notes.txt~': '' };
    const res = await h.api.call('POST', `/functions/${name}/versions`, { files: filesOf(files) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.version.files.map((f: { path: string }) => f.path).sort(), Object.keys(files).sort());
  });
});
