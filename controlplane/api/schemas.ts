/**
 * The shapes the API accepts (docs/api.md), as strict zod schemas: an unknown field is an error,
 * never ignored. Function settings reuse the manifest's own pieces (protocol/manifest.ts), so the
 * API and platform.yaml share one set of rules, bounds and defaults.
 */
import { z } from 'zod';
import {
  ENV_NAME,
  formatDurationMs,
  formatMemoryBytes,
  FUNCTION_NAME,
  INVOCATION_MODES,
  manifestSchema,
  RUN_STATUSES,
  RUN_TRIGGERS,
  RUNTIME_PRESETS,
  retrySchema,
} from '../../protocol/index.js';
import { HISTORY_WINDOWS, USAGE_WINDOWS } from '../store/index.js';
import type { FunctionLimits, FunctionRetry } from '../store/index.js';

export const SHA256_HEX = /^[0-9a-f]{64}$/;

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
const secretName = z.string().regex(ENV_NAME, 'secret names are letters, digits and _, not starting with a digit');
const secretValue = z
  .string({ error: 'secret values must be strings' })
  .max(SECRET_VALUE_CHARS, `secret values are at most ${SECRET_VALUE_CHARS} characters`)
  .regex(/^[^\0]*$/, 'secret values must not contain NUL');
/** `secrets` on create: name → value. */
const secrets = z.record(secretName, secretValue);
/** `secrets` on PATCH: name → value (set or replace) or null (remove); names not given are kept. */
const secretsPatch = z.record(secretName, secretValue.nullable());
export type SecretsPatch = z.output<typeof secretsPatch>;

/** The current secrets with a PATCH's changes applied (null removes). */
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
  invocation: invocation.default('sync'),
  limits,
  env: env.default({}),
  secrets: secrets.default({}),
  auth: auth.default('public'),
  retry: retrySchema.prefault({}),
});

/** Limit keys as a PATCH gives them: types only; bounds are checked after merging (mergeLimits). */
const limitsPatch = z.strictObject({
  timeout: z.string().optional(),
  memory: z.string().optional(),
  concurrency: z.number().optional(),
  maxInstances: z.number().optional(),
  minWarm: z.number().optional(),
  maxQueue: z.number().optional(),
});
export type LimitsPatch = z.output<typeof limitsPatch>;

/** Retry keys as a PATCH gives them: types only; checked after merging with the current policy (mergedRetry). */
const retryPatch = z.strictObject({
  maxAttempts: z.number().optional(),
  backoff: z.string().optional(),
  maxBackoff: z.string().optional(),
  maxEventAge: z.string().optional(),
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
});

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

/** The current limits with the patch's keys over them, in the manifest's human form. */
export function mergedLimits(current: FunctionLimits, patch: LimitsPatch): Record<string, unknown> {
  const merged: Record<string, unknown> = {
    timeout: formatDurationMs(current.timeoutMs),
    memory: formatMemoryBytes(current.memoryBytes),
    concurrency: current.concurrency,
    maxInstances: current.maxInstances,
    minWarm: current.minWarm,
    maxQueue: current.maxQueue,
  };
  for (const [key, value] of Object.entries(patch)) if (value !== undefined) merged[key] = value;
  return merged;
}

export { limits as limitsSchema, retrySchema };

export const versionBody = z.strictObject({
  entrypoint: manifestSchema.shape.entrypoint,
  manifest: z.unknown().optional(),
  note: note.optional(),
  files: z
    .array(
      z.strictObject({
        path: z.string(),
        sha256: sha256.optional(),
        size: z.number().int().min(0).optional(),
        contentBase64: z.string().optional(),
      }),
    )
    .min(1),
});

export const blobsMissingBody = z.strictObject({ sha256: z.array(sha256).max(10_000) });

export const deployBody = z.strictObject({ version: z.number().int().min(1).optional(), note: note.optional() });
export const statusBody = z.strictObject({ note: note.optional() });
/** A POST that takes no fields (an empty body counts as `{}`). */
export const emptyBody = z.strictObject({});

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const testInvokeBody = z
  .strictObject({
    method: z.string().regex(/^[A-Za-z]{1,16}$/, 'must be an HTTP method, e.g. GET or POST').optional(),
    path: z.string().max(4096).regex(/^\/[^\s\0]*$/, 'must start with / and hold no spaces').optional(),
    query: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
    headers: z.record(z.string().regex(HEADER_NAME, 'must be an HTTP header name'), z.string().regex(/^[^\r\n\0]*$/, 'must not hold CR, LF or NUL')).optional(),
    body: z.unknown().optional(),
    bodyBase64: z.string().regex(BASE64, 'must be base64').optional(),
  })
  .refine((b) => b.body === undefined || b.bodyBase64 === undefined, { message: 'give body or bodyBase64, not both', path: ['bodyBase64'] });

/** A whole decimal number in a query string. */
const intParam = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,15}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** ISO 8601 or Unix milliseconds → Unix ms. */
const timeParam = z.string().transform((text, ctx) => {
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 time or Unix milliseconds' });
    return z.NEVER;
  }
  return ms;
});

/** `?window=1m|15m|1h|24h` (default 15m). */
export const usageQuery = z.strictObject({ window: z.enum([...USAGE_WINDOWS, ...HISTORY_WINDOWS]).default('15m') });

export const runsQuery = z.strictObject({
  function: functionName.optional(),
  status: z.enum(RUN_STATUSES).optional(),
  trigger: z.enum(RUN_TRIGGERS).optional(),
  since: timeParam.optional(),
  until: timeParam.optional(),
  limit: intParam(1, 1000).optional(),
  cursor: z.string().min(1).max(1024).optional(),
});

export const pageQuery = z.strictObject({
  limit: intParam(1, 1000).optional(),
  before: intParam(1, Number.MAX_SAFE_INTEGER).optional(),
});
