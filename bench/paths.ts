/** Where things are: the repository root, found from this file in bench/ or dist/bench/. */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'runtime'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`bench: no repository root above ${from}`);
    dir = parent;
  }
}

export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
/**
 * The venv's interpreter, reached through the venv's real path: the sandbox binds the interpreter's
 * prefix into the box at its real path, so a symlinked `.venv` (a git worktree sharing one) must
 * not be the prefix the runtimes see.
 */
export const PYTHON = join(existsSync(join(ROOT, '.venv')) ? realpathSync(join(ROOT, '.venv')) : join(ROOT, '.venv'), 'bin', 'python');
/** Sources that tsc does not copy (Python files) are read from bench/ itself. */
export const BENCH_SRC = join(ROOT, 'bench');
export const HELLO_FIXTURE = join(BENCH_SRC, 'fixtures', 'hello', 'main.py');
export const FASTAPI_APP_DIR = join(BENCH_SRC, 'baseline');
export const UWS_HELLO = join(ROOT, 'dist', 'bench', 'baseline', 'uws-hello.js');
/** The one process entry point: the platform, or with `--functions DIR` directory mode (what the bench runs). */
export const PLATFORM_MAIN = join(ROOT, 'dist', 'platform', 'main.js');
export const RESULTS_DIR = join(BENCH_SRC, 'results');
