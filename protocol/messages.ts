/**
 * Messages between the platform (host) and a Python runtime, version 2.
 * Every message is a msgpack map with `t` (type) and, except `hello` and `settled`, an integer `id` that a
 * reply repeats. The written description is docs/runtime-protocol.md; the Python side is
 * runtime/fp_runtime/main.py.
 */

/**
 * 2: `logs` messages stream a call's lines while it runs; `error` replies to `invoke` carry `handlerMs`.
 * 3: a response may go out before its call ends (`response`, `chunk`, `end`; the host's `ack` and `cancel`).
 * 4: `invoke` and `result` are fixed-position arrays, event query/headers flat lists (protocol/wire-arrays.ts, ADR 0057).
 * 5: WebSocket connections (`wsopen`, `wsin`; the runtime's `wsack`: docs/adr/0126-websockets.md).
 * 6: an `invoke` of an HTTP/1.0 request has a 16th element, its version (wire-arrays.ts INVOKE_HTTP_VERSION, ADR 0260).
 */
export const PROTOCOL_VERSION = 6;

/** Body bytes of one call sent by the runtime and not yet acknowledged by the host, at most (streaming.py). */
export const STREAM_WINDOW_BYTES = 256 * 1024;

/**
 * A WebSocket client's message bytes sent to its app and not taken by it yet, at most (beyond one
 * message), per connection; and at most WS_INBOUND_WINDOW_MESSAGES messages (uvicorn's `max_queue`).
 * Those wait in the runtime, in the function's memory: at 16 MiB a few connections to an app that
 * read rarely pushed a 128 MiB instance out of memory (red team round 30, ADR 0194). What a client
 * sends past it waits in the gateway (gateway/websocket.ts, WS_HELD_INBOUND_BYTES).
 */
export const WS_INBOUND_WINDOW_BYTES = 4 * 1024 * 1024;
export const WS_INBOUND_WINDOW_MESSAGES = 32;
/** The share of its memory limit an instance's WebSocket messages not taken yet may hold, all its connections together (beyond one message): a divisor. */
export const WS_INBOUND_MEMORY_DIVISOR = 8;

/**
 * What one client message counts in that window beyond its bytes: a message costs the gateway
 * ~200 bytes of its own (a copy, a frame, a write queued to the runtime) whatever its length, so
 * without it a flood of empty messages to an app that does not read held ~210 bytes each, up to
 * 16 Mi messages (~3.4 GB) per connection (red team, December 2026).
 */
export const WS_MESSAGE_COST_BYTES = 1024;

/** Closed list of failure classes, shared with the runtime (runtime/fp_runtime/errors.py). */
export const ErrorClass = {
  user: 'user_error', // the handler raised
  init: 'init_error', // import/syntax/entrypoint error while specializing
  timeout: 'timeout', // the call passed its deadline; the process was killed
  oom: 'out_of_memory', // the instance passed its memory limit
  crash: 'crash', // the process died or the connection broke mid-call
  badReturn: 'bad_return', // the handler returned something that is not a valid response
  protocol: 'protocol_error', // a malformed frame or message
  processLimit: 'process_limit', // the box refused a fork or thread at its task limit (host-side only)
} as const;
export type ErrorClass = (typeof ErrorClass)[keyof typeof ErrorClass];
export const ERROR_CLASSES: readonly ErrorClass[] = Object.values(ErrorClass);

export type Pairs = [string, string][];

/**
 * What a call needs of its caller's disconnect: whether it happened, and a listener while the call
 * waits. An AbortSignal is one; the gateway's requests are one too without creating an
 * AbortController per request (issue 11: that was ~4 % of the gateway's CPU under load).
 */
export interface Abortable {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: { handleEvent(): void }): void;
  removeEventListener(type: 'abort', listener: { handleEvent(): void }): void;
}

/**
 * Platform codes the runtime may name in a `user_error` it reports (WireError.code): the exception
 * came from the platform's side, not the function's code. Only the data binding's server being
 * down, seen in the exception's chain as the proxy's reply (`fpCode` in OperationFailure.details).
 */
export const RUNTIME_PLATFORM_CODES = ['DATA_BACKEND_UNAVAILABLE'] as const;
export type RuntimePlatformCode = (typeof RUNTIME_PLATFORM_CODES)[number];

/** A failure as the runtime reports it (user code errors carry the innermost user frame). */
export interface WireError {
  class: ErrorClass;
  /** A platform failure under the user's exception (RUNTIME_PLATFORM_CODES); the host reports that code, with no class. */
  code?: RuntimePlatformCode;
  type: string;
  message: string;
  stack?: string;
  file?: string;
  line?: number;
}

export interface LogLine {
  /** 'stdout' | 'stderr' | 'log' */
  stream: string;
  /** Unix time in milliseconds. */
  ts: number;
  msg: string;
  /** For `logging` records: the level name. */
  level?: string;
}

