/**
 * Test helpers for the CLI: run `main()` in-process with captured output (unit and integration
 * tiers), or spawn `node bin/fastapi-platform.js` as a user would (end-to-end tier).
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../cli/main.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = join(ROOT, 'bin', 'fastapi-platform.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one command line in this process. `env` is the whole environment the CLI sees. */
/** `tty`: stdout plays a terminal (as `process.stdout.isTTY`). */
export async function runCli(argv: string[], options: { cwd?: string; env?: Record<string, string>; stdin?: string; tty?: boolean } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    io: {
      stdout: (t) => { stdout += t; },
      stderr: (t) => { stderr += t; },
      readStdin: async () => Buffer.from(options.stdin ?? ''),
      ...(options.tty === true ? { stdoutIsTTY: true } : {}),
    },
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    waitForSignal: () => new Promise(() => undefined),
  });
  return { code, stdout, stderr };
}

/** Spawns the real command and waits for it to exit. */
export function spawnCli(argv: string[], options: { cwd?: string; env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], { cwd: options.cwd ?? ROOT, env: { PATH: process.env.PATH ?? '', ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fastapi-platform ${argv.join(' ')} did not finish in ${options.timeoutMs ?? 30_000} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** A CLI result's stdout parsed as JSON, or an error showing the exit code and both streams. */
export function jsonOf<T = any>(r: CliResult): T { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}
