import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODULES_FILE, modulesFile, normalizedName, readModules, withModules } from '../../controlplane/deps/site-modules.js';

const pins = [{ name: 'Markdown_It.py', version: '3.0.0' }, { name: 'kappa-dist', version: '1.0' }];

describe('deps site modules (what each package of a site ships)', () => {
  it('normalizes names as PEP 503 does', () => {
    assert.equal(normalizedName('Markdown_It.py'), 'markdown-it-py');
    assert.equal(normalizedName('a--b__c..d'), 'a-b-c-d');
  });

  it('attaches the modules the builder said to the packages of the lock, by normalized name, sorted and deduplicated', () => {
    const out = withModules(pins, { 'markdown-it-py': ['markdown_it', 'markdown_it'], 'kappa-dist': ['zeta', 'omicron_kit'] });
    assert.deepEqual(out.map((p) => p.modules), [['markdown_it'], ['omicron_kit', 'zeta']]);
    assert.deepEqual(out.map((p) => [p.name, p.version]), pins.map((p) => [p.name, p.version]));
  });

  it('keeps only identifiers, at most 64 a package, and nothing for packages the lock does not have (the builder is untrusted)', () => {
    const many = Array.from({ length: 100 }, (_, i) => `m${String(i).padStart(3, '0')}`);
    const out = withModules(pins, {
      'markdown-it-py': ['ok_1', '../etc', 'a b', '', 7, null, '<script>', 'x'.repeat(101), 'ü'],
      'kappa-dist': many,
      'not-in-lock': ['sneaky'],
    });
    assert.deepEqual(out[0]!.modules, ['ok_1']);
    assert.equal(out[1]!.modules!.length, 64);
    assert.equal(out.length, 2);
    assert.equal(JSON.stringify(out).includes('sneaky'), false);
  });

  it('leaves the packages as they were when nothing usable was said (an older builder, a torn file)', () => {
    for (const said of [null, undefined, 'text', 3, ['a'], { 'markdown-it-py': 'markdown_it' }]) {
      assert.deepEqual(withModules(pins, said), pins, JSON.stringify(said));
    }
    // A key inherited from Object.prototype is not a package's list.
    assert.deepEqual(withModules([{ name: 'constructor', version: '1' }], {}), [{ name: 'constructor', version: '1' }]);
  });

  it('modules.json round-trips through readModules; a site without one reads as null', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-site-modules-'));
    try {
      assert.equal(await readModules(dir), null);
      const withThem = withModules(pins, { 'kappa-dist': ['omicron_kit'] });
      writeFileSync(join(dir, MODULES_FILE), modulesFile(withThem));
      assert.deepEqual(await readModules(dir), { 'kappa-dist': ['omicron_kit'] });
      assert.deepEqual(withModules(pins, await readModules(dir)), withThem);
      writeFileSync(join(dir, MODULES_FILE), '{"torn');
      assert.equal(await readModules(dir), null);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
