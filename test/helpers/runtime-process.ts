/**
 * Test helper: spawn a real Python runtime through the platform's own process host (so it runs
 * in the sandbox the platform uses: `FP_TEST_SANDBOX` = auto | root | userns | off, default
 * auto) and exchange protocol messages with it over its fd-3 socketpair.
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
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultPoolConfig, ProcessHost, resolveSandbox, type HostedRuntime, type PoolConfig } from '../../poolmgr/index.js';
import { encodeFrame, FrameDecoder } from '../../protocol/frames.js';
import type {
  BoxSpec, FunctionSpec, LogLine, RuntimeMessage, WireContext, WireEvent,
} from '../../protocol/messages.js';

/** Default deadline for one reply: a budget for a loaded CI box (not a speed target), short next to a hang. */
export const DEFAULT_WAIT_MS = 15_000;

export type Hello = Extract<RuntimeMessage, { t: 'hello' }>;
export type Specialized = Extract<RuntimeMessage, { t: 'specialized' }>;
export type Result = Extract<RuntimeMessage, { t: 'result' }>;
export type ErrorReply = Extract<RuntimeMessage, { t: 'error' }>;
export type HealthReply = Extract<RuntimeMessage, { t: 'health' }>;
export type LogsMessage = Extract<RuntimeMessage, { t: 'logs' }>;

/**
 * What `invoke` adds to a reply: `logs` becomes the call's whole log (the streamed batches, then
 * the reply's own lines, as the host puts them together); the wire's pieces stay readable.
 */
export interface Streamed {
  /** The `logs` messages of the call, in arrival order. */
  batches: LogLine[][];
  /** The lines the reply itself carried. */
  tail: LogLine[];
}

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
  await chmod(dir, 0o755); // a sandboxed function runs as its own uid: its code must be readable by others
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

/** The sandbox the runtime tests run in: FP_TEST_SANDBOX, else what the platform would pick. */
export function testSandbox(): PoolConfig['sandbox'] {
  const mode = process.env['FP_TEST_SANDBOX'];
  return mode === 'root' || mode === 'userns' || mode === 'off' ? mode : 'auto';
}

export class RuntimeHandle {
  readonly host: ProcessHost;
  readonly rt: HostedRuntime;
  readonly socket: Duplex;
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
  /** True once nothing more can be read: the process exited and its socket closed, or a bad frame arrived. */
  private gone = false;
  private exit: Exit | null = null;
  private socketEnded = false;
  private nextId = 1;
  private lastSpec: FunctionSpec | null = null;
  /** The box of the function this runtime was placed for (placed once, on the first specialize). */
  private box: BoxSpec | null | undefined = undefined;

  constructor(env: NodeJS.ProcessEnv, private readonly shared: SharedHost | null = null) {
    this.host = shared?.host ?? testHost(env, false, (_rt, stream, text) => this.output(stream, text));
    let settle!: (exit: Exit) => void;
    this.exited = new Promise((resolveExit) => { settle = resolveExit; });
    this.rt = this.host.spawn({
      onExit: (exit) => {
        this.exit = { code: exit.exitCode, signal: exit.signal };
        settle(this.exit);
        this.checkGone();
      },
    });
    shared?.handles.set(this.rt.id, this);
    this.socket = this.host.connect(this.rt);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // A write to a runtime that already exited is expected in some tests (EPIPE): keep it quiet.
    for (const event of ['end', 'close', 'error']) {
      this.socket.on(event, () => {
        this.socketEnded = true;
        this.checkGone();
      });
    }
  }

  /** @internal what the runtime wrote outside calls. */
  output(stream: 'stdout' | 'stderr', text: string): void {
    if (stream === 'stdout') this.stdout += text;
    else this.stderr += text;
  }

  /** The host pid of the runtime's box (its keeper). */
  get pid(): number {
    return this.rt.pid;
  }

