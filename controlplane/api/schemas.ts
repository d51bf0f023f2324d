/**
 * The shapes the API accepts (docs/api.md), as strict zod schemas: an unknown field is an error,
 * never ignored. Function settings reuse the manifest's own pieces (protocol/manifest.ts), so the
 * API and platform.yaml share one set of rules, bounds and defaults.
 */
import { z } from 'zod';
import {
  ASYNC_RUN_STATES,
  DURATION_PATTERN,
  ENV_NAME,
  envNameSchema,
  reservedEnvName,
  formatDurationMs,
  formatMemoryBytes,
  formatRate,
  FUNCTION_NAME,
  INVOCATION_MODES,
  LIMIT_FIELDS,
  LOG_LEVELS,
  manifestSchema,
  parseGraceMs,
  RETRY_FIELDS,
  RUN_TRIGGERS,
  RUNTIME_PRESETS,
  retrySchema,
  WORKSPACE_NAME,
} from '../../protocol/index.js';
import { HISTORY_WINDOWS, USAGE_WINDOWS } from '../store/index.js';
import type { FunctionLimits, FunctionRetry } from '../store/index.js';
import { TAGGED_SETTINGS, type TaggedSetting } from './setting-tags.js';

export const SHA256_HEX = /^[0-9a-f]{64}$/;
/** A run id in a path (a UUID in practice). */
export const RUN_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** A token id in a path (`tok_` and base64url). */
export const TOKEN_ID = /^tok_[A-Za-z0-9_-]{1,64}$/;

const functionName = z.string().regex(FUNCTION_NAME, 'must be a DNS label: 1-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen');
const preset = z.enum(RUNTIME_PRESETS);
const invocation = z.enum(INVOCATION_MODES);
const auth = z.enum(['public', 'token']);
const sha256 = z.string().regex(SHA256_HEX, 'must be a sha256: 64 lower-case hex digits');
const note = z.string().max(1000);

/** `limits` with human units → `{timeoutMs, memoryBytes, …}`, defaults filled (the manifest's schema). */
const limits = manifestSchema.shape.limits;
/** `env` (names checked, string values) — the manifest's, without its default. */
const env = manifestSchema.shape.env.unwrap();

/** Secret values: write-only, never echoed (messages here name the rule, never the value). */
const SECRET_VALUE_CHARS = 65_536;
const SECRET_NAME_RULE = 'secret names are letters, digits and _, not starting with a digit';
const secretName = envNameSchema(SECRET_NAME_RULE);
const secretValue = z
  .string({ error: 'secret values must be strings' })
  .max(SECRET_VALUE_CHARS, `secret values are at most ${SECRET_VALUE_CHARS} characters`)
  .regex(/^[^\x00]*$/, 'secret values must not contain NUL');
/** `secrets` on create: name → value. */
const secrets = z.record(secretName, secretValue);
/** `secrets` on PATCH: name → value (set or replace) or null (remove); names not given are kept. */
// A reserved name may still be removed (null): a function may hold one from before the rule.
const secretsPatch = byNamePatch(SECRET_NAME_RULE, secretValue);
export type SecretsPatch = z.output<typeof secretsPatch>;

/** name → value (set) or null (remove), the names checked; a value for a reserved name is refused. */
function byNamePatch(rule: string, value: z.ZodType<string>) {
  return z.record(z.string().regex(ENV_NAME, rule), value.nullable()).superRefine((patch, ctx) => {
    for (const [name, v] of Object.entries(patch)) {
      const reserved = v === null ? null : reservedEnvName(name);
      if (reserved !== null) ctx.addIssue({ code: 'custom', path: [name], message: reserved });
    }
  });
}

/** `envChanges` on PATCH: plain env values set or removed by name, merged on the server (no read needed). */
const envChanges = byNamePatch('env names are letters, digits and _, not starting with a digit', env.valueType as z.ZodType<string>);

/** A change by name (secrets, envChanges) applied to the current values (null removes). */
export function mergedSecrets(current: Readonly<Record<string, string>>, patch: SecretsPatch): Record<string, string> {
  const next: Record<string, string> = { ...current };
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete next[name];
    else next[name] = value;
  }
  return next;
}

