/**
 * The zygotes of the local process host: one long-lived Python process per runtime preset
 * (runtime/fp_runtime/zygote.py) that forks generic runtimes instead of paying a fresh interpreter
 * each time. Decisions: docs/adr/0019-zygotes.md.
 *
 * A fork is two connections to the zygote's socket (in a 0700 directory of the platform's user):
 * `data` becomes the runtime's frame channel, `report` the keeper's (pid, stdout/stderr, exit:
 * runtime/fp_sandbox/forked.py). Each starts with one frame `{t: 'fork', id, role, box?}`.
 * A few pairs are opened ahead (`wait: true`, SPARE_PAIRS): a fork then only writes
 * `{t: 'go', box?}` on a waiting pair's data connection, and connecting (two connects, two
 * accepts, ~0.5 ms of a fork) happens off the spawn path (docs/adr/0042-cold-start-steps.md).
 *
 * A zygote that dies is restarted; one that fails FAILURES_TO_BYPASS times in a row (died before
 * ready, or within STABLE_MS of it) is bypassed for BYPASS_MS: `ready()` says null and the host
 * spawns fresh interpreters, as without zygotes. Runtimes already forked do not depend on their
 * zygote: they live on when it dies.
 *
 * A zygote that lives but whose forks all fail (the host out of pids, a box's init that cannot
 * mount, a broken template root) is bypassed the same way after FORK_FAILURES_TO_BYPASS runtimes
 * in a row ended before they were placed (`forkEnded`): it is ended and started again once the
 * bypass is over, and `onBypass` tells the operator (reliability round 8).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { encodeFrame, FrameDecoder, spawnedWithoutFds } from '../../protocol/index.js';
import { running } from './host-pids.js';
import { makeOwnedDir, ownedDirFile } from './owned-dirs.js';
import { siteShadows } from './site-packages.js';

/** The presets a zygote can preload (runtime/fp_runtime/zygote.py PRESETS). */
export const ZYGOTE_PRESETS = ['default', 'fastapi'] as const;
export type ZygotePreset = (typeof ZYGOTE_PRESETS)[number];
const ZYGOTE_SOCKET = 'z.sock';

/** The longest path a zygote's socket takes (in TMPDIR: platform/socket-paths.ts checks it at start). */
export function longestZygoteSocket(): string {
  return ZYGOTE_PRESETS.map((preset) => ownedDirFile(`fp-zygote-${preset}`, ZYGOTE_SOCKET)).reduce((a, b) => (Buffer.byteLength(b) > Buffer.byteLength(a) ? b : a));
}

const FAILURES_TO_BYPASS = 3;
const STABLE_MS = 10_000;
const BYPASS_MS = 60_000;
const RESTART_MS = 100;
/**
 * Forked runtimes in a row that ended before they took a function, none placed between, that
 * bypass a live zygote. Below MAX_RESPAWNS (poolmgr/instance.ts, 4): a call that meets them is
 * then served by a spawned runtime instead of failing RUNTIME_UNAVAILABLE.
 */
const FORK_FAILURES_TO_BYPASS = 3;
/** Connection pairs kept open ahead at a ready zygote (a pool refill forks up to its size at once; more connect then). */
const SPARE_PAIRS = 2;
/** How long after a pair is taken (or the zygote is ready) pairs are opened ahead again. */
const TOP_UP_DELAY_MS = 20;

export interface ZygoteOptions {
  pythonPath: string;
  /** runtime/zygote.py */
  entry: string;
  preset: ZygotePreset;
  childEnv: Record<string, string>;
  /**
   * Every runtime the host asks of it is boxed (the sandbox is on): a root zygote then drops its
   * capability bounding set once instead of each box's init (docs/adr/0136-bounding-set-in-the-zygote.md).
   * Off (the sandbox off), its runtimes keep theirs.
   */
  boxed?: boolean;
  /** Receives what the zygote itself writes (debug forwarding). */
  onOutput?: (text: string) => void;
  /** Told when the zygote is bypassed, with why (the operator's log). */
  onBypass?: (why: string) => void;
}

