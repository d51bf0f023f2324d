/** checkBundle without threads: shapes, limits, encodings, hashes. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { bundleLimits, checkBundle } from '../../controlplane/bundles/index.js';

const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');
const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function fails(input: unknown, code: string, extra: Record<string, unknown> = {}, limits = bundleLimits()): void {
  assert.throws(
    () => checkBundle(input, limits),
    (err: unknown) => {
      const e = err as Record<string, unknown>;
      assert.equal(e.code, code);
      for (const [key, value] of Object.entries(extra)) assert.deepEqual(e[key], value, key);
      return true;
    },
  );
}

describe('bundle check', () => {
  it('hashes each file of a list and sorts by path', () => {
    const bundle = checkBundle([
      { path: 'main.py', contentBase64: b64('print(1)\n') },
      { path: './lib/a.py', contentBase64: b64('') },
    ]);
    assert.deepEqual(bundle.files.map((x) => [x.path, x.sha256, x.size]), [
      ['lib/a.py', sha(''), 0],
      ['main.py', sha('print(1)\n'), 9],
    ]);
    assert.equal(Buffer.from(bundle.files[1]!.content!).toString(), 'print(1)\n');
  });

  it('accepts a map from path to base64 content, byte-exact for binary data', () => {
    const binary = Buffer.from([0, 255, 1, 254, 10, 13]);
    const bundle = checkBundle({ 'data.bin': b64(binary), 'main.py': b64('x') });
    assert.equal(Buffer.compare(Buffer.from(bundle.files[0]!.content!), binary), 0);
    assert.equal(bundle.files[0]!.sha256, sha(binary));
  });

  it('keeps a reference to already stored content without content', () => {
    const ref = sha('stored');
    const bundle = checkBundle([{ path: 'big.bin', sha256: ref }, { path: 'main.py', contentBase64: b64('x') }]);
    assert.deepEqual(bundle.files[0], { path: 'big.bin', sha256: ref, size: null, content: null });
  });

  it('refuses malformed shapes with the field', () => {
    fails('nope', 'BUNDLE_MALFORMED', { field: 'files' });
    fails([42], 'BUNDLE_MALFORMED', { field: 'files[0]' });
    fails([{ path: 'a.py' }], 'BUNDLE_MALFORMED', { path: 'a.py' });
    fails([{ path: 'a.py', sha256: 'ABC' }], 'BUNDLE_MALFORMED');
    fails({ 'a.py': 12 }, 'BUNDLE_MALFORMED');
    fails([], 'BUNDLE_EMPTY');
    fails({}, 'BUNDLE_EMPTY');
  });

  it('refuses a bad path with the path and its field', () => {
    fails([{ path: 'ok.py', contentBase64: '' }, { path: '../evil.py', contentBase64: '' }], 'BUNDLE_PATH_INVALID', { path: '../evil.py', field: 'files[1].path' });
    fails({ '/abs.py': '' }, 'BUNDLE_PATH_INVALID', { path: '/abs.py' });
    fails([{ path: 'a.py', contentBase64: '' }, { path: './a.py', contentBase64: '' }], 'BUNDLE_PATH_DUPLICATE', { path: './a.py' });
  });

  it('refuses invalid base64 naming the file', () => {
    fails({ 'a.py': 'not base64!' }, 'BUNDLE_ENCODING_INVALID', { path: 'a.py' });
    fails({ 'a.py': 'abc' }, 'BUNDLE_ENCODING_INVALID', { path: 'a.py' });
  });

  it('enforces the file count, per-file and total size limits before decoding', () => {
    const limits = bundleLimits({ maxFiles: 3, maxFileBytes: 10, maxTotalBytes: 25 });
    fails({ a: '', b: '', c: '', d: '' }, 'BUNDLE_TOO_MANY_FILES', { limit: 3, actual: 4 }, limits);
    fails({ 'big.txt': b64('x'.repeat(11)) }, 'BUNDLE_FILE_TOO_LARGE', { path: 'big.txt', limit: 10, actual: 11 }, limits);
    fails({ a: b64('x'.repeat(10)), b: b64('y'.repeat(10)), c: b64('z'.repeat(6)) }, 'BUNDLE_TOO_LARGE', { limit: 25, actual: 26 }, limits);
    const fits = checkBundle({ a: b64('x'.repeat(10)), b: b64('y'.repeat(10)), c: b64('z'.repeat(5)) }, limits);
    assert.equal(fits.files.reduce((sum, f) => sum + (f.content?.byteLength ?? 0), 0), 25);
  });

  it('has the documented defaults', () => {
    assert.deepEqual(bundleLimits(), { maxFiles: 1000, maxTotalBytes: 50 * 1024 * 1024, maxFileBytes: 10 * 1024 * 1024 });
  });
});
