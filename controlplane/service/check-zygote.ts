/**
 * The code check's box and its warmed checker (ADR 0248, amended in loose ends round 11).
 *
 * `boxFor` is validate.py's `--box`: a box of the dependency builder's kind (controlplane/deps/
 * builder.ts `boxConfig`; runtime/fp_sandbox): no network, the runtime's read-only root, the check's
 * files alone read-only at BOX_DIR, the builder's uid, a cgroup leaf (root mode) with memory and tasks
 * limits.
 *
 * `CheckZygote` is one `validate.py --zygote --box …` built once and kept: each check is a child it
 * forks (the checker's modules imported once, the box built once), with the check's CPU and memory
 * limits, its deadline and output cap enforced by the zygote. It runs one check at a time (the
 * CodeChecker has one per slot), in a folder of its own (`code/<n>` under its private top folder, seen
 * as BOX_DIR/<n>), so no check sees another's files. A zygote that dies, or does not answer within its
 * check's deadline and a grace, is killed and started again at its next check; the check it held
 * fails with `CheckerDied` and the CodeChecker runs it in a box spawned for it instead, so no upload
 * fails for it. Each check's child starts clean (loose ends round 14): the box has no writable file
 * system, and before it answers the zygote kills and reaps every other process of its box and removes
 * its IPC objects (runtime/validate.py `zygote`, fp_sandbox/sweep.py).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { spawnedWithoutFds, type PyReport } from '../../protocol/index.js';
import type { DepsOptions } from '../deps/index.js';
import { checkFolderPrefix } from './check-folders.js';

/** The box a check runs in: the dependency builder's uid, id map and cgroups (platform/deps.ts). */
export interface CheckBox {
  mode: DepsOptions['sandbox'];
  uid: number;
  idmap: DepsOptions['idmap'];
  cgroups: DepsOptions['cgroups'];
}

/**
 * Where the box sees the check's files (read-only): under the box's own /run, which no install of the
 * platform shares. It was `/check`, and a clone at /check/work/main (CI's) had the box's bind hide the
 * platform's own interpreter and validate.py: every boxed check answered VALIDATION_UNAVAILABLE.
 */
export const BOX_DIR = '/run/fp-check';
/** The box's /tmp (nothing of the check writes there). */
const BOX_TMP_BYTES = 1024 * 1024;
/** A zygote's own memory (its interpreter and modules) beside its check's limit. */
const ZYGOTE_BYTES = 64 * 1024 * 1024;
/** What a zygote may take past its check's deadline to answer before it is killed. */
const ANSWER_GRACE_MS = 2_000;
/** Names the checks' cgroup leaves. */
let boxes = 0;

/** validate.py's `--box` argument for a box seeing `dir` at BOX_DIR, and its cgroup leaf (release it once the box is gone). */
export function boxFor(box: CheckBox, dir: string, memoryBytes: number, forks: boolean): { args: string[]; leaf: string | null } {
  const leaf = box.cgroups !== null ? `c${++boxes}` : null;
  const cgroupJoin = leaf !== null ? box.cgroups!.forBuild(leaf, memoryBytes + BOX_TMP_BYTES) : [];
  const cfg = {
    mode: box.mode,
    tmpBytes: BOX_TMP_BYTES,
    cgroupJoin,
    net: 'none',
    binds: [{ src: dir, dst: BOX_DIR, rw: false }],
    uid: box.uid,
    gid: box.uid,
    ...(box.mode === 'userns' && box.idmap ? { idmap: box.idmap } : {}),
    // A spawned check forks nothing after it took the uid; a zygote forks a child per check, and the
    // kernel counts RLIMIT_NPROC per host uid, which builds (and, mapped without subordinate ids,
    // runtimes) share: a low one failed its forks whenever they ran many. Its own is inherited; the
    // cgroup leaf's tasks limit (root mode) bounds it, and nothing in it runs code that forks.
    rlimits: { nofile: 64, ...(forks ? {} : { nproc: 16 }), fsize: 0, core: 0 },
  };
  return { args: ['--box', JSON.stringify(cfg)], leaf };
}

/** A zygote failed (died, or hung past its grace): not the check's fault; run it another way. */
export class CheckerDied extends Error {}

export interface ZygoteRequest {
  /** The check's folder as the box sees it: BOX_DIR/<name>, `code/<name>` of the zygote's top folder. */
  dir: string;
  entrypoint: string;
  files: readonly string[];
  cpu: number;
  memoryMb: number;
  timeoutMs: number;
  maxBytes: number;
}

