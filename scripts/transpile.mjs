// The quick build `npm start` runs: every TypeScript file of the services (protocol, poolmgr,
// gateway, controlplane, platform, cli) transpiled to dist/ by esbuild, file by file (no bundle),
// without type checking: under a second, where TypeScript's own transpileModule took ~8 s on the
// reference machine (23 s under load) and tsc a minute. `npm test` and `npm run build` run the
// real `tsc -p .`, which type-checks everything and writes its own output over this one
// (tsconfig.json's isolatedModules keeps every file transpilable alone; esbuild reads tsconfig.json
// for the class-field semantics of the ES2022 target). Files whose output is newer than their
// source are skipped. Plain JavaScript: it runs before anything is built. Usage: node scripts/transpile.mjs
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** What `npm start` runs (bin/fastapi-platform.js → dist/cli, which loads the platform). Tests, bench and scripts wait for tsc. */
const DIRS = ['protocol', 'poolmgr', 'gateway', 'controlplane', 'platform', 'cli'];
/** Single files `npm start` runs too: the web console's build (scripts/setup.sh runs it). */
const FILES = ['scripts/build-console.ts'];

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function stale(file) {
  const out = join(ROOT, 'dist', relative(ROOT, file).replace(/\.ts$/, '.js'));
  try {
    return statSync(out).mtimeMs < statSync(file).mtimeMs;
  } catch {
    return true; // not built yet
  }
}

const todo = [...DIRS.flatMap((d) => sources(join(ROOT, d))), ...FILES.map((f) => join(ROOT, f))].filter(stale);
if (todo.length > 0) {
  buildSync({
    entryPoints: todo,
    outdir: join(ROOT, 'dist'),
    outbase: ROOT,
    format: 'esm',
    platform: 'node',
    target: 'es2022',
    sourcemap: 'linked',
    tsconfig: join(ROOT, 'tsconfig.json'),
    logLevel: 'error',
  });
}
process.stdout.write(`transpiled ${todo.length} file${todo.length === 1 ? '' : 's'} into dist/\n`);
