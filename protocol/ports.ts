/**
 * Port types that several services share: the control plane implements what the gateway calls
 * (the function registry, the mounted API, the run sink, the async intake, webhooks) and calls
 * what the gateway offers (the in-process invoke). They live here, in the one module every
 * service imports, so no service imports another's types (docs/architecture.md).
 */
import type { ErrorCode, PlatformError } from './errors.js';
import type { InvocationMode } from './manifest.js';
import type { ErrorClass, FunctionSpec, LogLine, Pairs } from './messages.js';
import type { RunRecord, RunTrigger } from './records.js';

/** One deployable function version plus the limits the pool enforces for it. */
export interface FunctionVersion extends FunctionSpec {
  /** Upper bound on instances of this version (default 10). */
  maxInstances: number;
  /** Instances kept specialized even when idle (default 0 = scale to zero). */
  minWarm: number;
  /** Calls that may wait for a free slot before FUNCTION_BUSY (default 100). */
  maxQueue: number;
  /**
   * What callers see of the function's own failures (manifest `errors`): `generic` (absent: the
   * default) the code and a generic message; `verbose` the message, type, file and line too.
   */
  errors?: ErrorDetail;
  /**
   * The function's `createdAt`: which function of its name this version is of (its incarnation,
   * ADR 0190). Set by the control plane's registry, absent from a functions directory's. A run is
   * recorded for the incarnation that served it, whatever the wall clock did since (ADR 0219).
   */
  incarnation?: number;
  /**
   * The values of `env` that are the function's secrets, by name (set by the control plane's
   * registry): the pool masks them in the function's log lines and errors (./secret-mask.ts).
   */
  secrets?: Readonly<Record<string, string>>;
}

/** The manifest's `errors` key (docs/api-invoke.md, "Errors"). */
export type ErrorDetail = 'generic' | 'verbose';

/**
 * What a token check says: the right token; an unknown one; a real token that may not call this
 * function (another function's invoke token); an expired one; a workspace token of the function's
 * workspace whose role is below `invoker`; a workspace token of another workspace (answered as if
 * the function did not exist: no tenant learns another's functions).
 */
export type TokenVerdict = 'ok' | 'invalid' | 'expired' | 'role' | 'elsewhere';

/** How a `token`-mode function checks the bearer secret of a call. Runs on the hot path: no I/O. */
export interface InvokeAuth {
  check(secret: string): TokenVerdict;
}

/**
 * What the gateway needs to know about a name, in the order it checks: does the function exist,
 * does it need a token, is it paused, which version serves it.
 */
export type Resolution =
  | { readonly found: false }
  | {
      readonly found: true;
      /** The active version; null when none is deployed yet. */
      readonly fn: FunctionVersion | null;
      readonly paused: boolean;
      /** null: public. */
      readonly auth: InvokeAuth | null;
      /** Which public routes take its calls (`/fn/`: sync, `/async/`: async); absent: both. docs/adr/0046-invocation-mode.md. */
      readonly invocation?: InvocationMode;
      /**
       * The function's rate limit and its workspace's call quota, checked at admission; null (or
       * absent) when neither applies, so an unlimited function pays nothing.
       */
      readonly limit?: CallLimit | null;
    };

/**
 * Admission limits of one function (docs/adr/0011-tenants.md): its token bucket (`limits.rate`) and
 * its workspace's `invocationsPerMinute`, taken together (both or neither). Null: admitted; else the
 * refusal (RATE_LIMITED, QUOTA_EXCEEDED, with `retryAfterS`). Synchronous when nothing needs I/O
 * (no limit, or the embedded limiter); a promise when the limiter is shared (Redis).
 */
export interface CallLimit {
  admit(): PlatformError | null | Promise<PlatformError | null>;
}

export interface FunctionRegistry {
  /** Called for every invocation: a map lookup, never I/O. */
  resolve(name: string): Resolution;
  /** The functions that have a version to serve (for /readyz). */
  list(): FunctionVersion[];
  /**
   * For a call that `resolve` would refuse (no such function, or none deployed): another process
   * may have created or deployed it a moment ago, not yet heard here (production). Reads that one
   * function from the store, bounded (controlplane/service/catch-up.ts); the caller then resolves
   * again. Null when no read is made (one process, or a bound was reached): answer what is held.
   */
  catchUp?(name: string): Promise<void> | null;
}

