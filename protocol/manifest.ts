/**
 * The function manifest (`platform.yaml`): the single source of truth for its shape, defaults and
 * units. Parsing is pure: the caller reads and YAML-decodes the file and passes the platform's
 * environment for `${VAR}` references. See docs/gateway.md ("Functions directory").
 */
import { z } from 'zod';
import { isIanaZone, parseCronSchedule } from './cron-schedule.js';
import { envSizeProblem } from './env-size.js';
import { isPlatformError, PlatformError } from './errors.js';
import { DURATION_PATTERN, MEMORY_PATTERN, parseDurationMs, parseMemoryBytes, parseRate, RATE_PATTERN, type Rate } from './units.js';

export const RUNTIME_PRESETS = ['http', 'webhook', 'cron', 'worker'] as const;
export type RuntimePreset = (typeof RUNTIME_PRESETS)[number];

export const INVOCATION_MODES = ['sync', 'async', 'both'] as const;
export type InvocationMode = (typeof INVOCATION_MODES)[number];

/** A DNS label: it becomes part of URLs, metric labels and (later) Kubernetes object names. */
export const FUNCTION_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const PY_IDENT = '[A-Za-z_][A-Za-z0-9_]*';
/** `module:attr`, or `module:factory()`: an app factory called once at the instance's start (as gunicorn's `app:create_app()`). */
const ENTRYPOINT = new RegExp(`^${PY_IDENT}(?:\\.${PY_IDENT})*:${PY_IDENT}(?:\\.${PY_IDENT})*(?:\\(\\))?$`);
/** An env (and secret) name: letters, digits and _, not starting with a digit. */
/** `__proto__` is no env name: as a key of a JavaScript object it would be dropped, silently (red team 3). */
export const ENV_NAME = /^(?!__proto__$)[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The prefix of the names the platform sets in a function's process (FP_MONGO_URI and
 * FP_MONGO_DATABASE for a data binding; the runtime reads them) and keeps for those it will set.
 * A function's env or secret of such a name would be overridden by the platform's, or override it
 * where the platform sets none (context.db then talks to another server), so it is refused.
 */
export const RESERVED_ENV_PREFIX = 'FP_';

/** Why an env or secret name is refused (the caller names the key), or null. ENV_NAME is checked separately. */
export function reservedEnvName(name: string): string | null {
  if (!name.startsWith(RESERVED_ENV_PREFIX)) return null;
  return `names starting with ${RESERVED_ENV_PREFIX} are reserved for the platform (it sets FP_MONGO_URI and FP_MONGO_DATABASE for a data binding); rename the variable`;
}

/** An env or secret name: ENV_NAME (with `rule` as the message when it does not match), not reserved. */
export function envNameSchema(rule: string) {
  return z.string().regex(ENV_NAME, rule).superRefine((name, ctx) => {
    const reserved = ENV_NAME.test(name) ? reservedEnvName(name) : null;
    if (reserved !== null) ctx.addIssue({ code: 'custom', message: reserved });
  });
}

/** A duration as written (`30s`); the pattern is parseDurationMs's own, shown by the JSON Schemas. */
const durationText = z.string().meta({ pattern: DURATION_PATTERN.source });
/** A memory size as written (`256Mi`); the pattern is parseMemoryBytes's own. */
const memoryText = z.string().meta({ pattern: MEMORY_PATTERN.source });

