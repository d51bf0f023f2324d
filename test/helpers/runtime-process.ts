/**
 * Test helper: spawn a real Python runtime (`.venv/bin/python -I runtime/bootstrap.py --fd 3`)
 * and exchange protocol messages with it over its fd-3 socketpair.
 *
 * Every wait has a deadline, so a runtime that hangs fails the test fast instead of stalling
 * the suite. Register `rt.kill()` with `t.after` on the line after `startRuntime`.
 *
 *   const rt = await startRuntime();
 *   t.after(() => rt.kill());
 *   const dir = await writeFunction({ 'main.py': 'def handler(event, context):\n    return "hi"\n' });
 *   await rt.specialize({ dir });
 *   const reply = await rt.invoke({ path: '/x' });
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeFrame, FrameDecoder } from '../../protocol/frames.js';
import type {
  FunctionSpec, RuntimeMessage, WireContext, WireEvent,
} from '../../protocol/messages.js';

/** Default deadline for one reply; generous for a loaded CI box, short next to a hang. */
export const DEFAULT_WAIT_MS = 5_000;

export type Hello = Extract<RuntimeMessage, { t: 'hello' }>;
export type Specialized = Extract<RuntimeMessage, { t: 'specialized' }>;
export type Result = Extract<RuntimeMessage, { t: 'result' }>;
export type ErrorReply = Extract<RuntimeMessage, { t: 'error' }>;
export type HealthReply = Extract<RuntimeMessage, { t: 'health' }>;

