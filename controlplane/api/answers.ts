/**
 * The shapes the API answers with (docs/api.md, "Objects"), as strict zod schemas: the OpenAPI
 * document's response schemas come from here (./openapi.ts), and present.ts builds its views with
 * these types, so what the code returns and what the document says are one thing. Strict: a key
 * that is not listed here is a bug (it may be a leak), and the e2e tests that check answers
 * against these schemas fail on it.
 */
import { z } from 'zod';
import { BUILD_PHASES, DEPS_STATES } from '../deps/index.js';
import {
  ASYNC_RUN_STATES,
  ERROR_CLASSES,
  ERRORS,
  INVOCATION_MODES,
  RESULT_DROP_REASONS,
  RUN_STARTS,
  RUN_STATUSES,
  RUN_TRIGGERS,
  RUNTIME_PRESETS,
  ROLES,
  type Component,
  type ErrorCode,
} from '../../protocol/index.js';
import { HISTORY_WINDOWS, SHOWN_STATES, USAGE_WINDOWS } from '../store/index.js';
import { DEPLOY_ACTIONS } from '../store/types.js';

/** Every code of the registry, in registry order. */
export const ERROR_CODES = Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]];
/** A code of the registry (docs/errors.md). */
export const errorCode = z.enum(ERROR_CODES);

const COMPONENTS = ['request', 'gateway', 'poolmgr', 'runtime', 'function', 'controlplane'] as const satisfies readonly Component[];

/**
 * The `error` of every error answer (protocol/errors.ts `errorBody`). Open: codes add details of
 * their own (`function`, `version`, `limit`, `actual`, `path`, `runId`, `state`, …).
 */
export const errorDetail = z.looseObject({
  code: errorCode,
  message: z.string(),
  component: z.enum(COMPONENTS),
  /** The offending field as a path: `name`, `limits.timeout`, `files[3].path`, `query.since`. */
  field: z.string().optional(),
  /** Validation errors: every problem found; `code`/`field` above are the first one's. */
  issues: z.array(z.strictObject({ code: errorCode, field: z.string(), message: z.string() })).optional(),
});
export const errorAnswer = z.strictObject({ error: errorDetail });

export const int = z.int();
/** Unix milliseconds. */
export const time = z.int().min(0);
/** A count or a size in bytes. */
export const count = z.int().min(0);
/** A duration in ms as measured (fractional). */
export const millis = z.number().min(0);
const stringMap = z.record(z.string(), z.string());

/** A rate: `requests` calls per `periodMs` (`limits.rate: 100/s` is `{requests: 100, periodMs: 1000}`). */
export const rateView = z.strictObject({ requests: count, periodMs: count });

export const limitsView = z.strictObject({
  timeoutMs: count,
  memoryBytes: count,
  concurrency: count,
  maxInstances: count,
  minWarm: count,
  maxQueue: count,
  /** Present with a rate limit (`limits.rate`), with `burst`. */
  rate: rateView.optional(),
  burst: count.optional(),
});

export const retryView = z.strictObject({
  maxAttempts: count,
  backoffBaseMs: count,
  backoffMaxMs: count,
  maxEventAgeMs: count,
});

export const functionView = z.strictObject({
  /** The short name; its key is `name` in `default`, `name.workspace` elsewhere (the invoke URL's). */
  name: z.string(),
  workspace: z.string(),
  preset: z.enum(RUNTIME_PRESETS),
  invocation: z.enum(INVOCATION_MODES),
  limits: limitsView,
  env: stringMap,
  /** The names of the secret env values, sorted; never their values. */
  secrets: z.array(z.string()),
  auth: z.enum(['public', 'token']),
  retry: retryView,
  status: z.enum(['active', 'paused']),
  activeVersion: int.min(1).nullable(),
  revision: int.min(1),
  /** A tag per whole setting (a hash of its value): `PATCH …` with `ifMatch: {env: tag}` refuses a change made from a stale read (SETTING_CONFLICT; docs/adr/0159-a-precondition-per-setting.md). */
  settingTags: z.strictObject({ env: z.string(), limits: z.string(), retry: z.string(), auth: z.string(), preset: z.string(), invocation: z.string() }),
  createdAt: time,
  updatedAt: time,
});
export type FunctionView = z.output<typeof functionView>;

