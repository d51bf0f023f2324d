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
 * The virtual environment by its real path: the sandbox binds the interpreter's prefixes into the
 * box after it has pivoted, where a `.venv` that is a symlink (a git worktree sharing another
 * checkout's) no longer resolves and the runtime cannot start (RUNTIME_UNAVAILABLE).
 */
const VENV = existsSync(join(ROOT, '.venv')) ? realpathSync(join(ROOT, '.venv')) : join(ROOT, '.venv');
export const PYTHON = join(VENV, 'bin', 'python');
/** Sources that tsc does not copy (Python files) are read from bench/ itself. */
export const BENCH_SRC = join(ROOT, 'bench');
export const HELLO_FIXTURE = join(BENCH_SRC, 'fixtures', 'hello', 'main.py');
export const FASTAPI_APP_DIR = join(BENCH_SRC, 'baseline');
/** Section 6: the FastAPI app served by both sides, and wrk's request mix for it. */
export const SHOP_DIR = join(BENCH_SRC, 'fixtures', 'shop');
export const UWS_HELLO = join(ROOT, 'dist', 'bench', 'baseline', 'uws-hello.js');
/** The limit (section 1): bare uWS forwarding to one Python worker over a Unix socket, and that worker. */
export const LIMIT_FORWARDER = join(ROOT, 'dist', 'bench', 'baseline', 'forwarder.js');
export const LIMIT_WORKER = join(BENCH_SRC, 'baseline', 'forward_worker.py');
/** The runtime's Python package (the limit's worker uses its frame codec). */
export const RUNTIME_DIR = join(ROOT, 'runtime');
/** The one process entry point: the platform, or with `--functions DIR` directory mode (what the bench runs). */
export const PLATFORM_MAIN = join(ROOT, 'dist', 'platform', 'main.js');
export const RESULTS_DIR = join(BENCH_SRC, 'results');