export const createFunctionBody = z.strictObject({
  name: functionName,
  preset: preset.default('http'),
  invocation: invocation.default('both'),
  limits,
  env: env.default({}),
  secrets: secrets.default({}),
  auth: auth.default('public'),
  retry: retrySchema.prefault({}),
});

/** Limit keys as a PATCH gives them: each checked alone here, the merged whole again by mergedLimits' caller. */
const limitsPatch = z.strictObject({
  timeout: LIMIT_FIELDS.timeout.optional(),
  memory: LIMIT_FIELDS.memory.optional(),
  concurrency: LIMIT_FIELDS.concurrency.optional(),
  maxInstances: LIMIT_FIELDS.maxInstances.optional(),
  minWarm: LIMIT_FIELDS.minWarm.optional(),
  maxQueue: LIMIT_FIELDS.maxQueue.optional(),
  /** `null` removes the rate limit (and its burst). */
  rate: LIMIT_FIELDS.rate.nullable().optional(),
  burst: LIMIT_FIELDS.burst.nullable().optional(),
});
export type LimitsPatch = z.output<typeof limitsPatch>;

/** Retry keys as a PATCH gives them: checked again after merging with the current policy (mergedRetry). */
const retryPatch = z.strictObject({
  maxAttempts: RETRY_FIELDS.maxAttempts.optional(),
  backoff: RETRY_FIELDS.backoff.optional(),
  maxBackoff: RETRY_FIELDS.maxBackoff.optional(),
  maxEventAge: RETRY_FIELDS.maxEventAge.optional(),
});
export type RetryPatch = z.output<typeof retryPatch>;

export const patchFunctionBody = z.strictObject({
  preset: preset.optional(),
  invocation: invocation.optional(),
  limits: limitsPatch.optional(),
  env: env.optional(),
  secrets: secretsPatch.optional(),
  auth: auth.optional(),
  retry: retryPatch.optional(),
  envChanges: envChanges.optional().describe('Env values set (a string) or removed (null) by name, merged with the current env on the server; not with `env`'),
  ifMatch: z.strictObject(Object.fromEntries(TAGGED_SETTINGS.map((s) => [s, z.string().max(64).optional()])) as Record<TaggedSetting, z.ZodOptional<z.ZodString>>)
    .optional().describe("The `settingTags` of the function as read: a setting whose tag is now another refuses the change (409 SETTING_CONFLICT, with the current value); docs/adr/0159-a-precondition-per-setting.md"),
  check: z.boolean().optional().describe('Start the active version with the new env, secrets and limits before the change is made, and refuse it (DEPLOY_START_FAILED) when it does not load; default false (the CLI\'s env commands send true)'),
}).refine((b) => b.env === undefined || b.envChanges === undefined, { message: 'give env (the whole env) or envChanges (values by name), not both', path: ['envChanges'] });

/** The current retry policy (the defaults when the record has none) with the patch's keys over it, in the manifest's form. */
export function mergedRetry(current: FunctionRetry | undefined, patch: RetryPatch): Record<string, unknown> {
  const merged: Record<string, unknown> = current === undefined ? {} : {
    maxAttempts: current.maxAttempts,
    backoff: formatDurationMs(current.backoffBaseMs),
    maxBackoff: formatDurationMs(current.backoffMaxMs),
    maxEventAge: formatDurationMs(current.maxEventAgeMs),
  };
  for (const [key, value] of Object.entries(patch)) if (value !== undefined) merged[key] = value;
  return merged;
}

/**
 * The current limits with the patch's keys over them, in the manifest's human form. A null `rate`
 * removes the rate limit; a new `rate` without `burst` gets the default burst again.
 */
export function mergedLimits(current: FunctionLimits, patch: LimitsPatch): Record<string, unknown> {
  const merged: Record<string, unknown> = {
    timeout: formatDurationMs(current.timeoutMs),
    memory: formatMemoryBytes(current.memoryBytes),
    concurrency: current.concurrency,
    maxInstances: current.maxInstances,
    minWarm: current.minWarm,
    maxQueue: current.maxQueue,
    ...(current.rate !== undefined ? { rate: formatRate(current.rate), burst: current.burst } : {}),
  };
  if (patch.rate !== undefined && patch.burst === undefined) delete merged['burst'];
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else if (value !== undefined) merged[key] = value;
  }
  return merged;
}

