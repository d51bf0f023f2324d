/** Bundle path rules: what is refused (with the code and the offending path) and what is normalised. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPathSet, normalizeBundlePath } from '../../controlplane/bundles/index.js';

function refused(raw: unknown, code = 'BUNDLE_PATH_INVALID'): void {
  assert.throws(
    () => normalizeBundlePath(raw, 'files[0].path'),
    (err: unknown) => {
      const e = err as { code?: unknown; path?: unknown; field?: unknown };
      assert.equal(e.code, code, `code for ${JSON.stringify(raw)}`);
      assert.equal(e.path, typeof raw === 'string' ? raw : null);
      assert.equal(e.field, 'files[0].path');
      return true;
    },
  );
}

describe('bundle paths', () => {
  it('refuses absolute paths', () => {
    for (const p of ['/etc/passwd', '/main.py', '//server/share/x', 'C:/Windows/x.py', 'c:x.py']) refused(p);
  });

  it('refuses .. segments anywhere, even when they would stay inside', () => {
    for (const p of ['..', '../x.py', 'a/../../x.py', 'a/..', 'a/../b.py', './../x']) refused(p);
  });

  it('refuses backslashes, NUL and control characters', () => {
    for (const p of ['a\\b.py', '..\\x.py', 'a\0b.py', 'main.py\0.txt', 'a\nb.py', 'tab\there.py', 'del\x7f.py']) refused(p);
  });

  it('refuses names that do not show what they are (issue 8)', () => {
    const invisible = ['x\u202egnp.py', 'a/\u2066b.py', 'zero\u200bwidth.py', '\ufeffmain.py', 'soft\u00adhyphen.py', 'line\u2028sep.py'];
    const controls = ['c1\u0085.py', 'csi\u009b31m.py', 'esc\u001b[31m.py'];
    const surrogates = ['a\udc80.py', 'lib/\ud83d.py', 'x\udc00\ud800.py'];
    const spaces = [' .py', 'main.py ', 'lib /x.py', 'lib/ x.py', './ a.py', '\u00a0main.py', 'main.py\u3000'];
    const home = ['~root/x.py', '~/x.py', '~', './~user/.bashrc'];
    for (const p of [...invisible, ...controls, ...surrogates, ...spaces, ...home]) refused(p);
  });

  it('keeps valid the names around those rules', () => {
    for (const p of ['a/~b.py', 'backup.py~', 'x~y/z.py', 'data/two  spaces.txt', 'emoji/😀.py', 'docs/日本語.md', 'naïve café.txt', 'Ω/ß.py']) {
      assert.equal(normalizeBundlePath(p), p);
    }
  });

  it('refuses empty, folder-like, non-string and overlong paths', () => {
    for (const p of ['', '.', './', 'a/', 'a/b/', `${'x'.repeat(256)}.py`, `${'d/'.repeat(600)}x.py`]) refused(p);
    for (const p of [null, 42, undefined, ['a']]) refused(p);
  });

  it('accepts ordinary paths and normalises them', () => {
    assert.equal(normalizeBundlePath('main.py'), 'main.py');
    assert.equal(normalizeBundlePath('./main.py'), 'main.py');
    assert.equal(normalizeBundlePath('pkg//sub/./mod.py'), 'pkg/sub/mod.py');
    assert.equal(normalizeBundlePath('.env'), '.env');
    assert.equal(normalizeBundlePath('a..b/c...py'), 'a..b/c...py');
    assert.equal(normalizeBundlePath('data/naïve file (1).json'), 'data/naïve file (1).json');
  });

  it('refuses two entries naming the same file after normalisation', () => {
    assert.throws(
      () => checkPathSet([
        { path: 'a/b.py', raw: 'a/b.py', field: 'files[0]' },
        { path: 'a/b.py', raw: './a//b.py', field: 'files[1]' },
      ]),
      (err: unknown) => (err as { code: string; path: string }).code === 'BUNDLE_PATH_DUPLICATE' && (err as { path: string }).path === './a//b.py',
    );
  });

  it('refuses a file that is also a folder of another file', () => {
    assert.throws(
      () => checkPathSet([
        { path: 'lib/x/y.py', raw: 'lib/x/y.py', field: 'files[0]' },
        { path: 'lib', raw: 'lib', field: 'files[1]' },
      ]),
      (err: unknown) => (err as { code: string }).code === 'BUNDLE_PATH_CONFLICT' && (err as { path: string }).path === 'lib/x/y.py',
    );
    checkPathSet([
      { path: 'lib/a.py', raw: 'lib/a.py', field: 'files[0]' },
      { path: 'lib/b/c.py', raw: 'lib/b/c.py', field: 'files[1]' },
      { path: 'libx', raw: 'libx', field: 'files[2]' },
    ]);
  });
});
