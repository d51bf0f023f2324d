// npm test's second reporter (test/helpers/late-errors-reporter.ts): an error thrown after its test
// ended, which Node lists in the summary only as its file's 'test failed', is repeated there.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { repoRoot } from '../helpers/runtime-process.js';

const dir = mkdtempSync(join(tmpdir(), 'fp-late-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Node's test runner as scripts/test.sh starts it, on `files`: its stdout and exit code. */
function runner(files: string[]): Promise<{ out: string; code: number | null }> {
  const helpers = join(repoRoot(), 'dist', 'test', 'helpers');
  const env = { ...process.env };
  delete env['NODE_TEST_CONTEXT']; // a runner of its own, not this file's child
  const child = spawn(process.execPath, ['--import', join(helpers, 'blocking-stdout.js'), '--test', '--test-force-exit',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${join(helpers, 'late-errors-reporter.js')}`, '--test-reporter-destination=stdout', ...files], { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ out, code })));
}

describe('the test summary', () => {
  it('repeats an error thrown after its test had ended after the list of failing tests', async () => {
    const file = join(dir, 'late.test.mjs');
    writeFileSync(file, [
      "import { describe, it } from 'node:test';",
      "describe('a suite', () => {",
      "  it('ends, then its timer throws', () => { setTimeout(() => { throw new Error('write after end, late'); }, 20); });",
      "  it('waits', () => new Promise((resolve) => setTimeout(resolve, 300)));",
      '});',
    ].join('\n'));
    const { out, code } = await runner([file]);
    assert.equal(code, 1, out);
    const summary = out.slice(out.indexOf('✖ failing tests:'));
    assert.match(summary, /'test failed'/, out);
    assert.match(summary, /errors after their test had ended.*: 1\n {2}Error: Test "ends, then its timer throws" .*"Error: write after end, late"/, out);
  });

  it('adds nothing when no error came late', async () => {
    const file = join(dir, 'fine.test.mjs');
    writeFileSync(file, "import { it } from 'node:test';\nit('fails in time', () => { throw new Error('in time'); });\n");
    const { out, code } = await runner([file]);
    assert.equal(code, 1, out);
    assert.match(out, /✖ failing tests:/);
    assert.doesNotMatch(out, /after their test had ended/);
  });
});
