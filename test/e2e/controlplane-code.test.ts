/**
 * Code over the API: blobs, versions (content-addressed, immutable, numbered, with history) and
 * every way an upload is refused — path traversal, duplicates, limits, encoding, missing blobs,
 * unknown fields — each with its code and field, and none leaving a version behind. Small limits
 * (1 MiB a bundle, 512 KiB a file, 10 files) keep the oversized cases cheap.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { b64, createFunction, errorOf, filesOf, fnName, randomText, sha256, upload, usePlatform } from './platform-harness.js';

const KIB = 1024;
const h = usePlatform({ maxBundleBytes: 1024 * KIB, maxFileBytes: 512 * KIB, maxBundleFiles: 10 });

const MAIN = 'def handler(event, context):\n    return "v1"\n';

describe('blobs', () => {
  it('says which contents are missing, stores one on PUT (201, then 200), and verifies the hash', async () => {
    const content = `blob ${randomText(16)}`;
    const hash = sha256(content);
    const other = sha256('never uploaded');
    const before = await h.api.call('POST', '/blobs/missing', { sha256: [hash, other, hash] });
    assert.deepEqual(before.body, { missing: [hash, other] });

    const put = await h.api.call('PUT', `/blobs/${hash}`, Buffer.from(content), { 'content-type': 'application/octet-stream' });
    assert.equal(put.status, 201);
    assert.deepEqual(put.body, { sha256: hash, size: Buffer.byteLength(content), created: true });
    assert.equal((await h.api.call('PUT', `/blobs/${hash}`, Buffer.from(content))).status, 200);

    const after = await h.api.call('POST', '/blobs/missing', { sha256: [hash, other] });
    assert.deepEqual(after.body, { missing: [other] });

    const wrong = await h.api.call('PUT', `/blobs/${other}`, Buffer.from(content));
    assert.equal(wrong.status, 400);
    assert.deepEqual([errorOf(wrong).code, errorOf(wrong).field], ['BLOB_HASH_MISMATCH', 'sha256']);
  });

  it('refuses bad hashes, unknown fields and blobs over the per-file limit', async () => {
    const badParam = await h.api.call('PUT', '/blobs/ABC', Buffer.from('x'));
    assert.deepEqual([badParam.status, errorOf(badParam).code, errorOf(badParam).field], [400, 'INVALID_FIELD', 'sha256']);
    const badList = await h.api.call('POST', '/blobs/missing', { sha256: [sha256('a'), 'nope'] });
    assert.deepEqual([badList.status, errorOf(badList).code, errorOf(badList).field], [400, 'INVALID_FIELD', 'sha256[1]']);
    const unknown = await h.api.call('POST', '/blobs/missing', { sha256: [], hashes: [] });
    assert.deepEqual([unknown.status, errorOf(unknown).code, errorOf(unknown).field], [400, 'UNKNOWN_FIELD', 'hashes']);
    const big = Buffer.alloc(512 * KIB + 1, 7);
    const tooBig = await h.api.call('PUT', `/blobs/${sha256(big)}`, big);
    assert.deepEqual([tooBig.status, errorOf(tooBig).code], [413, 'PAYLOAD_TOO_LARGE']);
  });
});

describe('versions', () => {
  const name = fnName('code');
  const lib = `def helper():\n    return ${JSON.stringify(randomText(12))}\n`;
  before(() => createFunction(h.api, name));

  it('uploads version 1 with its files; the answer lists files and changes', async () => {
    const res = await h.api.call('POST', `/functions/${name}/versions`, {
      files: filesOf({ 'main.py': MAIN, 'lib/util.py': lib, 'data/readme.txt': 'hello' }),
      note: 'first',
      manifest: { kind: 'function', name },
    });
    assert.equal(res.status, 201);
    const v = res.body.version;
    assert.equal(v.version, 1);
    assert.equal(v.entrypoint, 'main:handler');
    assert.equal(v.createdBy, 'admin');
    assert.equal(v.note, 'first');
    assert.equal(v.fileCount, 3);
    assert.deepEqual(v.changes, { added: ['data/readme.txt', 'lib/util.py', 'main.py'], modified: [], removed: [] });
    assert.deepEqual(v.files.find((f: { path: string }) => f.path === 'lib/util.py'), { path: 'lib/util.py', sha256: sha256(lib), size: Buffer.byteLength(lib) });
    assert.deepEqual(v.manifest, { kind: 'function', name });
  });

  it('uploads version 2 naming unchanged files by hash; identical content is stored once', async () => {
    const blobsBefore = countBlobs(h.stateDir);
    const res = await h.api.call('POST', `/functions/${name}/versions`, {
      files: [
        { path: 'main.py', contentBase64: b64(MAIN.replace('v1', 'v2')) },
        { path: 'lib/util.py', sha256: sha256(lib), size: Buffer.byteLength(lib) },
        // The same content as lib/util.py under another name: no new blob.
        { path: 'lib/copy.py', contentBase64: b64(lib) },
      ],
      note: 'second',
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.version.version, 2);
    assert.deepEqual(res.body.version.changes, { added: ['lib/copy.py'], modified: ['main.py'], removed: ['data/readme.txt'] });
    assert.equal(countBlobs(h.stateDir), blobsBefore + 1, 'only the changed main.py is a new blob');
  });

  it('lists the history newest first with who, when, note, changes and file count', async () => {
    const res = await h.api.call('GET', `/functions/${name}/versions`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.items.map((v: { version: number }) => v.version), [2, 1]);
    const [v2] = res.body.items;
    assert.deepEqual([v2.createdBy, v2.note, v2.fileCount, v2.files], ['admin', 'second', 3, undefined]);
    assert.ok(Math.abs(Date.now() - v2.createdAt) < 60_000);
    const paged = await h.api.call('GET', `/functions/${name}/versions?limit=1&before=2`);
    assert.deepEqual(paged.body.items.map((v: { version: number }) => v.version), [1]);
  });

  it('gets one version with its files; 404 VERSION_NOT_FOUND for a missing one', async () => {
    const one = await h.api.call('GET', `/functions/${name}/versions/1`);
    assert.equal(one.status, 200);
    assert.equal(one.body.version.files.length, 3);
    const missing = await h.api.call('GET', `/functions/${name}/versions/99`);
    assert.deepEqual([missing.status, errorOf(missing).code, errorOf(missing).field], [404, 'VERSION_NOT_FOUND', 'version']);
  });

  it('refuses an upload to a function that does not exist', async () => {
    const res = await h.api.call('POST', `/functions/${fnName('ghost')}/versions`, { files: filesOf({ 'main.py': MAIN }) });
    assert.deepEqual([res.status, errorOf(res).code], [404, 'FUNCTION_NOT_FOUND']);
  });
});

/** [description, body, status, code, field] */
function badUploads(): [string, unknown, number, string, string][] {
  const main = { path: 'main.py', contentBase64: b64(MAIN) };
  const blob = (bytes: number) => b64(Buffer.alloc(bytes, 1));
  return [
    ['a path escaping the root (../x.py)', { files: [main, { path: '../x.py', contentBase64: b64('x') }] }, 400, 'BUNDLE_PATH_INVALID', 'files[1].path'],
    ['an absolute path (/etc/passwd)', { files: [main, { path: '/etc/passwd', contentBase64: b64('x') }] }, 400, 'BUNDLE_PATH_INVALID', 'files[1].path'],
    ['a path climbing out midway (a/../../b)', { files: [main, { path: 'a/../../b', contentBase64: b64('x') }] }, 400, 'BUNDLE_PATH_INVALID', 'files[1].path'],
    ['a backslash path', { files: [main, { path: 'a\\..\\b.py', contentBase64: b64('x') }] }, 400, 'BUNDLE_PATH_INVALID', 'files[1].path'],
    ['a NUL in a path', { files: [main, { path: 'a\u0000.py', contentBase64: b64('x') }] }, 400, 'BUNDLE_PATH_INVALID', 'files[1].path'],
    ['a duplicate path', { files: [main, { path: './main.py', contentBase64: b64('x') }] }, 400, 'BUNDLE_PATH_DUPLICATE', 'files[1]'],
    ['a file used as a folder', { files: [main, { path: 'main.py/x.py', contentBase64: b64('x') }] }, 400, 'BUNDLE_PATH_CONFLICT', 'files[1]'],
    ['too many files', { files: Array.from({ length: 11 }, (_, i) => ({ path: `f${i}.py`, contentBase64: b64('x') })) }, 413, 'BUNDLE_TOO_MANY_FILES', 'files'],
    ['an oversized bundle', { files: [main, ...[1, 2, 3].map((i) => ({ path: `big${i}.bin`, contentBase64: blob(400 * KIB) }))] }, 413, 'BUNDLE_TOO_LARGE', 'files'],
    ['an oversized file', { files: [main, { path: 'big.bin', contentBase64: blob(512 * KIB + 1) }] }, 413, 'BUNDLE_FILE_TOO_LARGE', 'files[1]'],
    ['content that is not base64', { files: [main, { path: 'x.py', contentBase64: 'not base64!' }] }, 400, 'BUNDLE_ENCODING_INVALID', 'files[1].contentBase64'],
    ['a reference to content never uploaded', { files: [main, { path: 'x.py', sha256: sha256(`never ${randomText(8)}`) }] }, 400, 'BUNDLE_BLOB_MISSING', 'files'],
    ['no files', { files: [] }, 400, 'BUNDLE_EMPTY', 'files'],
    ['no files field', { entrypoint: 'main:handler' }, 400, 'BUNDLE_MALFORMED', 'files'],
    ['an unknown field in a file', { files: [{ ...main, mode: 0o755 }] }, 400, 'UNKNOWN_FIELD', 'files[0].mode'],
    ['an unknown top-level field', { files: [main], tag: 'v1' }, 400, 'UNKNOWN_FIELD', 'tag'],
    ['a wrong type', { files: [main], note: 5 }, 400, 'INVALID_FIELD', 'note'],
    ['a sha256 that does not match the content', { files: [{ ...main, sha256: sha256('other') }] }, 400, 'BLOB_HASH_MISMATCH', 'files[0].sha256'],
    ['a size that does not match the content', { files: [{ ...main, size: 3 }] }, 400, 'INVALID_FIELD', 'files[0].size'],
    ['an entrypoint whose module is missing', { files: [main], entrypoint: 'app:app' }, 400, 'ENTRYPOINT_NOT_FOUND', 'entrypoint'],
    ['a malformed entrypoint', { files: [main], entrypoint: 'main.handler' }, 400, 'INVALID_FIELD', 'entrypoint'],
    ['a body that is an array', [main], 400, 'INVALID_FIELD', 'body'],
  ];
}

