/** Runs runtime/validate.py (the Python-side preflight) and reads its JSON report. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, EXIT } from './errors.js';
import { PACKAGE_ROOT } from './config.js';
import type { PyReport } from '../protocol/index.js';

export type { PyEntrypoint, PyFinding, PyReport } from '../protocol/index.js';

export const VALIDATE_SCRIPT = join(PACKAGE_ROOT, 'runtime', 'validate.py');

/** FP_PYTHON, else the repository's .venv (what the platform runs), else `python3` on PATH. */
export function pythonPath(fromEnv: string | undefined): string {
  if (fromEnv !== undefined) return fromEnv;
  const venv = join(PACKAGE_ROOT, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}

/** Checks `files` (relative paths) of `dir`; `entrypoint` "" skips the entrypoint check. */
export function runPythonPreflight(python: string, dir: string, entrypoint: string, files: readonly string[]): Promise<PyReport> {
  return new Promise((resolvePromise, reject) => {
    // -I: isolated (no user site, no PYTHONPATH, no cwd on sys.path), as the runtime runs.
    const child = spawn(python, ['-I', VALIDATE_SCRIPT, dir, entrypoint, '--files-from', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new CliError(EXIT.FAILURE, 'PYTHON_UNAVAILABLE', `cannot run ${python} to check the code (${e.message}); set FP_PYTHON to a Python 3.11+ interpreter`)));
    child.stdin.on('error', () => undefined); // the child may exit before reading everything; its exit code says why
    child.on('close', (code) => {
      const text = Buffer.concat(out).toString('utf8');
      if (code !== 0) {
        reject(new CliError(EXIT.FAILURE, 'PYTHON_PREFLIGHT_FAILED', `${python} ${VALIDATE_SCRIPT} exited with ${code}: ${Buffer.concat(err).toString('utf8').trim()}`));
        return;
      }
      try {
        resolvePromise(JSON.parse(text) as PyReport);
      } catch {
        reject(new CliError(EXIT.FAILURE, 'PYTHON_PREFLIGHT_FAILED', `validate.py printed something that is not JSON: ${text.slice(0, 200)}`));
      }
    });
    child.stdin.end(files.map((f) => `${f}\n`).join(''));
  });
}