interface Waiting {
  resolve(answer: { report?: PyReport; error?: string }): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class CheckZygote {
  /** Private (0700), named for this process (./check-folders.ts); its `code/` (0755, the box's BOX_DIR) holds the running check's folder. */
  readonly top = mkdtempSync(checkFolderPrefix(tmpdir(), 'check'));
  #child: ChildProcess | null = null;
  #leaf: string | null = null;
  #waiting: Waiting | null = null;
  #buffer = '';

  constructor(
    private readonly python: string,
    private readonly script: string,
    private readonly box: CheckBox,
    private readonly memoryBytes: number,
    private readonly log: (line: string) => void,
  ) {
    mkdirSync(this.codeDir, { mode: 0o755 });
  }

  /** The checks' folder: `code/<dir>` holds one check's files. */
  get codeDir(): string {
    return join(this.top, 'code');
  }

  /** Runs one check; its own failure (deadline, output cap, crash) answers `{error}`; CheckerDied when the zygote failed. */
  run(request: ZygoteRequest): Promise<{ report?: PyReport; error?: string }> {
    const child = this.#child ?? this.#start();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.log(`validate: the checker did not answer within ${request.timeoutMs + ANSWER_GRACE_MS} ms: killed`);
        this.#stop(new CheckerDied('the checker did not answer'));
      }, request.timeoutMs + ANSWER_GRACE_MS);
      this.#waiting = { resolve, reject, timer };
      child.stdin!.write(`${JSON.stringify(request)}\n`);
    });
  }

  /** Ends the zygote (the platform is closing) and removes its folder. */
  close(): void {
    this.#stop(new CheckerDied('the platform is closing'));
    rmSync(this.top, { recursive: true, force: true });
  }

  #start(): ChildProcess {
    const box = boxFor(this.box, this.codeDir, this.memoryBytes + ZYGOTE_BYTES, true);
    this.#leaf = box.leaf;
    // -I, PATH and LANG only: as a spawned check. fd 3 is kept through the box's start (validate.py `boxed`).
    const child = spawn(this.python, ['-I', this.script, '--zygote', ...box.args], {
      cwd: this.top,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    if (spawnedWithoutFds(child)) {
      // No descriptors left (chaos round 8): the check falls back to a spawn of its own, which answers PLATFORM_FILE_LIMIT.
      this.#stop(new CheckerDied('the checker could not start: no file descriptors left'));
      throw new CheckerDied('the checker could not start: no file descriptors left');
    }
    this.#child = child;
    this.#buffer = '';
    // An idle zygote keeps nothing alive: a check waiting on it holds its timer.
    child.unref();
    for (const stream of child.stdio) (stream as { unref?: () => void } | null)?.unref?.();
    (child.stdio[3] as Readable).on('error', () => undefined).resume();
    child.stdin!.on('error', () => undefined);
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => { err = (err + s).slice(-2000); });
    child.stdout!.setEncoding('utf8').on('data', (s: string) => this.#read(s));
    const gone = (why: string): void => {
      if (this.#child !== child) return;
      this.log(`validate: the checker ended (${why}): ${err.trim().split('\n').pop() ?? ''}`);
      this.#stop(new CheckerDied(`the checker ended (${why})`));
    };
    child.on('error', (e) => gone(e.message));
    child.on('exit', (code, signal) => gone(String(signal ?? code)));
    return child;
  }

  #read(text: string): void {
    this.#buffer += text;
    // An answer is one line: at most the output cap of JSON and a little more.
    for (let at = this.#buffer.indexOf('\n'); at >= 0; at = this.#buffer.indexOf('\n')) {
      const line = this.#buffer.slice(0, at);
      this.#buffer = this.#buffer.slice(at + 1);
      const waiting = this.#waiting;
      this.#waiting = null;
      if (waiting === null) continue;
      clearTimeout(waiting.timer);
      try {
        waiting.resolve(JSON.parse(line) as { report?: PyReport; error?: string });
      } catch {
        waiting.reject(new CheckerDied('the checker answered something that is not JSON'));
      }
    }
  }

  /** Kills the zygote (its box goes with it), fails the check it held with `why`, and frees its cgroup leaf. */
  #stop(why: Error): void {
    const child = this.#child;
    this.#child = null;
    child?.kill('SIGKILL');
    const waiting = this.#waiting;
    this.#waiting = null;
    if (waiting !== null) {
      clearTimeout(waiting.timer);
      waiting.reject(why);
    }
    const leaf = this.#leaf;
    this.#leaf = null;
    if (leaf !== null) {
      const release = (): void => void this.box.cgroups!.release(leaf).catch(() => undefined);
      if (child === null || child.exitCode !== null || child.signalCode !== null) release();
      else child.once('exit', release);
    }
  }
}
