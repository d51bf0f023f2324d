/**
 * The platform as a child process (`node dist/platform/main.js`, both modes) for the e2e tests: start it with
 * a clean environment, read its URL (and admin token) from the banner; every child still running
 * when the test file ends is SIGKILLed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sleep } from './platform-harness.js';

// dist/test/e2e → the repository root.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MAIN = join(ROOT, 'dist', 'platform', 'main.js');

export interface Proc {
  child: ChildProcess;
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stdout(): string;
}

export const running = new Set<ChildProcess>();
/** The secrets key file of the platforms this test file starts: never the real ~/.config one. */
const keyDir = mkdtempSync(join(tmpdir(), 'fp-main-key-'));
export const KEY_FILE = join(keyDir, 'secrets.key');
after(() => {
  for (const child of running) child.kill('SIGKILL');
  rmSync(keyDir, { recursive: true, force: true });
});

/**
 * `detached`: the child leads a process group of its own, so a test can signal the group as a terminal's Ctrl-C does.
 * `preload`: a module the child imports first (`--import`), e.g. a kill point that exists only in the test.
 */
export function startMain(args: string[], env: Record<string, string> = {}, options: { detached?: boolean; preload?: string } = {}): Proc {
  const base: Record<string, string> = {};
  // Only what node needs: no FP_* settings of the surrounding shell leak into the test.
  for (const key of ['PATH', 'HOME', 'LANG']) if (process.env[key] !== undefined) base[key] = process.env[key]!;
  const child = spawn(process.execPath, [...(options.preload !== undefined ? ['--import', options.preload] : []), MAIN, ...args], {
    env: { ...base, FP_POOL_SIZE: '1', FP_SHUTDOWN_GRACE_MS: '2000', ...(env.FP_SECRETS_KEY === undefined ? { FP_SECRETS_KEY_FILE: KEY_FILE } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.detached === true ? { detached: true } : {}),
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((done) =>
    child.on('exit', (code) => {
      running.delete(child);
      done({ code, stdout, stderr });
    }),
  );
  return { child, exited, stdout: () => stdout };
}

/** Waits for the banner; `lastLine` marks its end (`sandbox:` in directory mode). */
export async function started(proc: Proc, lastLine = 'invoke:'): Promise<{ url: string; token: string | undefined }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const out = proc.stdout();
    const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
    // The token line follows the URL line in the same write burst; wait for the last line of the banner.
    if (url !== undefined && out.includes(lastLine)) return { url, token: /admin token: (fpa_\S+)/.exec(out)?.[1] };
    if (Date.now() > deadline) throw new Error(`the platform did not start:\n${out}`);
    await sleep(20);
  }
}