/** The two channels of one forked runtime. */
export interface Forked {
  data: Socket;
  report: Socket;
  /** Which start of its zygote it was asked of (Zygote.starts): a fork failure counts against that start only. */
  start?: number;
}

interface Hello {
  t: 'zygote';
  /** Its protocol: 2 and later hold pairs opened ahead (`wait`); a zygote of 1 would fork at once, unboxed. */
  v: number;
  pid: number;
  /** The installed top-level modules the preset brought, each with its distribution (`anyio-4.16.0`; null: unknown). */
  dists: Record<string, string | null>;
  bootMs: number;
}

export class Zygote {
  private child: ChildProcess | null = null;
  private hello: Hello | null = null;
  private readyAt = 0;
  private failures = 0;
  /** performance.now() until which it is bypassed: its times are durations, on the monotonic clock (a wall clock stepped forward ended a bypass at once, before the zygote was started again: chaos round 9). */
  private bypassedUntil = 0;
  /** Forked runtimes in a row that ended before they were placed (forkEnded). */
  private forkFailures = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly dir: string;
  private readonly path: string;
  /** Pairs opened ahead to the running zygote, oldest first. */
  private spare: Forked[] = [];
  private spareSeq = 0;
  private topping = false;
  /** Whether a dependency site shadows what this zygote imported, by site (sites never change); emptied on each hello. */
  private readonly shadowing = new Map<string, boolean>();
  /** How often this zygote was (re)started, and forks it made (for tests and stats). */
  starts = 0;
  forks = 0;
  /** How often it was bypassed since the host started (stats). */
  bypasses = 0;

  constructor(private readonly options: ZygoteOptions) {
    // 0700, the platform's user: nothing else (no function: boxes do not see the host's /tmp) reaches the socket.
    // Named after this process, so a start after a killed platform removes the one it left (soak1:
    // 305 of them, random mkdtemp names, had piled up in one day's /tmp).
    this.dir = makeOwnedDir(`fp-zygote-${options.preset}`);
    this.path = join(this.dir, ZYGOTE_SOCKET);
    this.start();
  }

  get preset(): ZygotePreset {
    return this.options.preset;
  }

  /** The zygote's pid while it runs (0 otherwise). */
  get pid(): number {
    return this.hello?.pid ?? 0;
  }

  /** Top-level modules the preset imported ahead (a function shipping its own copy must not get this preset). */
  get modules(): readonly string[] {
    return Object.keys(this.dists);
  }

  /** The distribution of each module in `modules` (`anyio-4.16.0`; null: unknown). */
  get dists(): Readonly<Record<string, string | null>> {
    return this.hello?.dists ?? {};
  }

  /** Whether a function with the dependency site `site` must not be forked here: it ships another version of a module this zygote imported. */
  shadowedBy(site: string | undefined): boolean {
    if (site === undefined || this.hello === null) return false;
    let shadowed = this.shadowing.get(site);
    if (shadowed === undefined) {
      shadowed = siteShadows(site, this.dists);
      this.shadowing.set(site, shadowed);
    }
    return shadowed;
  }

  /** True when the zygote can fork now. */
  get ready(): boolean {
    return this.hello !== null && !this.closed;
  }

  /** True while a zygote that failed repeatedly is bypassed. */
  get bypassed(): boolean {
    return performance.now() < this.bypassedUntil;
  }

  /** Asks for a runtime `id` with the spawn-time box config (null: unsandboxed); null when not ready. */
  fork(id: string, box: Record<string, unknown> | null): Forked | null {
    if (this.hello === null || this.closed) return null;
    this.forks++;
    let pair: Forked | undefined;
    while ((pair = this.spare.shift()) !== undefined && (pair.data.destroyed || pair.report.destroyed)) {
      pair.data.destroy();
      pair.report.destroy();
    }
    this.topUpSoon();
    if (pair !== undefined) {
      for (const socket of [pair.data, pair.report]) socket.ref();
      pair.data.write(encodeFrame({ t: 'go', box }));
      return { ...pair, start: this.starts };
    }
    return { report: this.open(id, 'report', {}), data: this.open(id, 'data', { box }), start: this.starts };
  }

