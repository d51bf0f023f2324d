/** Where things are: the repository root, found from this file in test/peers/ or dist/test/peers/. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'runtime'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`peers: no repository root above ${from}`);
    dir = parent;
  }
}

export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
/** The platform's own runtime environment. */
export const REPO_PYTHON = join(ROOT, '.venv', 'bin', 'python');
/** The Python files, the requirements and the expectations are read from the sources (tsc copies only .ts). */
export const PEERS_SRC = join(ROOT, 'test', 'peers');
