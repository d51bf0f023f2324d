/**
 * scripts/test.sh's test runner: node:test's `run()` over the test files in the order of
 * test-order.ts (the slowest first). `node --test FILE…` sorts its files by path before it starts
 * them (Node 20), whatever order they are given in, so it cannot start the slowest first. The rest
 * is what `node --test` does: each file in a process of its own (with this process's `--import`, so
 * test/helpers/blocking-stdout.ts too), `--test-force-exit`, Node's spec reporter on stdout with the
 * pass/fail counts last, exit 1 when a test or a file failed.
 *
 *   node [--import …] dist/scripts/run-tests.js [--test-concurrency=N] [--test-name-pattern=RE]… [--test-only] FILE…
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { orderTestFiles, slowestFirst } from './test-order.js';

const files: string[] = [];
const patterns: string[] = [];
let concurrency = 2;
let only = false;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i]!;
  const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
  const value = (): string => inline ?? args[++i] ?? '';
  if (flag === '--test-concurrency') concurrency = Number(value());
  else if (flag === '--test-name-pattern') patterns.push(value());
  else if (flag === '--test-only') only = true;
  else if (arg.startsWith('-')) {
    console.error(`run-tests: ${arg} is not an option of scripts/test.sh's runner (--test-concurrency, --test-name-pattern, --test-only); for others run node --test with the files`);
    process.exit(2);
  } else files.push(arg);
}
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error('run-tests: --test-concurrency takes a whole number, 1 or more');
  process.exit(2);
}

const order = slowestFirst(readFileSync(join(process.cwd(), 'test', 'slowest-first.txt'), 'utf8'));
const stream = run({ files: orderTestFiles(files, order), concurrency, forceExit: true, only, ...(patterns.length > 0 ? { testNamePatterns: patterns } : {}) });
// As `node --test` decides its exit code: a failure that is not a todo.
stream.on('test:fail', (data: { todo?: string | boolean }) => {
  if (data.todo === undefined || data.todo === false) process.exitCode = 1;
});
stream.compose(new spec()).pipe(process.stdout);
