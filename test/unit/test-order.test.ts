/**
 * The order scripts/test.sh starts its files in (scripts/test-order.ts): the slowest first, as
 * test/slowest-first.txt lists them, the rest in path order; and that list names only test files
 * that exist (a renamed file would silently go back to its place in path order).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { orderTestFiles, slowestFirst } from '../../scripts/test-order.js';

const LIST = join(process.cwd(), 'test', 'slowest-first.txt');

describe('the order of the test files', () => {
  it('starts the listed files first, in the list\'s order, then the others in path order', () => {
    const files = ['dist/test/e2e/a.test.js', 'dist/test/e2e/cli.test.js', 'dist/test/unit/b.test.js', 'dist/test/e2e/console-edges.test.js', 'dist/test/integration/zygotes.test.js'];
    const list = slowestFirst('# comment\n\ne2e/console-edges   133\ne2e/cli 121\nintegration/zygotes 42\ne2e/not-in-this-tier 40\n');
    assert.deepEqual(list, ['e2e/console-edges', 'e2e/cli', 'integration/zygotes', 'e2e/not-in-this-tier']);
    assert.deepEqual(orderTestFiles(files, list), [
      'dist/test/e2e/console-edges.test.js', 'dist/test/e2e/cli.test.js', 'dist/test/integration/zygotes.test.js',
      'dist/test/e2e/a.test.js', 'dist/test/unit/b.test.js',
    ]);
  });

  it('keeps every file once, and the path order when nothing is listed', () => {
    const files = ['dist/test/unit/z.test.js', 'dist/test/e2e/a.test.js', 'dist/test/e2e/a.test.js.map'];
    assert.deepEqual(orderTestFiles(files, []), ['dist/test/e2e/a.test.js', 'dist/test/e2e/a.test.js.map', 'dist/test/unit/z.test.js']);
    assert.deepEqual(orderTestFiles(files, ['e2e/a']), ['dist/test/e2e/a.test.js', 'dist/test/e2e/a.test.js.map', 'dist/test/unit/z.test.js']);
  });

  it('test/slowest-first.txt names test files that exist, each once', () => {
    const names = slowestFirst(readFileSync(LIST, 'utf8'));
    assert.ok(names.length >= 10, `${names.length} files listed`);
    assert.equal(new Set(names).size, names.length, 'a file listed twice');
    for (const name of names) assert.ok(existsSync(join(process.cwd(), 'test', `${name}.test.ts`)), `test/slowest-first.txt: test/${name}.test.ts does not exist`);
  });
});
