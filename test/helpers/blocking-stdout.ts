/**
 * Preloaded into the test runner and every test file's process (scripts/test.sh, `--import`): the
 * process's stdout is made blocking. A test file's process sends its results to the runner on that
 * pipe, and `--test-force-exit` ends it with process.exit() once its tests are done, which cut off
 * what was still buffered: the runner then counted fewer tests and still exited 0 (Node issue
 * 64833; CI here lost 5-8 verdicts a run, the tail of test/unit/errors.test.ts; under load, 6 runs
 * of 24 of that file lost some, none with this).
 */
const stdout = process.stdout as unknown as { _handle?: { setBlocking?: (on: boolean) => void } };
stdout._handle?.setBlocking?.(true);

export {};