describe('refused uploads', () => {
  const name = fnName('refuse');
  before(async () => {
    await createFunction(h.api, name);
    await upload(h.api, name, { 'main.py': MAIN });
  });

  for (const [what, body, status, code, field] of badUploads()) {
    it(`refuses ${what}: ${status} ${code} (${field}), and creates no version`, async () => {
      const res = await h.api.call('POST', `/functions/${name}/versions`, body);
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.deepEqual([errorOf(res).code, errorOf(res).field], [code, field]);
      const versions = await h.api.call('GET', `/functions/${name}/versions`);
      assert.deepEqual(versions.body.items.map((v: { version: number }) => v.version), [1]);
    });
  }

  it('refuses a body that is not JSON: 400 INVALID_JSON', async () => {
    const res = await h.api.call('POST', `/functions/${name}/versions`, '{"files": [');
    assert.deepEqual([res.status, errorOf(res).code, errorOf(res).field], [400, 'INVALID_JSON', 'body']);
  });

  it('refuses a body larger than the upload limit: 413 PAYLOAD_TOO_LARGE', async () => {
    const huge = JSON.stringify({ files: [{ path: 'a.bin', contentBase64: 'A'.repeat(3 * 1024 * KIB) }] });
    const res = await h.api.call('POST', `/functions/${name}/versions`, huge);
    assert.deepEqual([res.status, errorOf(res).code], [413, 'PAYLOAD_TOO_LARGE']);
  });

  it('numbers the next accepted upload 2: refused ones used no number', async () => {
    assert.equal(await upload(h.api, name, { 'main.py': MAIN.replace('v1', 'v2') }), 2);
  });
});

function countBlobs(stateDir: string): number {
  const root = join(stateDir, 'blobs');
  return readdirSync(root)
    .filter((d) => /^[0-9a-f]{2}$/.test(d))
    .reduce((sum, d) => sum + readdirSync(join(root, d)).length, 0);
}