/** One quota of the workspace and what is used of it now (`limit` null: no limit). */
const quotaUse = z.strictObject({ limit: count.nullable(), used: count });
/**
 * The workspace's quotas with their current use. `instances` counts this platform process's
 * instances; `invocationsPerMinute` the calls admitted in the current minute (every process).
 */
export const quotasView = z.strictObject({
  functions: quotaUse,
  instances: quotaUse,
  invocationsPerMinute: quotaUse,
  codeBytes: quotaUse,
  logBytes: quotaUse,
});
export type QuotasView = z.output<typeof quotasView>;

export const contractView = z.strictObject({
  ...limitsView.shape,
  syncPayloadBytes: count,
  asyncPayloadBytes: count,
  runRetentionMs: count,
  auth: z.enum(['public', 'token']),
  retry: retryView,
  invokeUrl: z.string(),
  /** The function's token bucket (`limits.rate`, `limits.burst`); null: no rate limit. */
  rateLimit: z.strictObject({ requests: count, periodMs: count, burst: count }).nullable(),
  workspace: z.string(),
  quotas: quotasView,
});
export type ContractView = z.output<typeof contractView>;

const urls = {
  invokeUrl: z.string(),
  asyncUrl: z.string().optional(),
  /** The function at `/` of its own host (`http://<key>.<FP_BASE_DOMAIN>:<port>/`); absent without host routing or for an async-only function. */
  hostUrl: z.string().optional(),
};
/** Shown once: when a change issued an invoke token. */
const invokeToken = z.string().optional();
/** When that invoke token ends: the expiry of the token that issued it (ADR 0074); absent: never. */
const invokeTokenExpiresAt = z.number().int().optional();

export const functionAnswer = z.strictObject({ function: functionView, ...urls, contract: contractView });
export type FunctionAnswer = z.output<typeof functionAnswer>;
export const functionCreated = functionAnswer.extend({ invokeToken, invokeTokenExpiresAt });
export const functionPatched = functionAnswer.extend({ invokeToken, invokeTokenExpiresAt });
/**
 * A function in the listing: its settings without env values (the names only: a workspace of a few
 * hundred functions with 64 KiB of env each made megabytes per listing; `GET /functions/{name}`
 * has the values).
 */
export const functionListItem = functionView.omit({ env: true, settingTags: true }).extend({ envNames: z.array(z.string()) });
export type FunctionListItem = z.output<typeof functionListItem>;
/** A page of the listing, by name; `nextCursor` (null on the last page) asks for the next. */
export const functionList = z.strictObject({ items: z.array(functionListItem), nextCursor: z.string().nullable() });
export const invokeTokenAnswer = z.strictObject({ invokeToken: z.string(), invokeTokenExpiresAt });
export const adminTokenAnswer = z.strictObject({ adminToken: z.string() });
export const hookSecretAnswer = z.strictObject({ secret: z.string() });

/** A function's data binding (docs/data-binding.md); never its credential. */
export const dataBindingView = z.strictObject({ workspace: z.string(), database: z.string(), physical: z.string(), create: z.boolean() });
export const dataBindingAnswer = z.strictObject({ binding: dataBindingView.nullable() });
export const dataDatabasesAnswer = z.strictObject({
  databases: z.array(z.strictObject({ workspace: z.string(), database: z.string(), physical: z.string(), functions: z.array(z.string()) })),
});
export const dataRotateAnswer = z.strictObject({ rotated: z.literal(true), graceMs: z.number() });
export const dataDropAnswer = z.strictObject({ dropped: z.literal(true), workspace: z.string(), database: z.string(), physical: z.string() });