export interface PlainRequest {
  /** Upper-case. */
  readonly method: string;
  /** The raw (still percent-encoded) path, without the query. */
  readonly path: string;
  /** The raw query string without `?`. */
  readonly query: string;
  /** Lower-case names, repeats kept. */
  readonly headers: Pairs;
  /** Read the body (at most `bodyLimit(method, path)` bytes); PlatformError PAYLOAD_TOO_LARGE past it. */
  body(): Promise<Uint8Array>;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  /** The peer's IP address as the socket reports it (what the audit log records as "from where"). */
  readonly remoteAddress: string;
}

/**
 * A header on every answer of the control plane's API, `FP-API: v1` (docs/api.md): a client told by
 * it that the server at its URL is a fastapi-platform, not another service answering JSON there.
 */
export const API_IDENTITY_HEADER = 'fp-api';

export interface PlainResponse {
  status: number;
  headers: Pairs;
  body?: Uint8Array | string;
  /** A body written over time (Server-Sent Events) instead of `body`. */
  stream?: ResponseStream;
  closeConnection?: boolean;
  /**
   * The share of the server's budget of answers waiting for their clients this one counts in (the
   * caller's workspace), so one tenant's unread answers hold at most a quarter of it (docs/gateway.md,
   * "Slow clients").
   */
  heldShare?: string;
}

/** The share of an API answer's workspace (`heldShare`); a function's answer counts in its key's. */
export const WORKSPACE_SHARE_PREFIX = 'workspace:';

/**
 * A response body written over time (Server-Sent Events). The server sends the status and headers,
 * then calls `start` once with a sink. Bounded by construction: after `write` returns false the
 * writer waits for `onDrain`, so the server holds at most what one write gave it per connection.
 * A stream does not hold up a graceful shutdown: the server ends it after the calls in flight.
 */
export interface ResponseStream {
  start(sink: StreamSink): void;
  /** Called instead of `start` when the server will not stream it (a HEAD request, the client already gone). */
  cancel?(): void;
  /**
   * The body of a call (a function's streamed response): it counts as in flight until it ends, so
   * a graceful stop waits for it, and the server drops its connection (never ends it as if
   * complete) when it closes everything.
   */
  holdsCall?: boolean;
}

export interface StreamSink {
  /** Sends `chunk`; false when the connection is backed up (the chunk is kept): wait for `onDrain`. */
  write(chunk: string | Uint8Array): boolean;
  /** Drops the connection: the body will never be complete, the client must not take it for whole (idempotent). */
  abort(): void;
  /** `cb` runs once, when the connection can take more after a `write` returned false. */
  onDrain(cb: () => void): void;
  /**
   * With it, a true `write` means the chunk was taken, not yet written: `cb(bytes)` says when the
   * server wrote bytes it answered true for (a writer that holds a turn's small chunks for one
   * write: gateway/uws-stream-writer.ts). Without it, a true `write` wrote the chunk.
   */
  onTaken?(cb: (bytes: number) => void): void;
  /** Ends the response (idempotent). */
  end(): void;
  /** Aborted once the client went away, the response ended, or the server closed it. */
  readonly closed: AbortSignal;
}

export interface MountedApi {
  /** The body limit of one request; called synchronously when the request arrives. */
  bodyLimit(method: string, path: string): number;
  /** Never meant to reject; if it does, the gateway answers 500 INTERNAL_ERROR. */
  handle(req: PlainRequest): Promise<PlainResponse>;
}

/** One declared webhook trigger, as found for a request. */
/** A webhook delivery refused at its signature: the 401's code; `detail` says a header of the wrong shape (`malformed`) or sent twice (`repeated`). */
export interface HookRefusal {
  code: ErrorCode;
  detail?: 'malformed' | 'repeated';
}

export interface FoundHook {
  sync: boolean;
  /** Where the delivery calls the app: the trigger's `path` (default `/`), as received (percent-escapes kept). */
  path?: string;
  /** Whose signature scheme it checks: github (X-Hub-Signature-256) or stripe (Stripe-Signature); named in a refusal. */
  style?: 'github' | 'stripe';
  /**
   * Null when the signature is good (and, Stripe style, the delivery new: it is recorded now);
   * else the 401 code, with `detail` when the header was refused for its shape before any secret
   * was tried. Throws PlatformError TRIGGER_UNAVAILABLE when the replay guard is down.
   */
  verify(headers: Pairs, body: Uint8Array): Promise<HookRefusal | null>;
  /**
   * A verified delivery that was then not accepted (429, 503, its run not queued): forgets what
   * `verify` recorded, so the sender's retry of the same delivery is not refused as a replay.
   * Never rejects.
   */
  release(): Promise<void>;
}

