/**
 * Where the platform may be installed (docs/platform.md, "Where to install";
 * [ADR 0112](../docs/adr/0112-install-paths.md)): every box shows the runtimes' interpreter, its
 * virtual environment and runtime/ at their host paths, beside mount points of its own (/code,
 * /deps, /run/fp-data, …). runtime/fp_sandbox/install.py is the one rule (the boxes check it too);
 * this runs it at start, so a platform installed at such a path refuses to start, naming it
 * (INSTALL_PATH_COLLIDES), instead of runtimes and checks that fail one by one.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { PlatformError } from '../protocol/index.js';

/** install.py's exit status when a path collides. */
const COLLIDES = 3;
const TIMEOUT_MS = 15_000;

/**
 * Resolves when `python` (with `runtimeDir`) can be shown in a box and shows none of `privatePaths`
 * (the state directory, the key files); INSTALL_PATH_COLLIDES otherwise.
 */
export function checkInstallPath(python: string, runtimeDir: string, privatePaths: readonly string[] = []): Promise<void> {
  return new Promise((done, reject) => {
    execFile(python, ['-I', join(runtimeDir, 'fp_sandbox', 'install.py'), ...privatePaths.map((p) => resolve(p))], { timeout: TIMEOUT_MS, env: {} }, (err, stdout) => {
      if (err === null) return done();
      if ((err as { code?: unknown }).code === COLLIDES) {
        let collision = stdout.trim();
        try {
          collision = String((JSON.parse(stdout) as { collision?: unknown }).collision);
        } catch { /* the raw line */ }
        return reject(new PlatformError('INSTALL_PATH_COLLIDES', `the platform's install and the functions' boxes collide: ${collision}`, { python, runtimeDir }));
      }
      // Anything else (an interpreter that does not run) is for the pool's start to say.
      done();
    });
  });
}
