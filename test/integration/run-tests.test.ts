/**
 * scripts/test.sh's runner (scripts/run-tests.ts) on three small test files of its own: it starts
 * the files test/slowest-first.txt lists first (`node --test` sorts them by path), ends a file
 * whose test leaked a handle (--test-force-exit), passes the name pattern on, and exits 1 when a
 * test failed, with the spec reporter's counts last.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const RUNNER = join(process.cwd(), 'dist', 'scripts', 'run-tests.js');
const dir = mkdtempSync(join(tmpdir(), 'fp-run-tests-'));
after(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'test'));
mkdirSync(join(dir, 'x'));
writeFileSync(join(dir, 'test', 'slowest-first.txt'), '# slowest first\nx/zz-slow 100\n');
// CommonJS (no package.json here); the spec reporter prints each test as it ends, in the order they ran (one at a time).
const file = (name: string, body: string): string => {
  writeFileSync(join(dir, 'x', `${name}.test.js`), `const { it } = require('node:test');\nconst assert = require('node:assert');\n${body}\n`);
  return join('x', `${name}.test.js`);
};
const files = [
  file('aa-quick', "it('aa-quick runs', () => {});"),
  file('zz-slow', "it('zz-slow runs', () => { setInterval(() => {}, 1000); });"), // a leaked handle
  file('mm-fails', "it('mm-fails runs', () => assert.equal(1, 2));"),
];

function runner(...args: string[]): { status: number | null; out: string } {
  // Without NODE_TEST_CONTEXT (set in a test file's process): run() inside a test runs no file.
  const env = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  const r = spawnSync(process.execPath, [RUNNER, '--test-concurrency=1', ...args], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('scripts/run-tests.ts', () => {
  it('starts the listed file first, the others in path order, ends a file with a leaked handle, and exits 1 on a failure', () => {
    const { status, out } = runner(...files);
    // Each test as it ended (a failure is listed again at the end: the first mention counts).
    const order = [...new Set([...out.matchAll(/^[✔✖] (\S+) runs/gm)].map((m) => m[1]))];
    assert.deepEqual(order, ['zz-slow', 'aa-quick', 'mm-fails'], out);
    assert.equal(status, 1, out);
    assert.match(out, /^ℹ pass 2$/m);
    assert.match(out, /^ℹ fail 1$/m);
  });

  it('passes --test-name-pattern on to the files: what it leaves out is skipped, and the run passes', () => {
    const { status, out } = runner('--test-name-pattern=quick', ...files);
    assert.equal(status, 0, out);
    assert.match(out, /^ℹ pass 1$/m);
    assert.match(out, /^ℹ skipped 2$/m);
  });

  it('refuses an option it does not know', () => {
    const { status, out } = runner('--test-reporter=tap', ...files);
    assert.equal(status, 2, out);
  });
});
