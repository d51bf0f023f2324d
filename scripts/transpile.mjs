// The quick build `npm start` runs: every TypeScript file of the services (protocol, poolmgr,
// gateway, controlplane, platform, cli) transpiled to dist/ one by one with TypeScript's
// transpileModule: no type checking, so seconds instead of tsc's minute on the reference machine.
// `npm test` and `npm run build` run the real `tsc -p .`, which type-checks everything and writes
// the same JavaScript (tsconfig.json's isolatedModules keeps every file transpilable alone).
// Files whose output is newer than their source are skipped. Plain JavaScript: it runs before
// anything is built. Usage: node scripts/transpile.mjs
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** What `npm start` runs (bin/fastapi-platform.js → dist/cli, which loads the platform). Tests, bench and scripts wait for tsc. */
const DIRS = ['protocol', 'poolmgr', 'gateway', 'controlplane', 'platform', 'cli'];
/** Single files `npm start` runs too: the web console's build (scripts/setup.sh runs it). */
const FILES = ['scripts/build-console.ts'];

const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile).config;
// The package is "type": "module": every .ts file is an ES module. transpileModule cannot look
// that up (with NodeNext it would write CommonJS), so the module kind is said outright.
const compilerOptions = { ...ts.convertCompilerOptionsFromJson(config.compilerOptions, ROOT).options, module: ts.ModuleKind.ESNext, incremental: false };

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

let written = 0;
for (const file of [...DIRS.flatMap((d) => sources(join(ROOT, d))), ...FILES.map((f) => join(ROOT, f))]) {
  const rel = relative(ROOT, file);
  const out = join(ROOT, 'dist', rel.replace(/\.ts$/, '.js'));
  let fresh = false;
  try {
    fresh = statSync(out).mtimeMs >= statSync(file).mtimeMs;
  } catch {
    // not built yet
  }
  if (fresh) continue;
  const result = ts.transpileModule(readFileSync(file, 'utf8'), { fileName: rel, compilerOptions, reportDiagnostics: false });
  mkdirSync(dirname(out), { recursive: true });
  // tsc names the source relative to the output, and links the map from the output: the same here.
  const map = JSON.parse(result.sourceMapText);
  map.file = `${rel.split('/').pop().replace(/\.ts$/, '.js')}`;
  map.sources = [relative(dirname(out), file)];
  writeFileSync(`${out}.map`, JSON.stringify(map));
  writeFileSync(out, result.outputText.replace(/\/\/# sourceMappingURL=.*$/m, `//# sourceMappingURL=${map.file}.map`));
  written++;
}
process.stdout.write(`transpiled ${written} file${written === 1 ? '' : 's'} into dist/\n`);