export const versionSummaryView = z.strictObject({
  function: z.string(),
  workspace: z.string(),
  version: int.min(1),
  entrypoint: z.string(),
  createdAt: time,
  createdBy: z.string(),
  note: z.string(),
  fileCount: count,
  totalBytes: count,
  changes: z.strictObject({ added: z.array(z.string()), modified: z.array(z.string()), removed: z.array(z.string()) }),
  /**
   * What the last deploy or rollback to it found when it started it, or its failed dependency build (ADR 0252): `ok`, or the
   * refusal's `code` (DEPLOY_START_FAILED, a dependency build's DEPS_*) and the message the deploy
   * answered; null: never checked (not deployed, deployed with `check: false`, or before the field).
   */
  startCheck: z.strictObject({
    ok: z.boolean(),
    code: z.string().nullable(),
    message: z.string().nullable(),
    at: time,
  }).nullable(),
});
export type VersionSummaryView = z.output<typeof versionSummaryView>;

/** A version's dependency build (docs/dependencies.md). */
export const depsView = z.strictObject({
  state: z.enum(DEPS_STATES),
  /** sha256 of what was declared and the platform's build options. */
  key: z.string(),
  phase: z.enum(BUILD_PHASES).nullable(),
  /** sha256 of the lock once ready; null when nothing needs installing. */
  lock: z.string().nullable(),
  /** `modules`: the top-level modules the build found the package ships (absent for builds before 2026-12-06). */
  packages: z.array(z.strictObject({ name: z.string(), version: z.string(), modules: z.array(z.string()).optional() })),
  bytes: count,
  error: z.strictObject({ code: z.string(), message: z.string() }).nullable(),
  startedAt: time.nullable(),
  finishedAt: time.nullable(),
});
export type DepsView = z.output<typeof depsView>;
export const depsAnswer = z.strictObject({ deps: depsView.extend({ log: z.string().optional() }).nullable() });

export const versionView = versionSummaryView.extend({
  files: z.array(z.strictObject({ path: z.string(), sha256: z.string(), size: count, executable: z.boolean().optional() })),
  /** The manifest as uploaded (any JSON), or null. */
  manifest: z.unknown(),
  /** Null: the version declares no dependencies. */
  deps: depsView.nullable(),
});
export type VersionView = z.output<typeof versionView>;
export const versionAnswer = z.strictObject({ version: versionView });
/** One finding of the code checks (the CLI's `validate` prints the same). */
export const codeProblem = z.strictObject({
  kind: z.enum(['manifest', 'yaml', 'files', 'syntax', 'entrypoint', 'python', 'dependencies']),
  /** Relative path; null for the bundle as a whole. */
  file: z.string().nullable(),
  line: int.min(1).nullable(),
  column: int.min(0).nullable(),
  /** The manifest key path (`limits.timeout`) of a manifest problem. */
  path: z.string().optional(),
  message: z.string(),
});

/**
 * An upload's answer: the version, and the warnings `POST /validate` gives for its files
 * (controlplane/service/version-warnings.ts), or, when they were not checked, why.
 */
export const versionCreatedAnswer = z.strictObject({
  version: versionView,
  warnings: z.array(codeProblem).optional(),
  /** Why the files were not checked at upload (busy checks, a version over 4 MiB, no checker): POST /validate checks them. */
  warningsSkipped: z.string().optional(),
});

export const versionList = z.strictObject({ items: z.array(versionSummaryView) });

