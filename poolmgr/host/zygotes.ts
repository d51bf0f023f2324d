/**
 * The zygotes of the local process host: one long-lived Python process per runtime preset
 * (runtime/fp_runtime/zygote.py) that forks generic runtimes instead of paying a fresh interpreter
 * each time. Decisions: docs/adr/0019-zygotes.md.
 *
 * A fork is two connections to the zygote's socket (in a 0700 directory of the platform's user):
 * `data` becomes the runtime's frame channel, `report` the keeper's (pid, stdout/stderr, exit:
 * runtime/fp_sandbox/forked.py). Each starts with one frame `{t: 'fork', id, role, box?}`.
 *
 * A zygote that dies is restarted; one that fails FAILURES_TO_BYPASS times in a row (died before
 * ready, or within STABLE_MS of it) is bypassed for BYPASS_MS: `ready()` says null and the host
 * spawns fresh interpreters, as without zygotes. Runtimes already forked do not depend on their
 * zygote: they live on when it dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeFrame, FrameDecoder } from '../../protocol/index.js';

/** The presets a zygote can preload (runtime/fp_runtime/zygote.py PRESETS). */
export const ZYGOTE_PRESETS = ['default', 'fastapi'] as const;
export type ZygotePreset = (typeof ZYGOTE_PRESETS)[number];

const FAILURES_TO_BYPASS = 3;
const STABLE_MS = 10_000;
const BYPASS_MS = 60_000;
const RESTART_MS = 100;

export interface ZygoteOptions {
  pythonPath: string;
  /** runtime/zygote.py */
  entry: string;
  preset: ZygotePreset;
  childEnv: Record<string, string>;
  /** Receives what the zygote itself writes (debug forwarding). */
  onOutput?: (text: string) => void;
}

/** The two channels of one forked runtime. */
export interface Forked {
  data: Socket;
  report: Socket;
}

interface Hello {
  t: 'zygote';
  pid: number;
  modules: string[];
  bootMs: number;
}

export class Zygote {
  private child: ChildProcess | null = null;
  private hello: Hello | null = null;
  private readyAt = 0;
  private failures = 0;
  private bypassedUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly dir: string;
  private readonly path: string;
  /** How often this zygote was (re)started, and forks it made (for tests and stats). */
  starts = 0;
  forks = 0;

  constructor(private readonly options: ZygoteOptions) {
    // 0700, the platform's user: nothing else (no function: boxes do not see the host's /tmp) reaches the socket.
    this.dir = mkdtempSync(join(tmpdir(), `fp-zygote-${options.preset}-`));
    this.path = join(this.dir, 'z.sock');
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
    return this.hello?.modules ?? [];
  }

  /** True when the zygote can fork now. */
  get ready(): boolean {
    return this.hello !== null && !this.closed;
  }

  /** True while a zygote that failed repeatedly is bypassed. */
  get bypassed(): boolean {
    return Date.now() < this.bypassedUntil;
  }

  /** Asks for a runtime `id` with the spawn-time box config (null: unsandboxed); null when not ready. */
  fork(id: string, box: Record<string, unknown> | null): Forked | null {
    if (this.hello === null || this.closed) return null;
    this.forks++;
    const open = (role: 'data' | 'report'): Socket => {
      const socket = connect(this.path);
      socket.write(encodeFrame(role === 'data' ? { t: 'fork', id, role, box } : { t: 'fork', id, role }));
      return socket;
    };
    return { report: open('report'), data: open('data') };
  }

  /** Resolves true once the zygote can fork, false after `timeoutMs` or when closed. */
  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.ready) return Promise.resolve(true);
    return new Promise((resolve) => {
      const deadline = Date.now() + timeoutMs;
      const poll = setInterval(() => {
        if (this.ready || this.closed || Date.now() >= deadline) {
          clearInterval(poll);
          resolve(this.ready);
        }
      }, 10);
    });
  }

  /** Ends the zygote (runtimes it forked live on until the host ends them); resolves once it is gone. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
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
    const { pythonPath, entry, preset, childEnv } = this.options;
    const child = spawn(pythonPath, ['-I', entry, '--fd', '3', '--preset', preset, '--listen', this.path],
      { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: childEnv });
    this.child = child;
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
          this.hello = { t: 'zygote', pid: m.pid, modules: Array.isArray(m.modules) ? m.modules : [], bootMs: m.bootMs };
          this.readyAt = Date.now();
        }
      }
    });
    child.on('error', () => {}); // a failed spawn also exits (code null): handled there
    child.on('exit', () => this.onExit(child));
  }

  private onExit(child: ChildProcess): void {
    if (this.child !== child) return;
    const wasReady = this.hello !== null;
    this.child = null;
    this.hello = null;
    if (this.closed) return;
    this.failures = wasReady && Date.now() - this.readyAt >= STABLE_MS ? 1 : this.failures + 1;
    let delay = RESTART_MS;
    if (this.failures >= FAILURES_TO_BYPASS) {
      this.bypassedUntil = Date.now() + BYPASS_MS;
      this.failures = 0;
      delay = BYPASS_MS;
    }
    this.timer = setTimeout(() => this.start(), delay);
    this.timer.unref();
  }
}