export interface FunctionSpec {
  name: string;
  version: string;
  /** Absolute directory holding the function's files; it becomes sys.path[0]. */
  dir: string;
  /** `module:attr`, e.g. `main:handler` or `app:app`. */
  entrypoint: string;
  env: Record<string, string>;
  /** Memory the function may use on top of the runtime's baseline; 0 = unlimited. */
  memoryBytes: number;
  timeoutMs: number;
  concurrency: number;
  /**
   * The version's dependency site directory on the host (docs/dependencies.md), absent when it
   * has none: put on sys.path after the standard library, before the runtime's site-packages.
   * A sandboxed runtime finds it at /deps instead (BoxSpec.depsDir).
   */
  depsDir?: string;
  /**
   * The directory holding the function's data binding socket on the host (docs/data-binding.md),
   * absent without a binding. A sandboxed runtime finds it at /run/fp-data (BoxSpec.dataDir).
   */
  dataDir?: string;
  /**
   * `lambda`: a handler(event, context) gets API Gateway's event, as Lambda gives it (manifest
   * `event: lambda`; docs/api-invoke.md). Absent: the platform's.
   */
  event?: 'lambda';
}

export interface WireEvent {
  method: string;
  path: string;
  /** Raw query string without `?`. */
  rawQuery: string;
  /** Repeated keys kept, in order. */
  query: Pairs;
  /** Header names lower-case, repeated headers kept. */
  headers: Pairs;
  body: Uint8Array;
  requestId: string;
  /** Where the function is mounted (e.g. `/fn/hello`, or `` at the root of its own host); ASGI apps get it as `root_path`. */
  rootPath?: string;
  /** `http` or `https` (from a trusted proxy); absent: http. ASGI `scheme`. */
  scheme?: 'http' | 'https';
  /** The client's address and port (port 0 when unknown); absent for calls from inside the platform. ASGI `client`. */
  client?: [string, number];
  /**
   * The request's HTTP version when it is not 1.1: `1.0` (gateway/http10.ts). ASGI `http_version`.
   * Written as the `invoke` array's optional last element (protocol v6, wire-arrays.ts
   * INVOKE_HTTP_VERSION): an HTTP/1.1 call's frame is the same as before.
   */
  httpVersion?: '1.0';
}

export interface WireContext {
  requestId: string;
  /** Milliseconds the call has left when the runtime receives it. */
  timeoutMs: number;
  attempt: number;
}

export interface WireResponse {
  status: number;
  headers: Pairs;
  body: Uint8Array;
  /**
   * Header values are bytes, one char each (an ASGI app's, with a byte past ASCII): written back
   * as those bytes (Latin-1), as uvicorn does. Without it, values are text, sent as UTF-8.
   */
  latin1?: boolean;
}

/**
 * One operation on the runtime's cgroup directories (paths inside the box, under /.fp/cg),
 * decided by the host (poolmgr/host/cgroups.ts) and carried out by a sandboxed runtime at
 * specialize, before the function's code runs (runtime/fp_sandbox/enter.py).
 */
export type CgroupOp =
  /**
   * Write `limit` = what `usage` reads now + `bytes` (a memory limit on top of what is charged),
   * and the same value to `alsoLimit` when given (the memory + swap limit, which may not be lower).
   */
  | { limit: string; usage: string; bytes: number; alsoLimit?: string }
  /**
   * Write files (path → value): the box's cgroup files, or `/proc/self/oom_score_adj` (the box's
   * OOM preference, raised for a workspace past half of the boxes' memory total: ADR 0209; a
   * failure to write that one is ignored).
   */
  | { write: Record<string, string> };

/** Resource limits a sandboxed runtime sets with hard = soft (names as in runtime/fp_sandbox/enter.py). */
export interface BoxRlimits {
  nofile?: number;
  nproc?: number;
  fsize?: number;
  core?: number;
}

/**
 * The function's box, sent with `specialize` to a sandboxed runtime (absent for an unsandboxed
 * one). Everything is decided by the host; docs/security.md describes the result.
 */
export interface BoxSpec {
  /** Index of the code root (the pool's codeRoots) holding the version's directory. */
  codeRoot: number;
  /** The version's directory relative to that root, `/`-separated, no `..`. */
  codeDir: string;
  /** The function's own uid and gid (root mode); ignored in a user namespace. */
  uid: number;
  gid: number;
  hostname: string;
  rlimits: BoxRlimits;
  cgroup: CgroupOp[];
  /** The dependency site directory relative to the deps root (`<lock>/site`), bound read-only at /deps; absent: none. */
  depsDir?: string;
  /** The data socket directory relative to the data root, bound read-only at /run/fp-data; absent: none. */
  dataDir?: string;
  /**
   * Bytes of the instance's writable layer over /code (root mode): /code is then an overlay of the
   * version's files (read-only, as they were deployed) and a tmpfs of this size private to the
   * instance, so an app can create files in its working directory (`sqlite:///app.db`), lost
   * with the instance. Absent: /code is a read-only bind.
   */
  workBytes?: number;
  /** A template's socket directory relative to the host's template root, bound read-only at /run/fp-tpl (docs/adr/0030-function-templates.md); absent: not a template. */
  templateDir?: string;
}