export const deployView = z.strictObject({
  seq: int.min(1),
  action: z.enum(DEPLOY_ACTIONS),
  fromVersion: int.min(1).nullable(),
  toVersion: int.min(1).nullable(),
  status: z.enum(['active', 'paused']),
  actor: z.string(),
  note: z.string(),
  at: time,
});
export type DeployView = z.output<typeof deployView>;
/** A deploy's or rollback's start check: loaded in `initMs`, or not made and why (docs/api.md, "Deploys"). */
const startReport = z.union([
  z.strictObject({ checked: z.literal(true), initMs: z.number().min(0), noTemplate: z.string().optional() }),
  z.strictObject({ checked: z.literal(false), reason: z.string() }),
]);
export const deployAnswer = z.strictObject({
  function: functionView,
  deploy: deployView,
  start: startReport.optional(),
  /** A deploy: the versions retention deleted (FP_KEEP_VERSIONS; docs/adr/0098-deleting-versions.md); absent: none. */
  pruned: z.array(z.int().min(1)).optional(),
});
export const deployList = z.strictObject({ items: z.array(deployView) });

export const blobsMissingAnswer = z.strictObject({ missing: z.array(z.string()) });
export const blobPutAnswer = z.strictObject({ sha256: z.string(), size: count, created: z.boolean() });

const counts = { invocations: count, errors: count, coldStarts: count };
export const usageAnswer = z.strictObject({
  function: z.string(),
  workspace: z.string(),
  window: z.enum([...USAGE_WINDOWS, ...HISTORY_WINDOWS]),
  from: time,
  to: time,
  ...counts,
  errorRate: z.number().min(0).max(1),
  coldStartRatio: z.number().min(0).max(1),
  p50Ms: millis.nullable(),
  p95Ms: millis.nullable(),
  p99Ms: millis.nullable(),
  meanMs: millis.nullable(),
  /** Cold runs' and warm runs' latency, cold runs' init time (null without such runs). */
  coldP50Ms: millis.nullable(),
  coldP95Ms: millis.nullable(),
  warmP50Ms: millis.nullable(),
  warmP95Ms: millis.nullable(),
  initP50Ms: millis.nullable(),
  initP95Ms: millis.nullable(),
  /** Scale-to-zero events in the window (a process stopped the function's last idle instance). */
  scaleToZero: count,
  totals: z.strictObject(counts),
  warmInstances: count,
  state: z.enum(SHOWN_STATES),
  lastSuccess: z.strictObject({ runId: z.string(), at: time }).nullable(),
});

export const runError = z.strictObject({
  type: z.string(),
  message: z.string(),
  stack: z.string().optional(),
  file: z.string().optional(),
  line: int.optional(),
});

/** A run record without its logs (protocol/records.ts `RunSummary`), as `GET /runs` lists it. */
export const runSummaryView = z.strictObject({
  runId: z.string(),
  /** 1, 2, 3… for the attempts of an async run (a list shows its latest); 1 for everything else. */
  attempt: int.min(1),
  /** The short name (the run's function in its workspace). */
  function: z.string(),
  workspace: z.string(),
  version: z.string(),
  trigger: z.enum(RUN_TRIGGERS),
  cold: z.boolean(),
  /** Cold, but it waited for an instance another run's arrival started (a burst): that run's cold start, counted once. */
  sharedStart: z.literal(true).optional(),
  start: z.enum(RUN_STARTS).nullable(),
  initMs: millis,
  handlerMs: millis,
  queuedMs: millis,
  durationMs: millis,
  status: z.enum(RUN_STATUSES),
  httpStatus: int,
  errorCode: errorCode.nullable(),
  errorClass: z.enum(ERROR_CLASSES as [string, ...string[]]).nullable(),
  error: runError.nullable(),
  startedAt: time,
  clientAborted: z.boolean().optional(),
  /** What the run wrote through its data binding, per collection (docs/data-binding.md); absent: no binding. */
  writes: z.array(z.strictObject({ database: z.string(), collection: z.string(), inserted: int, updated: int, deleted: int, upserted: int })).optional(),
  /** Body bytes of a response sent before its call ended (streamed, or followed by background tasks). */
  responseBytes: count.optional(),
  /** The request's method and path within the function (no query string); absent from older records. */
  method: z.string().optional(),
  path: z.string().optional(),
  /** The request's query string (no `?`), a value that may be a credential masked as `***` (ADR 0251); absent: none, or an older record. */
  query: z.string().optional(),
  /** An attempt of a queued run (async, cron, a webhook's without `sync: true`); absent otherwise and from older records. */
  queued: z.literal(true).optional(),
});
/** A log line; `ts` is Unix ms as the runtime measured it (fractional). */
export const logLine = z.strictObject({ stream: z.string(), ts: millis, msg: z.string(), level: z.string().optional() });