/** Where the gateway finds webhook triggers and queues their runs (the control plane). */
export interface Webhooks {
  /** Null: the function's active version declares no webhook trigger with this id. */
  find(name: string, triggerId: string): Promise<FoundHook | null>;
  /** Durably queues the call as a run with trigger `webhook`; rejects like AsyncIntake.submit. */
  submit(name: string, triggerId: string, call: AsyncCall): Promise<{ runId: string }>;
}

/**
 * Something the process depends on that is not as it must be, shown by `/readyz` (which then
 * answers 503 `not_ready`); e.g. a Redis that does not persist the async queue.
 */
export interface ReadinessProblem {
  code: ErrorCode;
  /** For operators: what is wrong and what fixes it. */
  message: string;
  /**
   * The process still serves invocations; a part of the platform fails (async intake while Redis
   * refuses writes). Listed in /readyz's `problems`, which stays 200 (`status: "degraded"`).
   */
  degraded?: boolean;
}

/** Where run records go. `record` must not block; implementations buffer their own I/O. */
export interface RunSink {
  /** `incarnation`: that of the function version that served the run (FunctionVersion.incarnation), when it has one. */
  record(run: RunRecord, incarnation?: number): void;
  /**
   * Optional: records the sink itself lost since it started, by reason (e.g. a full buffer
   * while its store was down). Read at scrape time into `fp_runs_dropped_total{reason}`.
   */
  dropped?(): Readonly<Record<string, number>>;
}

/** A request from inside the process (already read: the body is bytes). */
export interface DirectRequest {
  method: string;
  /** The function's path, starting with `/`. */
  path: string;
  rawQuery: string;
  /** Lower-case names. */
  headers: Pairs;
  body: Uint8Array;
  /** Aborting it takes a queued call out of the queue. */
  signal?: AbortSignal;
  /** Which attempt of an async run this is (`context.attempt`); 1 when left out. */
  attempt?: number;
  /**
   * The run id: an async run's own id, the same on every attempt (the handler's `requestId`);
   * a fresh one when left out.
   */
  runId?: string;
  /**
   * The most of the answer's body the result keeps (default: all of it, up to the frame limit).
   * A longer body is read to its end and dropped: the result has none, and its size in
   * `x-fp-result-omitted` (protocol/run-result.ts). The test invoke keeps 6 MiB (red team 10).
   */
  keepBodyBytes?: number;
  /** Where the request came from (an async run's, kept from its acceptance); none: the app is told no client. */
  origin?: CallOrigin;
  /** `'1.0'`: the request was HTTP/1.0 (an async run's, kept from its acceptance; WireEvent.httpVersion); absent: HTTP/1.1. */
  httpVersion?: '1.0';
}

/**
 * Where a request came from, as the gateway's edge saw it at acceptance (gateway/peer.ts
 * clientView): the client and scheme a trusted proxy reported, else the peer over http, and the
 * path prefix that proxy stripped. A queued run gives it to the app on every attempt, as `/fn/` does.
 */
export interface CallOrigin {
  client: [string, number];
  scheme: 'http' | 'https';
  /** `X-Forwarded-Prefix` from a trusted proxy, `` when none: it goes before root_path. */
  prefix: string;
}

/** A call as the async queue keeps it, to be replayed as the same request by each attempt. */
export interface AsyncCall {
  method: string;
  /** The function's path, starting with `/`. */
  path: string;
  rawQuery: string;
  /** Lower-case names; without the invoke token (and, behind a trusted proxy, without the forwarding headers it consumed). */
  headers: Pairs;
  body: Uint8Array;
  /** Where it came from (absent in jobs an older platform queued). */
  origin?: CallOrigin;
  /** `'1.0'`: the client sent HTTP/1.0 (its scope says so on every attempt, ADR 0260); absent: HTTP/1.1, and in jobs an older platform queued. */
  httpVersion?: '1.0';
}

/** Where `/async/<name>` hands accepted calls (the control plane's async runs). */
export interface AsyncIntake {
  /**
   * Resolves once the run is durably queued (or, for a repeated idempotency key, with the first
   * run). Rejects with PlatformError ASYNC_QUEUE_UNAVAILABLE when nothing could be queued, and
   * IDEMPOTENCY_KEY_REUSED when the key was sent before with a different request.
   */
  submit(name: string, call: AsyncCall, idempotencyKey: string | null): Promise<{ runId: string; created: boolean }>;
}

/** A failure as a direct caller sees it: what an HTTP client would see in the error body. */
export interface DirectError {
  code: ErrorCode;
  message: string;
  type?: string;
  file?: string;
  line?: number;
}