  /** A connection to the zygote, its first frame written. */
  private open(id: string, role: 'data' | 'report', extra: Record<string, unknown>): Socket {
    const socket = connect(this.path);
    socket.write(encodeFrame({ t: 'fork', id, role, ...extra }));
    return socket;
  }

  /** Opens pairs ahead up to SPARE_PAIRS a little later: not while the zygote forks the box that took one. */
  private topUpSoon(): void {
    if (this.topping || this.closed) return;
    this.topping = true;
    setTimeout(() => {
      this.topping = false;
      while (this.hello !== null && this.hello.v >= 2 && !this.closed && this.spare.length < SPARE_PAIRS) {
        const id = `spare-${++this.spareSeq}`;
        const pair: Forked = { report: this.open(id, 'report', { wait: true }), data: this.open(id, 'data', { wait: true }) };
        for (const socket of [pair.data, pair.report]) {
          socket.unref(); // a pair waiting keeps nothing alive; ref'd when a fork takes it
          socket.on('error', () => {});
          socket.once('close', () => this.drop(pair));
        }
        this.spare.push(pair);
      }
    }, TOP_UP_DELAY_MS).unref();
  }

  /** Forgets a waiting pair and closes both of its connections (the zygote drops its half). */
  private drop(pair: Forked): void {
    const at = this.spare.indexOf(pair);
    if (at < 0) return;
    this.spare.splice(at, 1);
    pair.data.destroy();
    pair.report.destroy();
  }

  private dropSpare(): void {
    for (const pair of [...this.spare]) this.drop(pair);
  }