export { limits as limitsSchema, retrySchema };

/**
 * `POST …/versions`. `manifest` is checked with the schema `fastapi-platform validate` uses
 * (protocol/manifest.ts) but stored as sent (the handler keeps the raw value: no defaults filled).
 */
export const versionUpload = z.strictObject({
  entrypoint: manifestSchema.shape.entrypoint,
  manifest: manifestSchema.nullable().optional(),
  note: note.optional(),
  files: z
    .array(
      z.strictObject({
        path: z.string(),
        sha256: sha256.optional(),
        size: z.number().int().min(0).optional(),
        contentBase64: z.string().optional(),
        executable: z.boolean().optional().describe('Deployed with mode 0555 (a script or binary the function runs), else 0444'),
      }),
    )
    .min(1),
});

export const blobsMissingBody = z.strictObject({ sha256: z.array(sha256).max(10_000) });

export const deployBody = z.strictObject({
  version: z.number().int().min(1).optional(),
  note: note.optional(),
  check: z.boolean().optional().describe('Start the version before serving it and refuse it (DEPLOY_START_FAILED) when its code does not load; default true'),
});
export const statusBody = z.strictObject({ note: note.optional() });
/** A POST that takes no fields (an empty body counts as `{}`). */
export const emptyBody = z.strictObject({});

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const testInvokeBody = z
  .strictObject({
    method: z.string().regex(/^[A-Za-z]{1,16}$/, 'must be an HTTP method, e.g. GET or POST').optional(),
    // The query string goes in `query`: a `?` left in the path reached the handler as part of its path.
    path: z.string().max(4096).regex(/^\/[^\s\x00?#]*$/, 'must start with / and hold no spaces, ? or # (give the query string as query)').optional(),
    query: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
    headers: z.record(z.string().regex(HEADER_NAME, 'must be an HTTP header name'), z.string().regex(/^[^\r\n\x00]*$/, 'must not hold CR, LF or NUL')).optional(),
    body: z.unknown().optional(),
    bodyBase64: z.string().regex(BASE64, 'must be base64').optional(),
  })
  .refine((b) => b.body === undefined || b.bodyBase64 === undefined, { message: 'give body or bodyBase64, not both', path: ['bodyBase64'] })
  .meta({ not: { required: ['body', 'bodyBase64'] } });

/** A whole decimal number in a query string (the documents show it as the integer it is). */
const intParam = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]{1,16}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    // No `pattern` on the integer: the digits rule is what makes it one.
    .meta({ type: 'integer', minimum: min, maximum: max, pattern: undefined });

/** Unix milliseconds, or an ISO 8601 date or date-time (`2026-01-31`, `2026-01-31T12:00:00Z`, `…T12:00+02:00`). */
const TIME_PATTERN = /^(?:[0-9]{1,15}|[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,3})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?)$/;

/** ISO 8601 or Unix milliseconds → Unix ms. */
const timeParam = z
  .string()
  .regex(TIME_PATTERN, 'must be an ISO 8601 time or Unix milliseconds')
  .transform((text, ctx) => {
    const ms = /^[0-9]+$/.test(text) ? Number(text) : Date.parse(text);
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 time or Unix milliseconds' });
      return z.NEVER;
    }
    return ms;
  });

export { intParam, timeParam };

const runIdParam = z.string().regex(RUN_ID, 'must be a run id');
const logLevel = z.enum(LOG_LEVELS);
const grepParam = z.string().min(1).max(1000);
/** A live-log event id (`<ms>-<seq>`, what a stream's `id:` lines carry). */
export const FEED_EVENT_ID = /^[0-9]{1,15}-[0-9]{1,15}$/;

/** `GET /functions/{name}/logs`: lines of stored runs. */
export const logsQuery = z.strictObject({
  since: timeParam.optional(),
  until: timeParam.optional(),
  runId: runIdParam.optional(),
  level: logLevel.optional(),
  grep: grepParam.optional(),
  limit: intParam(1, 5000).optional(),
});

