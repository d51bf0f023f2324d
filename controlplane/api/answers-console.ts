/**
 * Answer shapes of the operations the console needs and the CLI can use as well (docs/api.md,
 * "Series and cold starts", "Drafts and test cases", "Validation"): strict zod schemas, the
 * OpenAPI document's source like ./answers.ts.
 */
import { z } from 'zod';
import { HISTORY_WINDOWS, SHOWN_STATES, USAGE_WINDOWS } from '../store/index.js';
import { TEST_CASE_MODES } from '../store/types.js';
import { WEBHOOK_FAILURE_CODES, WEBHOOK_REFUSAL_DETAILS } from '../async/index.js';
import { codeProblem, count, int, millis, time } from './answers.js';



const window = z.enum([...USAGE_WINDOWS, ...HISTORY_WINDOWS]);
const percentiles = {
  coldP50Ms: millis.nullable(),
  coldP95Ms: millis.nullable(),
  warmP50Ms: millis.nullable(),
  warmP95Ms: millis.nullable(),
  initP50Ms: millis.nullable(),
  initP95Ms: millis.nullable(),
};

/** One bucket of a series (a minute, or an hour for 24h, 7d and 30d). */
export const usagePoint = z.strictObject({
  /** The bucket's start, Unix ms. */
  at: time,
  invocations: count,
  errors: count,
  coldStarts: count,
  scaleToZero: count,
  p50Ms: millis.nullable(),
  p95Ms: millis.nullable(),
  p99Ms: millis.nullable(),
  ...percentiles,
});

export const usageSeriesAnswer = z.strictObject({
  function: z.string(),
  window,
  from: time,
  to: time,
  /** Width of each point's bucket. */
  stepMs: count,
  points: z.array(usagePoint),
});

const coldStartNumbers = {
  invocations: count,
  coldStarts: count,
  /** coldStarts / invocations (0 without invocations). */
  coldStartRatio: z.number().min(0).max(1),
  ...percentiles,
  /** How much slower a cold call is at the median: coldP50Ms − warmP50Ms (null without both). */
  coldPenaltyMs: z.number().nullable(),
  scaleToZero: count,
  warmInstances: count,
};

export const coldStartFunction = z.strictObject({
  function: z.string(),
  /** As the functions list says it: `not deployed` when no version serves it (it said `cold`). */
  state: z.enum(SHOWN_STATES),
  /** The function's minWarm and maxInstances limits (what keeps it warm, how far it scales). */
  minWarm: count,
  maxInstances: count,
  ...coldStartNumbers,
  /** When its latest cold start in the window happened (the start of that bucket), or null. */
  lastColdAt: time.nullable(),
});

export const coldStartsAnswer = z.strictObject({
  window,
  from: time,
  to: time,
  stepMs: count,
  /** Every function together. */
  summary: z.strictObject({ functions: count, ...coldStartNumbers }),
  /** One row per function, most cold starts first. */
  functions: z.array(coldStartFunction),
  /** Every function merged, bucket by bucket, oldest first. */
  points: z.array(usagePoint),
});

const draftFile = z.strictObject({ path: z.string(), content: z.string() });
export const draftAnswer = z.strictObject({
  draft: z.strictObject({
    function: z.string(),
    baseVersion: int.min(1).nullable(),
    files: z.array(draftFile),
    removed: z.array(z.string()),
    revision: int.min(1),
    updatedAt: time,
    updatedBy: z.string(),
  }),
});

export const testCaseView = z.strictObject({
  name: z.string(),
  mode: z.enum(TEST_CASE_MODES),
  /** The body of a test invoke (`POST /functions/{name}/invoke`). */
  request: z.record(z.string(), z.unknown()),
  createdAt: time,
  updatedAt: time,
});
export const testCaseAnswer = z.strictObject({ testCase: testCaseView });
export const testCaseList = z.strictObject({ items: z.array(testCaseView) });

export const versionFileAnswer = z.strictObject({
  path: z.string(),
  sha256: z.string(),
  size: count,
  /** `utf-8`: `content` is the text; `base64`: the bytes are not UTF-8 text. */
  encoding: z.enum(['utf-8', 'base64']),
  content: z.string(),
});

export const validationAnswer = z.strictObject({
  ok: z.boolean(),
  problems: z.array(codeProblem),
  warnings: z.array(codeProblem),
  /** The entrypoint as found (`module:attr`), where, and what it is. */
  entrypoint: z.strictObject({
    value: z.string(),
    file: z.string().nullable(),
    line: int.nullable(),
    kind: z.string().nullable(),
  }),
  /** platform.yaml as written (JSON), for `POST …/versions`; null without one or when it does not parse. */
  manifest: z.unknown(),
  /** The Python that checked the code (the runtime's), and how many modules it compiled. */
  python: z.strictObject({ version: z.string(), checked: count }),
});

export const triggerList = z.strictObject({
  items: z.array(
    z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('http'), invokeUrl: z.string(), asyncUrl: z.string().optional(), auth: z.enum(['public', 'token']), invocation: z.enum(['sync', 'async', 'both']) }),
      z.strictObject({
        type: z.literal('webhook'), id: z.string(), style: z.enum(['github', 'stripe']), sync: z.boolean(), url: z.string(),
        /** Where a delivery calls the app (the manifest's `path`, default `/`). */
        path: z.string(),
        /** While a rotation's grace lasts: until when the previous secret is still accepted. */
        previousSecretValidUntil: time.nullable(),
        /**
         * Deliveries this process refused at their signature since it started (no run is made for
         * them), and the last one: its time, code and, for a header of the wrong shape or sent
         * twice, `detail`. Null when none was. Per process: in production mode each keeps its own.
         */
        refused: z.strictObject({
          count,
          last: z.strictObject({ at: time, code: z.enum(WEBHOOK_FAILURE_CODES), detail: z.enum(WEBHOOK_REFUSAL_DETAILS).optional() }),
        }).nullable(),
      }),
      z.strictObject({
        type: z.literal('cron'), id: z.string(), schedule: z.string(), timezone: z.string(),
        /** Where each tick calls the app (the manifest's `method` and `path`, default `POST /`). */
        method: z.enum(['POST', 'GET']), path: z.string(),
        /** Fires only while the function is deployed and not paused. */
        active: z.boolean(),
        /** The next fire times, Unix ms. */
        nextFires: z.array(time),
        /**
         * Ticks recorded as missed (CRON_TICK_MISSED runs, ADR 0238): the last one's time (null: none
         * yet) and how many since the last tick that fired. Null when the tick lock keeps no note of the
         * trigger (never claimed yet) or could not answer.
         */
        missed: z.strictObject({ lastAt: time.nullable(), sinceLastFired: count }).nullable(),
      }),
    ]),
  ),
});

export const asyncAccepted = z.strictObject({ runId: z.string(), statusUrl: z.string() });