  /**
   * Resolves true once the zygote can fork; false after `timeoutMs`, when closed, or once it is
   * bypassed (it failed repeatedly: an interpreter that cannot start made the pool's start wait
   * its whole spawnTimeoutMs, 10 s, before saying RUNTIME_UNAVAILABLE).
   */
  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.ready) return Promise.resolve(true);
    return new Promise((resolve) => {
      const deadline = performance.now() + timeoutMs;
      const poll = setInterval(() => {
        if (this.ready || this.closed || this.bypassed || performance.now() >= deadline) {
          clearInterval(poll);
          resolve(this.ready);
        }
      }, 10);
    });
  }

  /**
   * A runtime it forked ended before it took a function, not by the host's signal: its fork, its
   * box or its hello failed. FORK_FAILURES_TO_BYPASS of those in a row (no `forkPlaced` between)
   * bypass this zygote, which is started again, new, once the bypass is over.
   */
  forkFailed(why: string, start?: number): void {
    // A fork that ended with its zygote (killed, crashed: the requests it had not forked yet close
    // with it) says nothing of the zygote's forks: its death counts once, as a failure of its own
    // (onExit). Counted, one zygote death with 3 forks in flight bypassed the zygote for BYPASS_MS,
    // every tenant's cold start a fresh interpreter (red team round 16).
    if (start !== undefined && (start !== this.starts || !this.running())) return;
    if (this.closed || this.bypassed || ++this.forkFailures < FORK_FAILURES_TO_BYPASS) return;
    this.bypass(`its last ${this.forkFailures} forked runtimes ended before they could take a function (the last: ${why || 'no reason given'})`);
  }

  /** Whether the zygote process of this start is alive: its exit may not have been reported yet when the forks it took down are. */
  private running(): boolean {
    const child = this.child;
    return child !== null && child.pid !== undefined && child.exitCode === null && child.signalCode === null && running(child.pid);
  }

  /** A runtime it forked took a function: its forks work. */
  forkPlaced(): void {
    this.forkFailures = 0;
  }

  private bypass(why: string): void {
    this.bypassedUntil = performance.now() + BYPASS_MS;
    this.bypasses++;
    this.failures = 0;
    this.forkFailures = 0;
    this.options.onBypass?.(`${why}; runtimes are spawned instead for ${BYPASS_MS / 1000} s, then the zygote is started again`);
    const child = this.child;
    if (child !== null) {
      // Its exit (onExit) restarts it once the bypass is over, and is no failure of its own.
      this.hello = null;
      this.dropSpare();
      child.kill('SIGKILL');
    } else {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.start(), BYPASS_MS);
      this.timer.unref();
    }
  }

  /** Ends the zygote (runtimes it forked live on until the host ends them); resolves once it is gone. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.dropSpare();
    const child = this.child;
    this.child = null;
    this.hello = null;
    rmSync(this.dir, { recursive: true, force: true });
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.ref(); // unref'd while it ran: now its exit is awaited
    child.kill('SIGKILL');
    await gone;
  }

  private start(): void {
    if (this.closed) return;
    this.starts++;
    rmSync(this.path, { force: true });
    const { pythonPath, entry, preset, childEnv, boxed } = this.options;
    const args = ['-I', entry, '--fd', '3', '--preset', preset, '--listen', this.path, ...(boxed === true ? ['--boxed'] : [])];
    const child = spawn(pythonPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: childEnv });
    this.child = child;
    if (spawnedWithoutFds(child)) {
      // No file descriptor for its pipes: a failed start like any other (the 'error' follows; spawn-failed.ts).
      child.on('error', () => this.onExit(child));
      return;
    }
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (text: string) => this.options.onOutput?.(text));
    }
    const control = child.stdio[3] as unknown as Socket;
    // A zygote alone keeps nothing alive: the host closes it, and it dies with this process (PDEATHSIG).
    child.unref();
    for (const stream of [child.stdout, child.stderr, control] as (Socket | null)[]) stream?.unref();
    const decoder = new FrameDecoder();
    control.on('error', () => {});
    control.on('data', (chunk: Buffer) => {
      let messages: unknown[];
      try {
        messages = decoder.push(chunk);
      } catch {
        child.kill('SIGKILL');
        return;
      }
      for (const m of messages as Hello[]) {
        if (m.t === 'zygote' && this.child === child && Number.isInteger(m.pid)) {
          const dists = typeof m.dists === 'object' && m.dists !== null && !Array.isArray(m.dists) ? m.dists : {};
          this.hello = { t: 'zygote', v: typeof m.v === 'number' ? m.v : 1, pid: m.pid, dists, bootMs: m.bootMs };
          this.shadowing.clear();
          this.readyAt = performance.now();
          this.topUpSoon();
        }
      }
    });
    // A failed spawn (no such interpreter) emits 'error' and no 'exit': a failure all the same (onExit
    // runs once per child). Without it the zygote never restarted nor was bypassed, and the pool's
    // start() waited its whole spawnTimeoutMs for it before saying RUNTIME_UNAVAILABLE.
    child.on('error', () => {
      if (child.pid === undefined) this.onExit(child); // not spawned (a failed kill of a live one is no exit)
    });
    child.on('exit', () => this.onExit(child));
  }

  private onExit(child: ChildProcess): void {
    if (this.child !== child) return;
    const wasReady = this.hello !== null;
    this.child = null;
    this.hello = null;
    this.dropSpare(); // the dead zygote's pairs: closed by it already, or soon
    if (this.closed) return;
    if (this.bypassed) {
      // Ended by bypass(): back when the bypass is over.
      this.timer = setTimeout(() => this.start(), Math.max(RESTART_MS, this.bypassedUntil - performance.now()));
      this.timer.unref();
      return;
    }
    this.failures = wasReady && performance.now() - this.readyAt >= STABLE_MS ? 1 : this.failures + 1;
    let delay = RESTART_MS;
    if (this.failures >= FAILURES_TO_BYPASS) {
      this.bypassedUntil = performance.now() + BYPASS_MS;
      this.bypasses++;
      this.failures = 0;
      delay = BYPASS_MS;
      this.options.onBypass?.(`it exited ${FAILURES_TO_BYPASS} times in a row before it was ready or soon after; runtimes are spawned instead for ${BYPASS_MS / 1000} s, then it is started again`);
    }
    this.timer = setTimeout(() => this.start(), delay);
    this.timer.unref();
  }
}