/** `GET /functions/{name}/logs`: lines of stored runs, oldest first (controlplane/logs/stored.ts). */
export const logsAnswer = z.strictObject({
  function: z.string(),
  lines: z.array(z.strictObject({
    runId: z.string(),
    attempt: int.min(1),
    version: z.string(),
    /** The line's index in its run's `logs` (with runId and attempt: its identity). */
    i: count,
    ts: millis,
    stream: z.string(),
    level: z.string().optional(),
    msg: z.string(),
  })),
  runs: count,
  more: z.boolean(),
});

/** `GET /functions/{name}/logs/stream`: Server-Sent Events (`ready`, `logs`, `end`, `gap`; docs/api.md "Live logs"). */
export const eventStream = z.string().meta({
  description: 'Server-Sent Events, one JSON `data:` line each: `ready` {function, resumedFrom}, `logs` {function, version, runId, attempt, lines: [{i, ts, stream, level?, msg}]}, `end` {function, version, runId, attempt, status, errorCode, httpStatus, durationMs, lines}, `gap` {reason, since, dropped}; `id:` on each is the position to resume after (Last-Event-ID). docs/api.md, "Live logs".',
});
export const runView = runSummaryView.extend({ logs: z.array(logLine) });
export const runList = z.strictObject({ items: z.array(runSummaryView), nextCursor: z.string().nullable() });

/** An async run as `GET /runs?status=queued|running|retried|cancelled` lists it: no version or timings yet (docs/adr/0068-listing-async-runs-by-state.md). */
export const asyncRunSummaryView = z.strictObject({
  runId: z.string(),
  function: z.string(),
  workspace: z.string(),
  trigger: z.enum(['async', 'cron', 'webhook']),
  state: z.enum(ASYNC_RUN_STATES),
  acceptedAt: time,
  /** When it entered its state. */
  updatedAt: time,
  /** Attempts that ran so far. */
  attempts: count,
  replayOf: z.string().nullable(),
});

export const asyncRunList = z.strictObject({ items: z.array(asyncRunSummaryView), nextCursor: z.string().nullable() });

/** `GET /runs`: run records, or with an async state for `status` async runs (`state` instead of `status`). */
export const runListAnswer = z.union([runList, asyncRunList]);

/** A response as the API shows one it relayed: headers joined, the body decoded (runs.ts `decodeBody`). */
function withBody<S extends z.ZodRawShape>(shape: S) {
  return z.union([z.strictObject({ ...shape, body: z.unknown() }), z.strictObject({ ...shape, bodyBase64: z.string() })]);
}

export const asyncRunView = z.strictObject({
  runId: z.string(),
  function: z.string().nullable(),
  workspace: z.string().nullable(),
  trigger: z.enum(['async', 'cron', 'webhook']),
  state: z.enum(ASYNC_RUN_STATES),
  acceptedAt: time.nullable(),
  replayOf: z.string().nullable(),
  replays: z.array(z.string()),
  transitions: z.array(z.strictObject({ state: z.enum(ASYNC_RUN_STATES), at: time, detail: z.string().nullable() })),
  /** Each attempt; with its run record's version, timings and logs once that is written (`logs` empty before). */
  attempts: z.array(
    z.strictObject({
      attempt: int.min(1),
      startedAt: time,
      durationMs: millis,
      cold: z.boolean(),
      status: z.enum(RUN_STATUSES),
      errorCode: z.string().nullable(),
      errorClass: z.string().nullable(),
      error: runError.nullable(),
      version: z.string().optional(),
      initMs: millis.optional(),
      handlerMs: millis.optional(),
      queuedMs: millis.optional(),
      httpStatus: int.optional(),
      method: z.string().optional(),
      path: z.string().optional(),
      query: z.string().optional(),
      logs: z.array(logLine),
    }),
  ),
  result: withBody({ status: int, attempt: int.min(0), headers: stringMap, omitted: z.strictObject({ sizeBytes: int.min(1), maxBytes: int.min(0).nullable() }).optional(), dropped: z.strictObject({ sizeBytes: int.min(1), reason: z.enum(RESULT_DROP_REASONS) }).optional() }).nullable(),
});
export type AsyncRunView = z.output<typeof asyncRunView>;

