#!/usr/bin/env node
// The `fastapi-platform` command: runs the compiled CLI (dist/, built by `npx tsc -p .`).
import('../dist/cli/main.js').then(
  ({ runFromProcess }) => runFromProcess(),
  (err) => {
    console.error(`fastapi-platform: cannot load the compiled CLI (${err.message}); build it first: npx tsc -p .`);
    process.exitCode = 1;
  },
);