// host -> runtime
export type HostMessage =
  /** `template`: the runtime becomes the version's template (forks instances, serves no call: docs/adr/0030-function-templates.md). */
  /**
   * `initLimitMs`: how long the host waits for `specialized`; the load's lines stream under `id`
   * meanwhile, one saying where it is shortly before the limit (runtime/fp_runtime/loadwatch.py).
   */
  | { t: 'specialize'; id: number; fn: FunctionSpec; box?: BoxSpec; template?: true; initLimitMs?: number }
  /** To a template only: fork an instance, which connects to the template's socket and says hello with `nonce`. */
  | { t: 'fork'; id: number; nonce: string }
  | { t: 'invoke'; id: number; event: WireEvent; context: WireContext }
  | { t: 'health'; id: number }
  | { t: 'shutdown'; id: number }
  /**
   * To a generic runtime only: run the specialize path once on a throwaway module of its own, so the
   * pages a specialize writes are written before it comes (docs/adr/0114-specialize-pages-written-ahead.md).
   * Nothing is answered (a runtime older than the message answers `protocol_error`).
   */
  | { t: 'warm'; id: number }
  /** The client's connection took `bytes` more of call `id`'s streamed body: the runtime may send as many more. */
  | { t: 'ack'; id: number; bytes: number }
  /** The client of call `id` went away: its app's `receive` returns `http.disconnect`, its `send` raises. */
  | { t: 'cancel'; id: number }
  /**
   * A WebSocket connection as call `id` (an ASGI app's `websocket` scope; the invoke's map form):
   * docs/runtime-protocol.md, "WebSockets".
   */
  | { t: 'wsopen'; id: number; event: WireEvent; context: WireContext }
  /** A message of the WebSocket client of call `id` (its kind byte, then its payload), or its close. */
  | { t: 'wsin'; id: number; body: Uint8Array };

// runtime -> host
export type RuntimeMessage =
  /**
   * `nonce`: an instance forked from a template, on its template's socket (its `pid` is the one inside its box).
   * `early`: said before the runtime set itself up (ADR 0127); `settled` follows once it has.
   */
  | { t: 'hello'; v: number; pid: number; python: string; bootMs: number; nonce?: string; early?: boolean }
  /**
   * After an `early` hello: the runtime is set up (its descriptors closed, at-fork hooks run,
   * parent-death signal set) and reads its messages from now on. A death before it is the runtime's
   * (RUNTIME_UNAVAILABLE: the calls behind it try another), never the function's load.
   */
  | { t: 'settled' }
  /** `forked`: the instance was forked from a template and did not load the function itself. */
  /** `notForkable`: why its process could not be a template, found right after the import (ADR 0201). */
  | { t: 'specialized'; id: number; initMs: number; contract: 'handler' | 'asgi'; logs: LogLine[]; forked?: boolean; notForkable?: string }
  /** From a template: the child of fork `id` ended (or, `refused`, was never forked). */
  | { t: 'forkExit'; id: number; code: number | null; signal: string | null; refused?: boolean }
  /**
   * `error` (a `user_error`): an ASGI app raised after (or instead of) answering; `response` is its
   * answer (Starlette's 500) or the plain 500 uvicorn would send. The caller gets the response, the
   * run record the error (docs/runtime-protocol.md, "ASGI").
   */
  | { t: 'result'; id: number; response: WireResponse; error?: WireError; logs: LogLine[]; handlerMs: number }
  /** `handlerMs` is present on the reply to an `invoke` (absent for specialize and protocol errors). */
  | { t: 'error'; id: number; error: WireError; logs: LogLine[]; fatal: boolean; handlerMs?: number }
  /** Lines of the call `id`, still running, not sent before; its reply carries only the lines after them. */
  | { t: 'logs'; id: number; logs: LogLine[] }
  | { t: 'health'; id: number; ok: boolean; rssBytes: number; inflight: number }
  /**
   * The response of call `id`, still running: its head and first bytes. `more`: `chunk`s follow; else the
   * response is complete (the app goes on: background tasks). The call ends with `end` or `error`.
   */
  | { t: 'response'; id: number; response: WireResponse; more: boolean }
  /** The next bytes of a streamed response; `more: false` ends the body. */
  | { t: 'chunk'; id: number; body: Uint8Array; more: boolean }
  /** A call that sent `response` ended without an error. */
  | { t: 'end'; id: number; logs: LogLine[]; handlerMs: number }
  /** The app of WebSocket call `id` took `bytes` of its client's messages (`wsin` bodies): the host may send as many more. */
  | { t: 'wsack'; id: number; bytes: number };