/** The event as the host sends it; `rootPath` is optional on the wire (ASGI mount point). */
export type TestEvent = WireEvent & { rootPath?: string };

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The repository root: the nearest ancestor (of this file, then of the cwd) holding runtime/bootstrap.py. */
export function repoRoot(): string {
  for (const start of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    let dir = start;
    for (;;) {
      if (existsSync(join(dir, 'runtime', 'bootstrap.py'))) return dir;
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  throw new Error('cannot find the repository root (runtime/bootstrap.py)');
}

/** Writes `files` (relative path → content) into a fresh temp dir and returns its absolute path. */
export async function writeFunction(files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fp-rt-fn-'));
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
  return dir;
}

/** Removes a directory made by writeFunction (for t.after). */
export async function removeFunction(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

let nextRequest = 0;

/** A full wire event with defaults; fields given override them. */
export function makeEvent(partial: Partial<TestEvent> = {}): TestEvent {
  return {
    method: 'GET',
    path: '/',
    rawQuery: '',
    query: [],
    headers: [],
    body: new Uint8Array(0),
    requestId: `req-${process.pid}-${++nextRequest}`,
    ...partial,
  };
}

export interface StartOptions {
  /** Environment of the Python process; defaults to a minimal one (PATH, LANG). */
  env?: NodeJS.ProcessEnv;
  /** Deadline for `hello`. */
  helloTimeoutMs?: number;
}

export class RuntimeHandle {
  readonly child: ChildProcess;
  readonly socket: Socket;
  hello!: Hello;
  /** Everything the process wrote to stdout/stderr (outside captured invocations). */
  stdout = '';
  stderr = '';
  /** Set if the runtime sent bytes the host decoder rejects. */
  decodeError: Error | null = null;
  readonly exited: Promise<Exit>;

  private readonly decoder = new FrameDecoder();
  private readonly inbox: RuntimeMessage[] = [];
  private waiters: {
    match: (m: RuntimeMessage) => boolean;
    resolve: (m: RuntimeMessage) => void;
    reject: (err: Error) => void;
  }[] = [];
  /** True once nothing more can be read: the process and its stdio closed, or a bad frame arrived. */
  private gone = false;
  private exit: Exit | null = null;
  private socketEnded = false;
  private nextId = 1;
  private lastSpec: FunctionSpec | null = null;

  constructor(env: NodeJS.ProcessEnv) {
    const root = repoRoot();
    this.child = spawn(join(root, '.venv', 'bin', 'python'), ['-I', join(root, 'runtime', 'bootstrap.py'), '--fd', '3'], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env,
    });
    // libuv makes extra stdio pipes as Unix socketpairs, so fd 3 is a net.Socket at run time.
    this.socket = this.child.stdio[3] as unknown as Socket;
    this.child.stdout!.setEncoding('utf8').on('data', (s: string) => { this.stdout += s; });
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => { this.stderr += s; });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('end', () => { this.socketEnded = true; });
    this.socket.on('close', () => { this.socketEnded = true; });
    // A write to a runtime that already exited is expected in some tests (EPIPE): keep it quiet.
    this.socket.on('error', () => { this.socketEnded = true; });
    this.exited = new Promise((resolveExit) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolveExit(this.exit);
      });
      // 'close' comes after every stdio stream (fd 3 too) has ended: no frame can arrive later,
      // so a wait still pending can fail now instead of at its deadline.
      this.child.once('close', () => {
        this.gone = true;
        const waiters = this.waiters;
        this.waiters = [];
        for (const w of waiters) w.reject(new Error(`runtime exited (${JSON.stringify(this.exit)}) before the reply; stderr: ${this.stderr.slice(-2000)}`));
      });
      this.child.once('error', () => {
        this.exit = { code: null, signal: null };
        resolveExit(this.exit);
      });
    });
  }

  /** The exit status, or null while the process is alive. */
  get exitStatus(): Exit | null {
    return this.exit;
  }

  private onData(chunk: Buffer): void {
    let messages: unknown[];
    try {
      messages = this.decoder.push(chunk);
    } catch (err) {
      // The stream cannot be read past a bad frame: fail every wait now rather than at its deadline.
      this.decodeError = err as Error;
      this.gone = true;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w.reject(new Error(`undecodable frame from the runtime: ${this.decodeError.message}`));
      return;
    }
    for (const raw of messages) {
      const msg = raw as RuntimeMessage;
      const i = this.waiters.findIndex((w) => w.match(msg));
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        w!.resolve(msg);
      } else {
        this.inbox.push(msg);
      }
    }
  }

  /** A fresh message id. */
  id(): number {
    return this.nextId++;
  }

  /** Sends one message as a frame. */
  send(message: unknown): void {
    this.socket.write(encodeFrame(message));
  }

  /** Writes raw bytes to the socket (malformed-frame tests). */
  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The first message (already received or still to come) that `match` accepts. */
  waitFor(match: (m: RuntimeMessage) => boolean, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<RuntimeMessage> {
    const i = this.inbox.findIndex(match);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]!);
    if (this.gone) return Promise.reject(new Error(`no ${what}: runtime gone (exit ${JSON.stringify(this.exit)}, decodeError: ${this.decodeError?.message ?? 'none'})`));
    return new Promise((resolveMsg, reject) => {
      const waiter = {
        match,
        resolve: (m: RuntimeMessage) => {
          clearTimeout(timer);
          resolveMsg(m);
        },
        reject: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no ${what} within ${timeoutMs} ms (exit: ${JSON.stringify(this.exit)}, ` +
          `decodeError: ${this.decodeError?.message ?? 'none'}, stderr: ${this.stderr.slice(-2000)})`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The reply carrying `id`. */
  reply(id: number, timeoutMs = DEFAULT_WAIT_MS): Promise<RuntimeMessage> {
    return this.waitFor((m) => 'id' in m && m.id === id, `reply to id ${id}`, timeoutMs);
  }

  /** Sends `message` with a fresh id (unless it has one) and waits for the reply with that id. */
  async request(message: Record<string, unknown>, timeoutMs = DEFAULT_WAIT_MS): Promise<RuntimeMessage> {
    const id = typeof message.id === 'number' ? message.id : this.id();
    this.send({ ...message, id });
    return this.reply(id, timeoutMs);
  }

  /** Messages received and not yet claimed by a wait. */
  unclaimed(): readonly RuntimeMessage[] {
    return this.inbox;
  }

  /** Sends `specialize` with defaults for every field not given; returns the reply. */
  async specializeRaw(fn: Partial<FunctionSpec> & { dir: string }, timeoutMs = DEFAULT_WAIT_MS): Promise<Specialized | ErrorReply> {
    const spec: FunctionSpec = {
      name: 'fn-test',
      version: '1',
      entrypoint: 'main:handler',
      env: {},
      memoryBytes: 0,
      timeoutMs: 5_000,
      concurrency: 1,
      ...fn,
    };
    this.lastSpec = spec;
    const reply = await this.request({ t: 'specialize', fn: spec }, timeoutMs);
    if (reply.t !== 'specialized' && reply.t !== 'error') {
      throw new Error(`unexpected reply to specialize: ${JSON.stringify(reply)}`);
    }
    return reply;
  }

  /** Like specializeRaw, but throws unless the reply is `specialized`. */
  async specialize(fn: Partial<FunctionSpec> & { dir: string }, timeoutMs = DEFAULT_WAIT_MS): Promise<Specialized> {
    const reply = await this.specializeRaw(fn, timeoutMs);
    if (reply.t !== 'specialized') {
      throw new Error(`specialize failed: ${JSON.stringify(reply.error)}\nlogs: ${JSON.stringify(reply.logs)}`);
    }
    return reply;
  }

  /** Sends `invoke` (event and context filled with defaults) and returns the `result` or `error`. */
  async invoke(event: Partial<TestEvent> = {}, context: Partial<WireContext> = {},
    timeoutMs = DEFAULT_WAIT_MS): Promise<Result | ErrorReply> {
    const ev = makeEvent(event);
    const ctx: WireContext = {
      requestId: ev.requestId,
      timeoutMs: this.lastSpec?.timeoutMs ?? 5_000,
      attempt: 1,
      ...context,
    };
    const reply = await this.request({ t: 'invoke', event: ev, context: ctx }, timeoutMs);
    if (reply.t !== 'result' && reply.t !== 'error') {
      throw new Error(`unexpected reply to invoke: ${JSON.stringify(reply)}`);
    }
    return reply;
  }

  /** Like invoke, but throws unless the reply is a `result`. */
  async invokeOk(event: Partial<TestEvent> = {}, context: Partial<WireContext> = {},
    timeoutMs = DEFAULT_WAIT_MS): Promise<Result> {
    const reply = await this.invoke(event, context, timeoutMs);
    if (reply.t !== 'result') {
      throw new Error(`invoke failed: ${JSON.stringify(reply.error)}\nlogs: ${JSON.stringify(reply.logs)}`);
    }
    return reply;
  }

  async health(timeoutMs = DEFAULT_WAIT_MS): Promise<HealthReply> {
    const reply = await this.request({ t: 'health' }, timeoutMs);
    if (reply.t !== 'health') throw new Error(`unexpected reply to health: ${JSON.stringify(reply)}`);
    return reply;
  }

  /** Resolves with the exit status; rejects if the process is still alive after `timeoutMs`. */
  waitExit(timeoutMs = DEFAULT_WAIT_MS): Promise<Exit> {
    return new Promise((resolveExit, reject) => {
      const timer = setTimeout(() => reject(new Error(`runtime still alive after ${timeoutMs} ms`)), timeoutMs);
      void this.exited.then((e) => {
        clearTimeout(timer);
        resolveExit(e);
      });
    });
  }

  /** True once the runtime closed its end of the socket. */
  get closed(): boolean {
    return this.socketEnded;
  }

  /** Kills the process (SIGKILL) if it is still running and waits for it to go. */
  async kill(): Promise<void> {
    if (this.exit === null) this.child.kill('SIGKILL');
    await this.exited;
    this.socket.destroy();
  }
}

/** Spawns a runtime and waits for its `hello`. */
export async function startRuntime(options: StartOptions = {}): Promise<RuntimeHandle> {
  const env = options.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' };
  const rt = new RuntimeHandle(env);
  try {
    rt.hello = await rt.waitFor((m) => m.t === 'hello', 'hello', options.helloTimeoutMs ?? DEFAULT_WAIT_MS) as Hello;
  } catch (err) {
    await rt.kill();
    throw err;
  }
  return rt;
}

/** Absolute path of a file inside the repository (e.g. the venv's python). */
export function repoPath(...parts: string[]): string {
  return resolve(repoRoot(), ...parts);
}

/** The response body of a `result` as UTF-8 text. */
export function bodyText(result: Result): string {
  return Buffer.from(result.response.body).toString('utf8');
}

/** The response body of a `result` parsed as JSON. */
export function bodyJson(result: Result): unknown {
  return JSON.parse(bodyText(result));
}

/** Every value of response header `name` (lower-case), in order. */
export function headerValues(result: Result, name: string): string[] {
  return result.response.headers.filter(([k]) => k === name).map(([, v]) => v);
}

/** Python source from lines, so test functions read as code (no leading indentation). */
export function py(...lines: string[]): string {
  return lines.join('\n') + '\n';
}