/** `GET /runs/:id`: a run record with its logs, or an async run's timeline. */
export const runAnswer = z.strictObject({ run: z.union([runView, asyncRunView]) });
export const asyncRunAnswer = z.strictObject({ run: asyncRunView });
export const replayAnswer = z.strictObject({ runId: z.string(), replayOf: z.string(), statusUrl: z.string() });

export const testInvokeAnswer = withBody({
  runId: z.string(),
  status: int,
  headers: stringMap,
  durationMs: millis,
  cold: z.boolean(),
  error: z
    .strictObject({ code: errorCode, message: z.string(), type: z.string().optional(), file: z.string().optional(), line: int.optional() })
    .optional(),
});

// ---- tenants (docs/adr/0011-tenants.md) ----

const role = z.enum(ROLES);
const quotaLimits = z.strictObject({
  functions: count.nullable(),
  instances: count.nullable(),
  invocationsPerMinute: count.nullable(),
  codeBytes: count.nullable(),
  logBytes: count.nullable(),
});

export const workspaceView = z.strictObject({ name: z.string(), quotas: quotaLimits, createdAt: time, updatedAt: time });
export const workspaceAnswer = z.strictObject({ workspace: workspaceView, usage: quotasView });
export const workspaceList = z.strictObject({ items: z.array(workspaceView) });

/** Who the token is: `GET /whoami`. */
export const whoamiAnswer = z.strictObject({
  tokenId: z.string(),
  label: z.string(),
  kind: z.enum(['admin', 'workspace']),
  /** `root` for the admin token. */
  role: z.enum([...ROLES, 'root']),
  /** The workspace this call acted in (a workspace token's own; the root token's FP-Workspace or `default`). */
  workspace: z.string(),
  expiresAt: time.nullable(),
  /** Where functions answer (FP_PUBLIC_URL, else the platform's own address): what every `invokeUrl` starts with; '' when unknown. */
  publicUrl: z.string(),
});

export const tokenView = z.strictObject({
  id: z.string(),
  label: z.string(),
  workspace: z.string(),
  role,
  createdAt: time,
  createdBy: z.string(),
  expiresAt: time.nullable(),
  lastUsedAt: time.nullable(),
  revokedAt: time.nullable(),
});
/** `POST /tokens`: the token's record and its secret, shown only in this answer. */
export const tokenCreated = z.strictObject({ token: tokenView, secret: z.string() });
export const tokenList = z.strictObject({ items: z.array(tokenView) });
export const tokenAnswer = z.strictObject({ token: tokenView });

export const auditEntryView = z.strictObject({
  seq: int.min(1),
  at: time,
  actor: z.strictObject({ tokenId: z.string(), label: z.string(), role: z.enum([...ROLES, 'root']) }),
  address: z.string(),
  workspace: z.string().nullable(),
  action: z.string(),
  target: z.string(),
  detail: z.record(z.string(), z.unknown()),
});
export const auditList = z.strictObject({ items: z.array(auditEntryView), nextCursor: z.string().nullable() });

/** Any JSON object (the JSON Schema of platform.yaml, the OpenAPI document itself). */
export const jsonDocument = z.record(z.string(), z.unknown());