export interface DirectResult {
  runId: string;
  /** The HTTP status the gateway would have answered. */
  status: number;
  headers: Pairs;
  body: Uint8Array;
  cold: boolean;
  /** From the call's arrival to its response, as the run record says. */
  durationMs: number;
  /** Specialization (0 when warm), the handler as the runtime measured it, the wait for a slot. */
  initMs: number;
  handlerMs: number;
  queuedMs: number;
  error: DirectError | null;
  /** The runtime's failure class (`user_error`, `timeout`…), null on success or when nothing ran. */
  errorClass: ErrorClass | null;
}

/** The pool verbs the control plane needs (poolmgr's PoolManager has them). */
export interface PoolDrain {
  /** Instances of `name` at versions other than `keepVersion` (all, without it) finish their calls and shut down. */
  drain(name: string, keepVersion?: string): void;
  /**
   * `name` was paused (`FUNCTION_PAUSED`) or deleted (`FUNCTION_NOT_FOUND`): its open WebSocket
   * connections end now, closed 1001 (docs/adr/0126-websockets.md), instead of at its timeout. Optional.
   */
  endConnections?(name: string, code: 'FUNCTION_PAUSED' | 'FUNCTION_NOT_FOUND'): void;
  /** `name` was deleted: what the pool counts per name (its scale-to-zero events) goes. Optional. */
  forget?(name: string): void;
  /** Readies a version's directory for fast cold starts (bytecode compiled ahead); never rejects. */
  prepare(dir: string): Promise<boolean>;
  /**
   * A version is about to take calls (deployed, or active at start): the pool gets ready for its
   * first cold start (the zygote of its runtime preset starts); resolves once it is, or after a
   * bound (never rejects). `bound`: the version has a data binding (its preset: poolmgr/preset.ts). Optional.
   */
  expect?(dir: string, entrypoint: string, bound?: boolean): Promise<void>;
  /**
   * Starts an instance of `fn` (not yet deployed) and reports whether its code loaded: the start
   * check a deploy makes before it switches (docs/adr/0084-deploy-start-check.md). The instance
   * is stopped after the check when no call took it meanwhile. Never rejects. Optional.
   */
  tryStart?(fn: FunctionVersion): Promise<StartCheck>;
  /**
   * Whether a version's code directory is in use: a process runs from it (an instance, draining or
   * not, or a template) or calls wait for its version. Optional: without it, no directory of a
   * version that is no longer active is removed.
   */
  holdsDir?(dir: string): boolean;
  /**
   * The version callers get now has a `minWarm`: its instances are started up to it at once (in
   * free places) and kept. Optional: without it minWarm only keeps instances calls started.
   */
  keepWarm?(fn: FunctionVersion): void;
  /**
   * Instances per `name@version` (for the warm counts in usage), and scale-to-zero events by
   * function key since the pool started (monotonic; the cold-start view counts them).
   */
  stats(): { functions: Record<string, { name: string; warm: number; specializing?: number; busy: number }>; scaledToZero?: Record<string, number> };
  /**
   * The most instances the functions of one workspace may have at once in this process (the
   * workspace's `instances` quota); null: no cap but the platform's. Applies from the next lease.
   */
  setWorkspaceInstances(workspace: string, max: number | null): void;
  /** Instances of one workspace's functions in this process now (taking calls or starting). */
  workspaceInstances(workspace: string): number;
}

/** What a start check found (PoolDrain.tryStart). */
export type StartCheck =
  /** `noTemplate`: why the version will scale out by importing its module in each instance (ADR 0201). */
  | { outcome: 'started'; initMs: number; logs: LogLine[]; noTemplate?: string }
  | { outcome: 'failed'; initMs: number; logs: LogLine[]; error: { code: ErrorCode; type: string; message: string; stack?: string; file?: string; line?: number } }
  /** Nothing was started: `reason` says why (no instance place free, the pool shutting down). */
  | { outcome: 'skipped'; reason: string };

/** The gateway's in-process invoke (the control plane's test invoke and async attempts call it). */
export interface Invoker {
  invoke(name: string, request: DirectRequest, trigger: RunTrigger): Promise<DirectResult>;
  /**
   * The admission `/fn` and `/async` apply before a call, for one made through the API (a test
   * invoke, sync or queued): the function servable, its rate limit and its workspace's
   * `invocationsPerMinute` (the call is counted). Null: admitted (an unknown function too: the
   * caller answers that); else the refusal (RATE_LIMITED, QUOTA_EXCEEDED, FUNCTION_PAUSED, …).
   */
  admit(name: string): PlatformError | null | Promise<PlatformError | null>;
}
