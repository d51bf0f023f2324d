/** Runs runtime/validate.py (the Python-side preflight) and reads its JSON report. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, EXIT } from './errors.js';
import { PACKAGE_ROOT } from './config.js';
import type { PyReport } from '../protocol/index.js';

export type { PyEntrypoint, PyFinding, PyReport, PyRequirement } from '../protocol/index.js';

export const VALIDATE_SCRIPT = join(PACKAGE_ROOT, 'runtime', 'validate.py');

/** FP_PYTHON, else the repository's .venv (what the platform runs), else `python3` on PATH. */
export function pythonPath(fromEnv: string | undefined): string {
  if (fromEnv !== undefined) return fromEnv;
  const venv = join(PACKAGE_ROOT, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}

/** Checks `files` (relative paths) of `dir`; `entrypoint` "" skips the entrypoint check. */
export function runPythonPreflight(python: string, dir: string, entrypoint: string, files: readonly string[], installed?: readonly string[]): Promise<PyReport> {
  return new Promise((resolvePromise, reject) => {
    // -I: isolated (no user site, no PYTHONPATH, no cwd on sys.path), as the runtime runs.
    const child = spawn(python, ['-I', VALIDATE_SCRIPT, dir, entrypoint, '--files-from', '-', ...(installed !== undefined ? ['--installed', installed.join(',')] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
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

/**
 * What runs the Python side of the preflight: one process per check (runPythonPreflight), or a kept
 * one. `installed`: the distributions a dependency build installed, for the import check (validate.py).
 */
export type PythonPreflight = (python: string, dir: string, entrypoint: string, files: readonly string[], installed?: readonly string[]) => Promise<PyReport>;

/**
 * validate.py kept running (`--serve`): for a command that checks the same folder again and again
 * (`dev`), each check is a request to it instead of an interpreter start; for one that checks once
 * (`deploy`, `validate`), `start` runs the interpreter's start-up beside the CLI's own (main.ts).
 * Checks go one at a time; a process that died is replaced at the next check.
 */
export class PythonChecker {
  private proc: ReturnType<typeof spawn> | null = null;
  private chain: Promise<unknown> = Promise.resolve();

  /** Same contract as runPythonPreflight. */
  readonly check: PythonPreflight = (python, dir, entrypoint, files, installed) => {
    const run = this.chain.then(() => this.ask(python, { dir, entrypoint, files, ...(installed !== undefined ? { installed } : {}) }));
    this.chain = run.catch(() => undefined);
    return run;
  };

  /** Starts the interpreter now, before the first check (which then finds it ready); a failure to start is reported by that check. */
  start(python: string): this {
    if (this.proc === null || this.proc.exitCode !== null) this.proc = serve(python);
    return this;
  }

  /**
   * Ends the kept validate.py (end of its input) without waiting for it: the CLI may exit while
   * it is still starting (a usage error), and it then reads the end of its input and stops. The
   * pipes are closed, not ended: ending stdin kept the CLI's exit waiting for the shutdown (median
   * 8 against 2.5 ms, bench/README.md, section 9).
   */
  close(): void {
    const proc = this.proc;
    this.proc = null;
    if (proc === null) return;
    proc.stdin?.destroy();
    proc.stdout?.destroy();
    proc.stderr?.destroy();
    proc.unref();
  }

  private ask(python: string, request: { dir: string; entrypoint: string; files: readonly string[]; installed?: readonly string[] }): Promise<PyReport> {
    return new Promise((resolvePromise, reject) => {
      if (this.proc === null || this.proc.exitCode !== null) this.proc = serve(python);
      const proc = this.proc;
      let text = '';
      let err = '';
      const done = (): void => {
        proc.stdout!.off('data', onData);
        proc.stderr!.off('data', onErr);
        proc.off('close', onClose);
        proc.off('error', onError);
      };
      const onData = (b: Buffer): void => {
        text += b.toString('utf8');
        const nl = text.indexOf('\n');
        if (nl < 0) return;
        done();
        try {
          const report = JSON.parse(text.slice(0, nl)) as PyReport | { error: string };
          if ('error' in report) reject(new CliError(EXIT.FAILURE, 'PYTHON_PREFLIGHT_FAILED', `${VALIDATE_SCRIPT}: ${report.error}`));
          else resolvePromise(report);
        } catch {
          reject(new CliError(EXIT.FAILURE, 'PYTHON_PREFLIGHT_FAILED', `validate.py printed something that is not JSON: ${text.slice(0, 200)}`));
        }
      };
      const onErr = (b: Buffer): void => {
        err += b.toString('utf8');
      };
      const onClose = (code: number | null): void => {
        done();
        if (this.proc === proc) this.proc = null;
        reject(new CliError(EXIT.FAILURE, 'PYTHON_PREFLIGHT_FAILED', `${python} ${VALIDATE_SCRIPT} --serve exited with ${code}: ${err.trim()}`));
      };
      const onError = (e: Error): void => {
        done();
        if (this.proc === proc) this.proc = null;
        reject(new CliError(EXIT.FAILURE, 'PYTHON_UNAVAILABLE', `cannot run ${python} to check the code (${e.message}); set FP_PYTHON to a Python 3.11+ interpreter`));
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onErr);
      proc.on('close', onClose);
      proc.on('error', onError);
      proc.stdin!.write(`${JSON.stringify(request)}\n`);
    });
  }
}

/** `validate.py --serve` on `python`; a failure to start is reported through the request that finds it dead (exitCode set). */
function serve(python: string): ReturnType<typeof spawn> {
  const proc = spawn(python, ['-I', VALIDATE_SCRIPT, '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
  proc.stdin!.on('error', () => undefined);
  proc.on('error', () => undefined); // reported through the pending request (PythonChecker.ask)
  return proc;
}