  /** Once the process exited and its socket closed no frame can arrive: pending waits fail now. */
  private checkGone(): void {
    if (this.exit === null || !this.socketEnded || this.gone) return;
    this.gone = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(new Error(`runtime exited (${JSON.stringify(this.exit)}) before the reply; stderr: ${this.stderr.slice(-2000)}`));
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
      if (msg.t === 'settled') continue; // after an early hello: the host's own bookkeeping (RuntimeProcess.settled)
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

  /** The reply carrying `id` (a `logs` message is not a reply: it stays for `batches`). */
  reply(id: number, timeoutMs = DEFAULT_WAIT_MS): Promise<RuntimeMessage> {
    return this.waitFor((m) => 'id' in m && m.id === id && m.t !== 'logs', `reply to id ${id}`, timeoutMs);
  }

  /** Takes the `logs` messages received so far for call `id`, in arrival order. */
  batches(id: number): LogLine[][] {
    const out: LogLine[][] = [];
    for (let i = 0; i < this.inbox.length; i++) {
      const m = this.inbox[i]!;
      if (m.t === 'logs' && m.id === id) {
        out.push(m.logs);
        this.inbox.splice(i--, 1);
      }
    }
    return out;
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
    this.box ??= this.host.place(this.rt, { name: spec.name, version: spec.version, dir: spec.dir, memoryBytes: spec.memoryBytes, maxInstances: 1 });
    const id = this.id();
    const reply = await this.request(this.box === null ? { t: 'specialize', id, fn: spec } : { t: 'specialize', id, fn: spec, box: this.box }, timeoutMs);
    if (reply.t !== 'specialized' && reply.t !== 'error') {
      throw new Error(`unexpected reply to specialize: ${JSON.stringify(reply)}`);
    }
    // The load's lines stream under its id (a load that takes a while): written before the reply.
    const batches = this.batches(id);
    return batches.length === 0 ? reply : { ...reply, logs: [...batches.flat(), ...reply.logs] };
  }

  /** Like specializeRaw, but throws unless the reply is `specialized`. */
  async specialize(fn: Partial<FunctionSpec> & { dir: string }, timeoutMs = DEFAULT_WAIT_MS): Promise<Specialized> {
    const reply = await this.specializeRaw(fn, timeoutMs);
    if (reply.t !== 'specialized') {
      throw new Error(`specialize failed: ${JSON.stringify(reply.error)}\nlogs: ${JSON.stringify(reply.logs)}`);
    }
    return reply;
  }

  /**
   * Sends `invoke` (event and context filled with defaults) and returns the `result` or `error`,
   * its `logs` being the call's whole log (see Streamed).
   */
  async invoke(event: Partial<TestEvent> = {}, context: Partial<WireContext> = {},
    timeoutMs = DEFAULT_WAIT_MS): Promise<(Result | ErrorReply) & Streamed> {
    const ev = makeEvent(event);
    const ctx: WireContext = {
      requestId: ev.requestId,
      timeoutMs: this.lastSpec?.timeoutMs ?? 5_000,
      attempt: 1,
      ...context,
    };
    const id = this.id();
    let reply = await this.request({ t: 'invoke', id, event: ev, context: ctx }, timeoutMs);
    if (reply.t === 'response') reply = await this.gather(reply, timeoutMs);
    if (reply.t !== 'result' && reply.t !== 'error') {
      throw new Error(`unexpected reply to invoke: ${JSON.stringify(reply)}`);
    }
    // Batches are written before the reply, so all of them are in by now.
    const batches = this.batches(id);
    return { ...reply, logs: [...batches.flat(), ...reply.logs], batches, tail: reply.logs };
  }

  /**
   * A response sent before its call ended (protocol v3): its chunks (each acknowledged, so the
   * window never stalls it) and the call's end, as one `result` (or the `error` that ended it).
   */
  private async gather(first: Extract<RuntimeMessage, { t: 'response' }>, timeoutMs: number): Promise<RuntimeMessage> {
    const id = first.id;
    const pieces: Uint8Array[] = [first.response.body];
    this.send({ t: 'ack', id, bytes: first.response.body.byteLength });
    let more = first.more;
    for (;;) {
      const next = await this.reply(id, timeoutMs);
      if (next.t === 'chunk' && more) {
        pieces.push(next.body);
        more = next.more;
        this.send({ t: 'ack', id, bytes: next.body.byteLength });
        continue;
      }
      if (next.t === 'error') return next;
      if (next.t !== 'end' || more) throw new Error(`unexpected message in a streamed response: ${JSON.stringify(next)}`);
      return { t: 'result', id, response: { ...first.response, body: Buffer.concat(pieces) }, logs: next.logs, handlerMs: next.handlerMs };
    }
  }

  /** Like invoke, but throws unless the reply is a `result`. */
  async invokeOk(event: Partial<TestEvent> = {}, context: Partial<WireContext> = {},
    timeoutMs = DEFAULT_WAIT_MS): Promise<Result & Streamed> {
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

  /** Kills the process (SIGKILL) if it is still running, waits for it to go, and closes its host. */
  async kill(): Promise<void> {
    if (this.exit === null) this.host.signal(this.rt, 'SIGKILL');
    await this.exited;
    this.socket.destroy();
    if (this.shared === null) await this.host.close();
    else this.shared.handles.delete(this.rt.id);
  }

  /** Sends a signal to the runtime's box (SIGKILL ends it). */
  signal(sig: 'SIGKILL' | 'SIGTERM'): void {
    this.host.signal(this.rt, sig);
  }
}

/** Spawns a runtime and waits for its `hello`. */
/**
 * With `FP_TEST_ZYGOTES=1`, runtimes with the default environment are forked by the zygote of one
 * host shared by the test file (docs/adr/0019-zygotes.md), so the whole runtime suite runs against
 * forked runtimes; a runtime given its own `env` is spawned (a zygote's children share its environment).
 */
interface SharedHost {
  host: ProcessHost;
  handles: Map<string, RuntimeHandle>;
}
let shared: Promise<SharedHost> | null = null;

function testHost(env: NodeJS.ProcessEnv, zygotes: boolean, onOutput: NonNullable<ConstructorParameters<typeof ProcessHost>[0]['onOutput']>): ProcessHost {
  const root = repoRoot();
  const defaults = defaultPoolConfig({ sandbox: testSandbox(), codeRoots: [tmpdir()] });
  return new ProcessHost({
    ...defaults,
    pythonPath: join(root, '.venv', 'bin', 'python'),
    runtimeEntry: join(root, 'runtime', 'bootstrap.py'),
    childEnv: env as Record<string, string>,
    debug: false,
    sandbox: resolveSandbox(defaults.sandbox),
    zygotes,
    onOutput,
  });
}

async function sharedHost(): Promise<SharedHost> {
  shared ??= (async () => {
    const handles = new Map<string, RuntimeHandle>();
    const host = testHost(defaultEnv(), true, (rt, stream, text) => handles.get(rt.id)?.output(stream, text));
    if (!await host.zygotesReady(60_000)) throw new Error('FP_TEST_ZYGOTES=1 but the zygote did not start');
    return { host, handles };
  })();
  return shared;
}

function defaultEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' };
}

export async function startRuntime(options: StartOptions = {}): Promise<RuntimeHandle> {
  const env = options.env ?? defaultEnv();
  const forked = options.env === undefined && process.env['FP_TEST_ZYGOTES'] === '1';
  const rt = new RuntimeHandle(env, forked ? await sharedHost() : null);
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
