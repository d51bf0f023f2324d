/**
 * Builds the web console (console/src → dist/console) with esbuild: one ES module entry, the editor
 * (CodeMirror) and the charts (uPlot) split into chunks loaded on first use, names hashed
 * (`assets/main-3F2A….js`, cached for a year by the gateway), index.html written last with the
 * hashed names and no inline script (the console's CSP allows none: gateway/static-site.ts).
 *
 *   node dist/scripts/build-console.js [--force] [--quiet] [--no-typecheck]
 *
 * Cached: the build is skipped when its inputs (console/, the templates it bundles, the lock file,
 * this script) hash to the stamp of the last build (dist/console/.stamp). Type-checks the console
 * (`tsc -p console`) before bundling, except with --no-typecheck (`npm start`'s quick build:
 * scripts/setup.sh --start; `npm test` type-checks). Prints the first-load JavaScript of the functions list
 * (the entry and what it imports statically), gzipped: the budget is 200 KB (docs/console.md).
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = join(ROOT, 'dist', 'console');
const STAMP = join(OUT, '.stamp');
/** The budget for the list page's first-load JavaScript, gzipped (docs/console.md). */
export const FIRST_LOAD_BUDGET_BYTES = 200 * 1024;

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)])).sort();
}

/** The hash of everything the build reads. */
export function inputHash(): string {
  const h = createHash('sha256');
  const inputs = [...files(join(ROOT, 'console')), ...files(join(ROOT, 'templates')), join(ROOT, 'package-lock.json'), fileURLToPath(import.meta.url)];
  for (const f of inputs) {
    h.update(relative(ROOT, f));
    h.update(readFileSync(f));
  }
  return h.digest('hex');
}

export interface BuildReport {
  entry: string;
  css: string | null;
  files: { path: string; bytes: number; gzipBytes: number }[];
  /** The list page's JavaScript at first load: the entry and its static imports. */
  firstLoadJs: { files: string[]; bytes: number; gzipBytes: number };
}

export async function buildConsole(options: { force?: boolean; typecheck?: boolean; log?: (line: string) => void } = {}): Promise<{ built: boolean; report: BuildReport }> {
  const log = options.log ?? ((line: string) => console.log(line));
  const hash = inputHash();
  const reportFile = join(OUT, '.report.json');
  if (!options.force && existsSync(STAMP) && readFileSync(STAMP, 'utf8') === hash && existsSync(reportFile) && existsSync(join(OUT, 'index.html'))) {
    return { built: false, report: JSON.parse(readFileSync(reportFile, 'utf8')) as BuildReport };
  }
  // Type errors stop the build (esbuild only strips types).
  if (options.typecheck !== false) execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'console', 'tsconfig.json')], { stdio: 'inherit' });
  const { build } = await import('esbuild');
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(join(OUT, 'assets'), { recursive: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { main: 'console/src/main.tsx' },
    outdir: join(OUT, 'assets'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    assetNames: '[name]-[hash]',
    loader: { '.py': 'text', '.yaml': 'text' },
    // `payload.json?text`: the template's sample payload as text.
    plugins: [{
      name: 'text-query',
      setup(b) {
        b.onResolve({ filter: /\?text$/ }, (args) => ({ path: join(args.resolveDir, args.path.replace(/\?text$/, '')), namespace: 'text' }));
        b.onLoad({ filter: /.*/, namespace: 'text' }, (args) => ({ contents: readFileSync(args.path, 'utf8'), loader: 'text' }));
      },
    }],
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = result.metafile.outputs;
  const rel = (p: string): string => relative(OUT, join(ROOT, p)).split('\\').join('/');
  const entryKey = Object.keys(outputs).find((k) => outputs[k]!.entryPoint === 'console/src/main.tsx')!;
  const entry = outputs[entryKey]!;
  const css = entry.cssBundle ?? null;
  // The list page loads the entry and its static imports (chunks it imports with `import … from`).
  const firstLoad = new Set<string>();
  const visit = (key: string): void => {
    if (firstLoad.has(key)) return;
    firstLoad.add(key);
    for (const imp of outputs[key]?.imports ?? []) if (imp.kind === 'import-statement' && !imp.external) visit(imp.path);
  };
  visit(entryKey);
  // A gzip copy beside each file the gateway compresses (it serves them as they are).
  for (const k of Object.keys(outputs)) writeFileSync(join(ROOT, `${k}.gz`), gzipSync(readFileSync(join(ROOT, k)), { level: 9 }));
  const sized = Object.keys(outputs).filter((k) => !k.endsWith('.map')).map((k) => {
    const body = readFileSync(join(ROOT, k));
    return { path: rel(k), bytes: body.length, gzipBytes: readFileSync(join(ROOT, `${k}.gz`)).length };
  });
  const first = sized.filter((f) => [...firstLoad].map(rel).includes(f.path) && f.path.endsWith('.js'));
  const report: BuildReport = {
    entry: rel(entryKey),
    css: css === null ? null : rel(css),
    files: sized,
    firstLoadJs: { files: first.map((f) => f.path), bytes: first.reduce((n, f) => n + f.bytes, 0), gzipBytes: first.reduce((n, f) => n + f.gzipBytes, 0) },
  };
  const modulePreloads = [...firstLoad].filter((k) => k !== entryKey && k.endsWith('.js')).map((k) => `<link rel="modulepreload" href="${rel(k)}">`).join('');
  writeFileSync(join(OUT, 'index.html'), [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    '<title>fastapi-platform console</title>',
    '<link rel="icon" href="data:,">',
    css !== null ? `<link rel="stylesheet" href="${rel(css)}">` : '',
    modulePreloads,
    `<script type="module" src="${report.entry}"></script>`,
    '</head><body><div id="app"></div><noscript>The console needs JavaScript.</noscript></body></html>',
    '',
  ].join(''));
  writeFileSync(join(OUT, 'index.html.gz'), gzipSync(readFileSync(join(OUT, 'index.html')), { level: 9 }));
  writeFileSync(reportFile, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(STAMP, hash);
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
  log(`console: built dist/console (first load of the functions list: ${kb(report.firstLoadJs.gzipBytes)} of JavaScript gzipped, budget ${kb(FIRST_LOAD_BUDGET_BYTES)}; ${sized.length} files)`);
  return { built: true, report };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const started = Date.now();
  const { built, report } = await buildConsole({ force: args.includes('--force'), typecheck: !args.includes('--no-typecheck') });
  if (!built && !args.includes('--quiet')) console.log(`console: up to date (first load ${(report.firstLoadJs.gzipBytes / 1024).toFixed(1)} KiB gzipped)`);
  if (built) console.log(`console: build took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (report.firstLoadJs.gzipBytes > FIRST_LOAD_BUDGET_BYTES) {
    console.error(`console: the functions list loads ${report.firstLoadJs.gzipBytes} bytes of JavaScript gzipped, over the ${FIRST_LOAD_BUDGET_BYTES}-byte budget`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