/** `GET /functions/{name}/logs/stream`: the live tail (`lastEventId` for clients that cannot send the Last-Event-ID header). */
export const logStreamQuery = z.strictObject({
  runId: runIdParam.optional(),
  level: logLevel.optional(),
  grep: grepParam.optional(),
  lastEventId: z.string().regex(FEED_EVENT_ID, 'must be an event id of this stream (<ms>-<seq>)').optional(),
});

/** `?window=1m|15m|1h|24h` (default 15m). */
export const usageQuery = z.strictObject({ window: z.enum([...USAGE_WINDOWS, ...HISTORY_WINDOWS]).default('15m') });

export const runsQuery = z.strictObject({
  function: functionName.optional(),
  /** `succeeded`, `failed`: the run store's records; `queued`, `running`, `retried`, `cancelled`: async runs in that state now (docs/adr/0068-listing-async-runs-by-state.md). */
  status: z.enum(ASYNC_RUN_STATES).optional(),
  trigger: z.enum(RUN_TRIGGERS).optional(),
  since: timeParam.optional(),
  until: timeParam.optional(),
  limit: intParam(1, 1000).optional(),
  cursor: z.string().min(1).max(1024).optional(),
});

/** `GET /functions`: a page of at most `limit` functions (default 200), by name, after `cursor`. */
export const functionsQuery = z.strictObject({
  limit: intParam(1, 1000).optional(),
  cursor: z.string().min(1).max(1024).optional(),
});

/**
 * `DELETE /functions/{name}`'s preconditions (ADR 0181): each given one must hold, checked under the
 * function's lock with the store's delete conditional on that revision, else 409 FUNCTION_CHANGED and
 * nothing is deleted. `ifRevision`: the revision the caller read (any settings change, deploy, pause or
 * rollback moves it); `ifCreatedAt`: the function created then (a delete and a re-create of the name is
 * another function, at revision 1 again); `ifNoVersions`: it has no version (uploading one does not move
 * the revision).
 */
export const functionDeleteQuery = z.strictObject({
  ifRevision: intParam(1, Number.MAX_SAFE_INTEGER).optional(),
  ifCreatedAt: intParam(0, Number.MAX_SAFE_INTEGER).optional(),
  ifNoVersions: z.enum(['true']).transform(() => true).optional(),
});

/** A database's name in its workspace (no `.workspace`: only the caller's own can be named). */
export const LOCAL_DATABASE = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * The path parameters of the route templates (routes.ts), as the handlers check them
 * (validate.ts: `nameParam`, `positiveIntParam`, `textParam`), for the OpenAPI document.
 */
export const pathParams = {
  name: functionName,
  /** `positiveIntParam`: 1 to 15 digits, no leading zero. */
  version: z.int().min(1).max(999_999_999_999_999),
  sha256,
  runId: z.string().regex(RUN_ID),
  /** Any segment: an id no webhook trigger of the active version has is 404 TRIGGER_NOT_FOUND. */
  triggerId: z.string().min(1),
  /** A test case's name (percent-encoded in the path: spaces allowed). */
  testCase: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/),
  /** A workspace name; one that is not (or is not the caller's) is 404 WORKSPACE_NOT_FOUND. */
  workspace: z.string().regex(WORKSPACE_NAME),
  /** A token id (`tok_…`); another workspace's, or none, is 404 TOKEN_NOT_FOUND. */
  tokenId: z.string().regex(TOKEN_ID),
  /** A database's name in the caller's workspace (data.ts: `textParam`). */
  database: z.string().regex(LOCAL_DATABASE),
} as const satisfies Record<string, z.ZodType>;

export const pageQuery = z.strictObject({
  limit: intParam(1, 1000).optional(),
  before: intParam(1, Number.MAX_SAFE_INTEGER).optional(),
});

/**
 * A rotation's `grace` (a webhook secret, a binding's credentials): how long the previous secret
 * keeps working, as a duration; `0s` ends it at once; at most 168h (parseGraceMs). Absent: the rotation's default.
 */
export const graceBody = z.strictObject({
  grace: z
    .string()
    .meta({ pattern: DURATION_PATTERN.source })
    .transform((text, ctx) => {
      try {
        return parseGraceMs(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
      return z.NEVER;
    })
    .optional(),
});