const duration = durationText.transform((text, ctx) => {
  try {
    return parseDurationMs(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/**
 * The smallest memory limit a function may have: below it no Python runtime starts (the call would
 * fail at its cold start with a sandbox error), and the pool reads a limit of 0 as "no limit".
 * The largest is the platform's (FP_MAX_FUNCTION_MEMORY_BYTES, checked by the control plane).
 */
export const MIN_FUNCTION_MEMORY_BYTES = 16 * 1024 * 1024;

const memory = memoryText.transform((text, ctx) => {
  try {
    const bytes = parseMemoryBytes(text);
    if (bytes < MIN_FUNCTION_MEMORY_BYTES) {
      // `"512"` (Lambda's MemorySize, quoted) is 512 bytes: say which unit was meant (new-user round 12).
      const bare = /^[0-9]+$/.test(text.trim()) && text.trim() !== '0' ? `; a number without a unit is bytes: write ${text.trim()}Mi for ${text.trim()} MiB` : '';
      ctx.addIssue({ code: 'custom', message: `"${text.trim()}" is below the smallest memory limit, 16Mi (a Python runtime needs more; 0 is not "no limit")${bare}` });
      return z.NEVER;
    }
    return bytes;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const count = (min: number, max: number) => z.number().int().min(min).max(max);

/** A rate as written (`100/s`); the pattern is parseRate's own. */
const rateText = z.string().meta({ pattern: RATE_PATTERN.source });

const rate = rateText.transform((text, ctx) => {
  try {
    return parseRate(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/**
 * The fields of `limits` and `retry` as written, without defaults or unit conversion: the API's
 * PATCH takes them (and checks the merged result with the schemas below).
 */
export const LIMIT_FIELDS = {
  timeout: durationText,
  memory: memoryText,
  concurrency: count(1, 1000),
  maxInstances: count(1, 1000),
  minWarm: count(0, 1000),
  maxQueue: count(0, 100_000),
  /** Calls per second, minute or hour (`100/s`), a token bucket checked at admission (docs/adr/0011-tenants.md). */
  rate: rateText,
  /** Calls the bucket holds (default: the rate's count, a full period's worth). Needs `rate`. */
  burst: count(1, 1_000_000_000),
} as const;
export const RETRY_FIELDS = { maxAttempts: count(1, 10), backoff: durationText, maxBackoff: durationText, maxEventAge: durationText } as const;

/** `limits` after parsing: numbers with their units in the names; `rate` and `burst` only with a rate limit. */
interface LimitsOut {
  timeoutMs: number;
  memoryBytes: number;
  concurrency: number;
  maxInstances: number;
  minWarm: number;
  maxQueue: number;
  /** Calls per period (token bucket refill); absent: no rate limit. */
  rate?: Rate;
  /** Bucket size; present with `rate`. */
  burst?: number;
}

const limitsSchema = z
  .strictObject({
    timeout: duration.prefault('30s'),
    memory: memory.prefault('256Mi'),
    concurrency: LIMIT_FIELDS.concurrency.default(1),
    maxInstances: LIMIT_FIELDS.maxInstances.default(10),
    minWarm: LIMIT_FIELDS.minWarm.default(0),
    maxQueue: LIMIT_FIELDS.maxQueue.default(100),
    rate: rate.optional(),
    burst: LIMIT_FIELDS.burst.optional(),
  })
  .refine((l) => l.minWarm <= l.maxInstances, { message: 'minWarm must not exceed maxInstances', path: ['minWarm'] })
  .refine((l) => l.burst === undefined || l.rate !== undefined, { message: 'burst needs a rate (e.g. rate: 100/s)', path: ['burst'] })
  .transform((l): LimitsOut => ({
    timeoutMs: l.timeout,
    memoryBytes: l.memory,
    concurrency: l.concurrency,
    maxInstances: l.maxInstances,
    minWarm: l.minWarm,
    maxQueue: l.maxQueue,
    // Absent: no rate limit. The burst is filled in here, once: the bucket's size.
    ...(l.rate !== undefined ? { rate: l.rate, burst: l.burst ?? l.rate.requests } : {}),
  }));

/**
 * How failed async runs are retried (also cron and webhook runs). `backoff` is the ceiling of the
 * first retry's delay, doubling per attempt up to `maxBackoff` (full jitter); a run older than
 * `maxEventAge` is failed instead of retried. The defaults match the dispatcher's DEFAULT_RETRY_POLICY.
 */
export const retrySchema = z
  .strictObject({
    maxAttempts: RETRY_FIELDS.maxAttempts.default(3),
    backoff: duration.prefault('1s'),
    maxBackoff: duration.prefault('60s'),
    maxEventAge: duration.prefault('6h'),
  })
  .refine((r) => r.backoff <= r.maxBackoff, { message: 'backoff must not exceed maxBackoff', path: ['backoff'] })
  .transform((r) => ({ maxAttempts: r.maxAttempts, backoffBaseMs: r.backoff, backoffMaxMs: r.maxBackoff, maxEventAgeMs: r.maxEventAge }));

/** Trigger ids: unique per function (`/hooks/<name>/<id>`, cron tick keys). */
export const TRIGGER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Where a trigger calls the app (default `/`): an absolute path of RFC 3986 path characters
 * (percent-escapes allowed), no query, no `.`/`..` or empty segments. A FastAPI receiver written at
 * `@app.post("/webhooks/github")` answered every delivery 404 at `/` (apps round 20), and Vercel's
 * crons call `GET /api/cron` (apps round 21). ADR 0175.
 */
const TRIGGER_PATH_MESSAGE = 'a trigger path is an absolute path such as /webhooks/github: letters, digits and -._~!$&\'()*+,;=:@ or %XX escapes, no query';
/** The whole rule: non-empty segments of path characters or `%XX` escapes, an optional trailing `/`. */
const TRIGGER_PATH = /^(?:\/|(?:\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+)+\/?)$/;
/**
 * Its characters alone: the pattern the JSON schemas carry (an editor's and a fuzzer's check; every
 * path it refuses, TRIGGER_PATH refuses too). The whole rule as a pattern with `maxLength` cost
 * Schemathesis's coverage phase 24-60 s to draw one boundary string (ci round 2, ADR 0175).
 */
const TRIGGER_PATH_CHARS = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;
const triggerPath = z.string()
  .max(512, 'a trigger path is at most 512 characters')
  .regex(TRIGGER_PATH_CHARS, TRIGGER_PATH_MESSAGE)
  .refine((p) => !TRIGGER_PATH_CHARS.test(p) || TRIGGER_PATH.test(p), TRIGGER_PATH_MESSAGE)
  .refine((p) => !p.split('/').some((seg) => seg === '.' || seg === '..'), 'a trigger path has no . or .. segments');

/**
 * A schedule. The expression is parsed here as the scheduler parses it (protocol/cron-schedule.ts),
 * so `validate` and the API's checks refuse what the control plane would refuse at upload
 * (`61 * * * *`, `0 0 30 2 *`: never fires).
 */
const cronTriggerSchema = z
  .strictObject({
    type: z.literal('cron'),
    id: z.string().regex(TRIGGER_ID, 'trigger ids are 1-128 of letters, digits, ., _ and -').optional(),
    // Checked on the field, not the object: an object's refinement runs only once every field
    // parsed, so a mistyped timezone hid a bad schedule until it was fixed. Which expressions parse
    // and which never fire does not depend on the zone (a DST gap skips a day, never all of them).
    schedule: z.string().trim().min(1, 'a cron expression: five fields, or six with seconds first').superRefine((schedule, ctx) => {
      try {
        parseCronSchedule(schedule, 'UTC', Date.now());
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `bad cron expression ${JSON.stringify(schedule.length > 80 ? `${schedule.slice(0, 80)}…` : schedule)}: ${(err as Error).message}` });
      }
    }),
    timezone: z.string().refine(isIanaZone, { error: (issue) => `${JSON.stringify(issue.input)} is not an IANA time zone: one such as Europe/Berlin or UTC` }).optional(),
    payload: z.unknown().optional(),
    /** Where each tick calls the app: `<method> <path>` (default `POST /`; ADR 0175). A GET tick has no body. */
    method: z.enum(['POST', 'GET']).default('POST'),
    path: triggerPath.default('/'),
  })
  .refine((t) => t.method !== 'GET' || t.payload === undefined, { message: 'a GET tick has no body: drop the payload, or use method POST', path: ['payload'] });

/** Webhook trigger ids are part of a URL (`/hooks/<name>/<id>`): DNS-label-like. */
export const WEBHOOK_TRIGGER_ID = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A signed webhook, reached at `/hooks/<name>/<id>`. The secret is the platform's (never in the
 * manifest): `POST /api/v1/functions/<name>/triggers/<id>/secret/rotate` answers it once.
 */
const webhookTriggerSchema = z.strictObject({
  type: z.literal('webhook'),
  id: z.string().regex(WEBHOOK_TRIGGER_ID, 'webhook ids are DNS labels: 1-63 lowercase letters, digits or hyphens'),
  style: z.enum(['github', 'stripe']).default('github'),
  sync: z.boolean().default(false),
  tolerance: duration.optional(),
  path: triggerPath.default('/'),
});

/** Triggers other than HTTP. */
const triggerSchema = z.discriminatedUnion('type', [cronTriggerSchema, webhookTriggerSchema]);

/** Default none. Cron ids default to `cron-<index>`; ids must be unique within the list. */
/**
 * Triggers one version may declare: each webhook trigger gets a signing secret of its own, kept
 * with the function and read (decrypted) by every delivery (red team of 2026-12-04: 1 900 per
 * manifest, 40 versions, 76 000 secrets, and every anonymous delivery took 0.6 s of the event loop).
 */
export const MAX_TRIGGERS = 32;

export const triggersSchema = z
  .array(triggerSchema)
  .max(MAX_TRIGGERS, `at most ${MAX_TRIGGERS} triggers per function`)
  .default([])
  .transform((list) => list.map((t, i) => (t.type === 'cron' ? { ...t, id: t.id ?? `cron-${i}` } : t)))
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((t, i) => {
      if (seen.has(t.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate trigger id ${t.id}` });
      seen.add(t.id);
    });
  });

/**
 * A database name in a workspace: it becomes `<workspace>_<name>` on the server (ADR 0021,
 * "Names"), within MongoDB's 63 bytes with a 30-character workspace. `<name>.<workspace>` names a
 * database of another workspace, which the control plane refuses (DATA_DATABASE_FORBIDDEN) unless
 * it is the function's own workspace.
 */
export const DATABASE_NAME = /^[a-z][a-z0-9_-]{0,31}(?:\.[a-z0-9](?:[a-z0-9-]{0,28}[a-z0-9])?)?$/;

/** `data.mongo`: the function's database binding (docs/data-binding.md). */
export const dataSchema = z.strictObject({
  mongo: z
    .strictObject({
      database: z.string().regex(DATABASE_NAME, 'a database name: 1-32 lowercase letters, digits, _ or -, starting with a letter'),
      create: z.boolean().default(true),
    })
    .optional(),
});

/**
 * `main.handler`, as Lambda and its handler setting write it (new-user round 9): the module:attr
 * meant, `; did you mean "main:handler"?` (the last dot made the colon), or ''.
 */
function entrypointMeant(input: unknown): string {
  if (typeof input !== 'string' || input.includes(':')) return '';
  const dot = input.trim().lastIndexOf('.');
  const meant = dot > 0 ? `${input.trim().slice(0, dot)}:${input.trim().slice(dot + 1)}` : '';
  return ENTRYPOINT.test(meant) ? `; did you mean "${meant}"? (Lambda writes module.function; here a colon comes before the attribute)` : '';
}

export const manifestSchema = z.strictObject({
  kind: z.literal('function'),
  name: z.string().regex(FUNCTION_NAME, 'must be a DNS label: 1-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen'),
  entrypoint: z.string().regex(ENTRYPOINT, { error: (issue) => `must be module:attr, e.g. main:handler or app:app (module:factory() for an app factory, e.g. app:create_app())${entrypointMeant(issue.input)}` }).default('main:handler'),
  runtime: z.enum(RUNTIME_PRESETS).default('http'),
  invocation: z.enum(INVOCATION_MODES).default('both'),
  triggers: triggersSchema,
  // prefault: an absent `limits` is parsed as `{}`, so the defaults above live in one place.
  limits: limitsSchema.prefault({}),
  retry: retrySchema.prefault({}),
  env: z
    // NUL: no process environment can hold it, so every specialize failed (FUNCTION_INIT_FAILED) on
    // a value the API had stored (red team 3); secrets refused it already.
    .record(envNameSchema('env names are letters, digits and _, not starting with a digit'), z.string({ error: (issue) => (issue.input === null ? 'env values must be strings: an empty value is written "" (NAME: "")' : 'env values must be strings (quote numbers and booleans)') }).regex(/^[^\x00]*$/, 'env values must not contain NUL'))
    .superRefine((env, ctx) => {
      const problem = envSizeProblem(env);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default({}),
  version: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'version: 1-64 of letters, digits, ., _ and -').optional(),
  data: dataSchema.optional(),
  // What callers see of the function's own failures (docs/api-invoke.md, "Errors"): verbose only while developing.
  errors: z.enum(['generic', 'verbose']).default('generic'),
  // The event a handler(event, context) gets (docs/api-invoke.md, "Lambda's event"): the platform's
  // (body bytes), or API Gateway's, as Lambda gives it (body a str, base64 when binary).
  event: z.enum(['platform', 'lambda']).default('platform'),
});

/** The `event` key of a stored manifest (any JSON; versions from before it have none: the platform's). */
export function eventFormatOf(manifest: unknown): 'platform' | 'lambda' {
  return typeof manifest === 'object' && manifest !== null && (manifest as { event?: unknown }).event === 'lambda' ? 'lambda' : 'platform';
}

/** The `errors` key of a stored manifest (any JSON: versions uploaded before the key existed have none). */
export function errorDetailOf(manifest: unknown): 'generic' | 'verbose' {
  return typeof manifest === 'object' && manifest !== null && (manifest as { errors?: unknown }).errors === 'verbose' ? 'verbose' : 'generic';
}

/**
 * Largest manifest a version may carry, as compact JSON (how the control plane stores and serves
 * it). A platform.yaml is typically under 2 KiB; the only free-form part is a cron trigger's
 * `payload`, and 64 KiB keeps every version record small to store, list and send back.
 */
export const MAX_MANIFEST_BYTES = 64 * 1024;

/** A parsed manifest: defaults filled, units converted, `${VAR}` references resolved. */
export type Manifest = z.output<typeof manifestSchema>;
export type Trigger = z.output<typeof triggersSchema>[number];
export type CronTriggerSpec = Extract<Trigger, { type: 'cron' }>;
export type WebhookTriggerSpec = Extract<Trigger, { type: 'webhook' }>;
export type ManifestLimits = Manifest['limits'];
export type ManifestRetry = Manifest['retry'];
export type DataBindingSpec = NonNullable<NonNullable<Manifest['data']>['mongo']>;

/**
 * The workspace and short name a binding's `database` names, for a function of `workspace`:
 * `shop` is the function's own workspace's, `crm.acme` is acme's (ADR 0011's key scheme).
 */
export function bindingTarget(database: string, workspace: string): { workspace: string; database: string } {
  const dot = database.indexOf('.');
  return dot < 0 ? { workspace, database } : { workspace: database.slice(dot + 1), database: database.slice(0, dot) };
}

export interface ManifestIssue {
  /** Dotted path of the offending key, e.g. `limits.timeout`; empty for the document itself. */
  path: string;
  message: string;
}

/** BAD_MANIFEST: every problem of one manifest at once, each with the path of its key. */
export class ManifestError extends PlatformError {
  constructor(readonly issues: ManifestIssue[], source = 'platform.yaml') {
    super('BAD_MANIFEST', `${source} is invalid:\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`);
  }
}

/** True for a BAD_MANIFEST error with its issues (matched on the code, not the class). */
export function isManifestError(err: unknown): err is ManifestError {
  return isPlatformError(err) && err.code === 'BAD_MANIFEST' && Array.isArray((err as { issues?: unknown }).issues);
}

export interface ParseManifestOptions {
  /** The platform's environment, for `${VAR}` references in `env` values. */
  platformEnv?: Record<string, string | undefined>;
  /** Shown in the error message (e.g. the file path). */
  source?: string;
  /** Where `platformEnv` comes from, for "not set in …" (default: the platform's environment; the CLI's: this shell's environment). */
  envSource?: string;
}

/** Validates a decoded manifest document; throws ManifestError listing every issue. */
export function parseManifest(raw: unknown, options: ParseManifestOptions = {}): Manifest {
  const result = manifestSchema.safeParse(raw);
  if (!result.success) {
    // Also check the `${VAR}` references, so one run reports every problem of the file.
    const issues: ManifestIssue[] = resolveEnv(envOf(raw), options.platformEnv ?? {}, options.envSource).issues;
    for (const issue of result.error.issues) {
      const base = issue.path.map(String);
      if (issue.code === 'unrecognized_keys') {
        // One issue per unknown key so each carries its own full path.
        const known = knownKeysAt(base);
        for (const key of issue.keys) {
          const foreign = foreignKeyAdvice(base, key);
          issues.push({ path: [...base, key].join('.'), message: foreign !== undefined ? `unknown key; ${foreign}` : unknownKeyMessage(key, known) });
        }
      } else if (issue.code === 'invalid_key' && issue.issues.length > 0) {
        // A record's key (an env name): what is wrong with the key, not zod's "Invalid key in record".
        issues.push({ path: base.join('.'), message: issue.issues[0]!.message });
      } else {
        issues.push({ path: base.join('.'), message: issueMessage(issue, base, valueAt(raw, base)) });
      }
    }
    throw new ManifestError(issues, options.source);
  }
  const { env, issues } = resolveEnv(result.data.env, options.platformEnv ?? {}, options.envSource);
  if (issues.length > 0) throw new ManifestError(issues, options.source);
  return { ...result.data, env };
}

/**
 * Top-level keys of other platforms' manifests (Lambda's SAM and Serverless, OpenFaaS' stack.yml)
 * and of a uvicorn project's settings a newcomer writes here, with where the thing goes: "unknown key (here: …)" left them to guess.
 */
const RETRY_ATTEMPTS = 'it goes under `retry:` as `maxAttempts`, which counts every attempt: Lambda\'s MaximumRetryAttempts 2 is maxAttempts: 3 (the default)';
const FAILED_RUNS = 'nothing is sent anywhere when an async run fails for good: it stays in the run history with its payload, listed by `runs <name> --status failed`, and `runs replay <runId>` runs it again (docs/migrating.md)';
const FOREIGN_KEYS: Readonly<Record<string, string>> = {
  handler: 'the handler is named by `entrypoint: main:handler` (module:attribute, with a colon)',
  lang: 'the handler is named by `entrypoint: main:handler` (module:attribute, with a colon); every function is Python',
  timeout: 'it goes under `limits:` (limits: {timeout: 30s})',
  memory: 'it goes under `limits:` (limits: {memory: 256Mi})',
  memorySize: 'it goes under `limits:` as `memory` (limits: {memory: 256Mi})',
  environment: 'env values go under `env:` (env: {NAME: "value"})',
  functions: 'a folder holds one function: its `name`, `entrypoint` and `limits` are top-level keys',
  // A uvicorn project's settings (new-user round 11: `python: "3.12"` was "unknown key (here: …)").
  python: "there is no Python version to choose: every function runs on the platform's Python, which `validate` names",
  python_version: "there is no Python version to choose: every function runs on the platform's Python, which `validate` names",
  requirements: 'requirements.txt (or pyproject.toml) beside platform.yaml is installed at deploy, with no key naming it',
  port: 'the platform listens (the function is served at /fn/<name>/): the app binds no port',
  workers: 'instances scale with the calls, up to `limits: {maxInstances: 10}`',
  env_file: '.env is not read at deploy: values go under `env:`, or `env push` them (secrets with --as-secret)',
  // Lambda's async settings (new-user round 12): where they are here.
  maximumRetryAttempts: RETRY_ATTEMPTS,
  maximumEventAgeInSeconds: 'it goes under `retry:` as `maxEventAge`, a duration (retry: {maxEventAge: 6h})',
  deadLetterQueue: FAILED_RUNS,
  deadLetterConfig: FAILED_RUNS,
  destinationConfig: FAILED_RUNS,
  destinations: FAILED_RUNS,
  onFailure: FAILED_RUNS,
};

/** Lambda's names under `retry:`, with this platform's (new-user round 12). */
const FOREIGN_RETRY_KEYS: Readonly<Record<string, string>> = {
  maximumRetryAttempts: RETRY_ATTEMPTS.replace('it goes under `retry:` as ', 'here it is '),
  maxRetries: RETRY_ATTEMPTS.replace('it goes under `retry:` as ', 'here it is '),
  retries: RETRY_ATTEMPTS.replace('it goes under `retry:` as ', 'here it is '),
  maximumEventAgeInSeconds: 'here it is `maxEventAge`, a duration (maxEventAge: 6h for 21600 seconds)',
  deadLetterQueue: FAILED_RUNS,
  onFailure: FAILED_RUNS,
};

/** What a key of another platform at `base` (the top level, `retry`) is here; SAM's capitalised spelling too. */
function foreignKeyAdvice(base: readonly string[], key: string): string | undefined {
  const table = base.length === 0 ? FOREIGN_KEYS : base.length === 1 && base[0] === 'retry' ? FOREIGN_RETRY_KEYS : null;
  if (table === null) return undefined;
  const own = (k: string): string | undefined => (Object.hasOwn(table, k) ? table[k] : undefined);
  return own(key) ?? own(key.charAt(0).toLowerCase() + key.slice(1));
}

/** The value a decoded document has at `path`, or undefined. */
function valueAt(raw: unknown, path: readonly string[]): unknown {
  let node = raw;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

/** What each required key is, for "missing". */
const REQUIRED: Readonly<Record<string, string>> = {
  kind: 'every platform.yaml says `kind: function`',
  name: "the function's name, a DNS label that is its URL (`name: my-fn` → /fn/my-fn/)",
};

/** What a key takes, in the manifest's words (zod's `expected`). */
const WANTED: Record<string, string> = { string: 'text', number: 'a number', boolean: 'true or false', object: 'a mapping', record: 'a mapping', array: 'a list' };

/**
 * zod's own wording ("Invalid input: expected string, received undefined", "Too small: expected
 * number to be >=1", `Invalid option: expected one of "http"|…`) in the manifest's words; a
 * message this file wrote itself is kept.
 */
function issueMessage(issue: z.core.$ZodIssue, path: readonly string[], value: unknown): string {
  const key = path.join('.');
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && value === undefined) return `missing: ${REQUIRED[key] ?? 'this key is required'}`;
  if (issue.code === 'invalid_type' && issue.expected === 'int' && typeof value === 'number') return `must be a whole number, not ${value}`;
  // `timeout: 10` said "Invalid input: expected string, received number" (newcomer round 8).
  if (issue.code === 'invalid_type' && value !== undefined && /^Invalid input/.test(issue.message)) {
    const got = value === null ? 'empty' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'a mapping' : `the ${typeof value} ${JSON.stringify(value)}`;
    // docker-compose's list form (`- FOO=1`): the mapping's own spelling of that item (new-user round 10).
    const first: unknown = key === 'env' && Array.isArray(value) ? value[0] : undefined;
    const item = typeof first === 'string' ? /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(first) : null;
    if (item !== null) return `must be a mapping of NAME: value lines, not a list: write \`${item[1]!}: ${JSON.stringify(item[2]!)}\` under env:, not \`- ${first as string}\``;
    return `must be ${WANTED[issue.expected] ?? issue.expected}, not ${got}`;
  }
  if (issue.code === 'invalid_value' && /^Invalid (option|input)/.test(issue.message)) {
    const taken = issue.values.map((v) => String(v)).join(', ');
    if (key === 'kind') return `${JSON.stringify(value)} is not a kind this platform deploys: write \`kind: function\` (a whole FastAPI app is one too: entrypoint: main:app)`;
    if (key === 'runtime' && typeof value === 'string' && /^(python|py)?\s*[\d.]+$/i.test(value)) {
      return `${JSON.stringify(value)}: runtime is the function's preset (${taken}), not a Python version; every function runs on the platform's Python`;
    }
    return `${JSON.stringify(value)} is not one of ${taken}`;
  }
  if (/^triggers\.\d+\.type$/.test(key) && /^Invalid discriminator/.test(issue.message)) return triggerTypeMessage(value);
  if (issue.code === 'too_small' && /^Too small/.test(issue.message) && issue.origin === 'number') return `must be at least ${String(issue.minimum)}, not ${String(value)}`;
  if (issue.code === 'too_big' && /^Too big/.test(issue.message) && issue.origin === 'number') return `must be at most ${String(issue.maximum)}, not ${String(value)}`;
  return issue.message;
}

/**
 * A trigger's `type` that is none of cron and webhook, in words ("Invalid discriminator value.
 * Expected 'cron' | 'webhook'" said nothing of where a schedule goes): SAM's `Type: Schedule`,
 * Serverless's `- schedule: rate(…)` without a type, an HTTP or queue event (new-user round 12).
 */
function triggerTypeMessage(value: unknown): string {
  const cron = 'a schedule is `type: cron` with `schedule: "*/5 * * * *"`';
  if (value === undefined || value === null) return `missing: each trigger says its type, cron or webhook (${cron}; a signed webhook is \`type: webhook\` with an \`id\`)`;
  const whole = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const text = whole.length > 80 ? `${whole.slice(0, 80)}…` : whole;
  if (/^(schedule|scheduled|cron|rate|timer|eventbridge|cloudwatch|alarm)/i.test(text)) return `${JSON.stringify(text)} is not a trigger type here (cron, webhook): ${cron}`;
  if (/^(http|https|api|apigateway|httpapi|url|functionurl)$/i.test(text.replace(/[\s_-]/g, ''))) return `${JSON.stringify(text)} is not a trigger type here (cron, webhook): every function is called over HTTP at /fn/<name>/ without one`;
  return `${JSON.stringify(text)} is not a trigger type here (cron, webhook); queue and stream triggers (SQS, Kafka, …) are not offered: post to /async/<name>/ instead`;
}

// zod 4 internals, read only to name the keys a mapping takes (for "did you mean"): the def's type,
// its object shape, array element, union options, or the schema a wrapper (optional, default…) holds.
interface ZodDef { type: string; shape?: Record<string, ZodLike>; element?: ZodLike; options?: ZodLike[]; innerType?: ZodLike; in?: ZodLike }
interface ZodLike { _zod: { def: ZodDef } }

function unwrapSchema(s: ZodLike): ZodLike {
  for (let i = 0; i < 10; i++) {
    const d = s._zod.def;
    const inner = ['optional', 'default', 'nullable', 'prefault', 'readonly', 'catch', 'pipe'].includes(d.type) ? d.innerType ?? d.in : undefined;
    if (inner === undefined) return s;
    s = inner;
  }
  return s;
}

/** The schemas a union stands for, flattened; anything else as itself. */
function alternatives(s: ZodLike): ZodLike[] {
  const u = unwrapSchema(s);
  return u._zod.def.type === 'union' ? (u._zod.def.options ?? []).flatMap(alternatives) : [u];
}

/** The keys the manifest takes at `path` (a mapping's path; array indexes as digits); [] if unknown. */
export function knownKeysAt(path: readonly string[]): string[] {
  let current = alternatives(manifestSchema as unknown as ZodLike);
  for (const segment of path) {
    current = current.flatMap((c) => {
      const d = c._zod.def;
      if (d.type === 'object') return d.shape?.[segment] ? alternatives(d.shape[segment]) : [];
      if (d.type === 'array' && d.element) return alternatives(d.element);
      return [];
    });
  }
  return [...new Set(current.flatMap((c) => (c._zod.def.type === 'object' ? Object.keys(c._zod.def.shape ?? {}) : [])))];
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length]!;
}

/**
 * "unknown key", with the likely intended key (`limit` → `limits`, `max_instances` →
 * `maxInstances`, `Memory` → `memory`) or, failing one, the keys taken there: a bare "unknown
 * key" left a newcomer guessing (docs/adr/0040-runnable-hints.md).
 */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  if (known.length === 0) return 'unknown key';
  const squash = (k: string): string => k.toLowerCase().replace(/[-_]/g, '');
  const best = known
    .map((k) => ({ k, d: squash(k) === squash(key) ? 0 : editDistance(key.toLowerCase(), k.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)[0]!;
  if (best.d <= Math.max(1, Math.floor(key.length / 4))) return `unknown key; did you mean "${best.k}"?`;
  return `unknown key (here: ${known.join(', ')})`;
}

function envOf(raw: unknown): Record<string, unknown> {
  const env = typeof raw === 'object' && raw !== null ? (raw as { env?: unknown }).env : undefined;
  return typeof env === 'object' && env !== null ? (env as Record<string, unknown>) : {};
}

function resolveEnv(env: Record<string, unknown>, platformEnv: Record<string, string | undefined>, envSource?: string): { env: Record<string, string>; issues: ManifestIssue[] } {
  const out: Record<string, string> = {};
  const issues: ManifestIssue[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (typeof value !== 'string') continue; // the schema reports it
    const resolved = resolveEnvValue(value, platformEnv, envSource);
    if (typeof resolved === 'string') out[key] = resolved;
    else issues.push({ path: `env.${key}`, message: resolved.error });
  }
  return { env: out, issues };
}

const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{[^}]*\}?/g;

/** The variables an env value takes from the environment it is resolved in (`${VAR}`, `${VAR:-default}`), in order. */
export function envReferences(value: string): string[] {
  const names: string[] = [];
  for (const match of value.matchAll(REFERENCE)) if (match[1] !== undefined && !names.includes(match[1])) names.push(match[1]);
  return names;
}

/**
 * Resolves `${VAR}` and `${VAR:-default}` against the platform environment; `$$` is a literal `$`.
 * A reference to an unset variable without a default is an error (never silently empty).
 */
export function resolveEnvValue(value: string, platformEnv: Record<string, string | undefined>, envSource = "the platform's environment"): string | { error: string } {
  let error: string | null = null;
  const out = value.replace(REFERENCE, (whole, name: string | undefined, fallback: string | undefined) => {
    if (whole === '$$') return '$';
    if (name === undefined) {
      error ??= `bad reference ${whole}: use \${NAME} or \${NAME:-default}`;
      return '';
    }
    // FP_ variables configure the platform and the CLI (FP_TOKEN, FP_URL, FP_REDIS_URL with its
    // password…): a folder deployed from elsewhere (a clone, a pull request in CI) could otherwise
    // copy the deployer's token into the function's env with `${FP_TOKEN}` (red team 3).
    if (name.toUpperCase().startsWith(RESERVED_ENV_PREFIX)) {
      error ??= `references \${${name}}: ${RESERVED_ENV_PREFIX} variables configure the platform and the CLI (FP_TOKEN…) and are never put into a function's env`;
      return '';
    }
    const found = platformEnv[name];
    if (found !== undefined) return found;
    if (fallback !== undefined) return fallback;
    error ??= `references \${${name}}, which is not set in ${envSource}`;
    return '';
  });
  return error === null ? out : { error };
}
