/**
 * The trigger modules' types and ports: cron triggers with the TickLock that makes a tick fire
 * once across control planes, and webhook secrets with the ReplayGuard that refuses a Stripe-style
 * delivery seen before. All times are Unix ms unless a name says otherwise. Docs: docs/triggers.md.
 */
import { WEBHOOK_FAILURE_CODES, type WebhookFailureCode } from './errors.js';

/** Names one trigger: trigger ids are unique per function (`/hooks/<function>/<triggerId>`). */
export interface TriggerRef {
  function: string;
  triggerId: string;
}

/** A function's schedule. */
export interface CronTrigger extends TriggerRef {
  /** Five fields, or six with seconds first (`*\/5 * * * * *`); aliases like `@hourly` too. */
  expression: string;
  /** IANA time zone the expression is read in (default `UTC`). */
  timezone?: string;
  /** The body every tick's run receives (default empty). */
  payload?: Uint8Array;
  /** Where each tick calls the app (default `POST /`; ADR 0175). */
  at?: TickTarget;
}

/** Where a cron tick calls the app: the manifest's `method` and `path`. */
export interface TickTarget {
  method: 'POST' | 'GET';
  path: string;
}

/**
 * Claims one tick of one trigger for one scheduler. Every scheduler asks before firing; exactly
 * one of them gets `true` per (trigger, tick). Throws TRIGGER_UNAVAILABLE when the lock's store
 * cannot answer (the tick is then skipped by that scheduler, never fired unclaimed).
 */
export interface TickLock {
  acquire(ref: TriggerRef, tickMs: number): Promise<boolean>;
  /**
   * Marks a claimed tick done: its run was queued, or the tick was skipped on purpose (paused,
   * limited). A claim never settled is a claimer that died (or whose enqueue failed) between the
   * claim and the queue (ADR 0264). A lock without `settle` and `unsettled` recovers nothing.
   */
  settle?(ref: TriggerRef, tickMs: number): Promise<void>;
  /** Of `ticks`, the ones claimed and not settled; a starting scheduler fires them again (the idempotency key keeps one run). */
  unsettled?(ref: TriggerRef, ticks: readonly number[]): Promise<number[]>;
  /**
   * The trigger's lasting note (ADR 0238): kept past the claims' lifetime, so a start can tell how
   * many ticks fell in an outage, and the listing how many were missed. Null: never claimed here.
   * A lock without the note's three methods counts no outage and lists no missed ticks.
   */
  note?(ref: TriggerRef): Promise<TickNote | null>;
  /** A claimed tick's run was queued: the count of missed ticks since the last fired one starts again at 0. */
  noteFired?(ref: TriggerRef, tickMs: number): Promise<void>;
  /**
   * `count` ticks, the last at `lastMs`, were recorded as missed. With `fromTickMs` (an outage's
   * summary) only if the note's `lastTickMs` still is `fromTickMs`, then moved to `lastMs`: false
   * when another process recorded that outage first. Without it (one claimed tick), always.
   */
  noteMissed?(ref: TriggerRef, lastMs: number, count: number, fromTickMs?: number): Promise<boolean>;
  /**
   * The trigger was set at `atMs` on a running scheduler (a deploy, a resume, a change): it was not
   * scheduled before (new, paused, another version), so no tick before `atMs` is missed. Moves an
   * existing note's `lastTickMs` up to `atMs` (never down); makes no note (loose ends round 14).
   */
  noteArmed?(ref: TriggerRef, atMs: number): Promise<void>;
  /**
   * The function `fn` was deleted: its triggers' notes and claims go, so a function created again
   * with the name starts without them (its listing, its first start's outage count). Redis: they go
   * with the function's keys (`functionPattern`), this is not needed there (loose ends round 14).
   */
  forgetFunction?(fn: string): Promise<void>;
  close(): Promise<void>;
}

/** Ticks nobody claimed while the platform was down, told as one (ADR 0238). `more`: the count stopped at its bound, there were more. */
export interface MissedTicks {
  firstMs: number;
  lastMs: number;
  count: number;
  more: boolean;
  /** `down`: no process ran to claim them (found at a start); `late`: a running process's timer woke past them (a wall-clock step forward, a stopped process or machine). */
  cause: 'down' | 'late';
}

/** What the tick lock remembers of one trigger past its claims (ADR 0238). */
export interface TickNote {
  /** The last tick claimed (the platform saw it scheduled), or the last one an outage's summary covered. */
  lastTickMs: number;
  /** The last tick recorded as missed (CRON_TICK_MISSED), or null. */
  lastMissedMs: number | null;
  /** Ticks recorded as missed since the last one fired. */
  missedSinceFired: number;
}

/**
 * Remembers Stripe-style deliveries. `firstSeen` records `key` for `ttlMs` and answers whether it
 * was new; one atomic step, so two gateways checking the same delivery never both get `true`.
 * Throws TRIGGER_UNAVAILABLE when its store cannot answer.
 */
export interface ReplayGuard {
  firstSeen(ref: TriggerRef, key: string, ttlMs: number): Promise<boolean>;
  /**
   * Drops `key`: the delivery `firstSeen` recorded was then not accepted (refused 429 or 503, or
   * its run could not be queued), so the sender's retry of the same bytes is no replay.
   */
  forget(ref: TriggerRef, key: string): Promise<void>;
  close(): Promise<void>;
}

/** Webhook signature styles. */
export const WEBHOOK_STYLES = ['github', 'stripe'] as const;
export type WebhookStyle = (typeof WEBHOOK_STYLES)[number];

/**
 * A trigger's signing secrets. After a rotation the old secret stays valid until
 * `previousValidUntil` (the grace period), so senders can switch over without failures.
 */
export interface WebhookSecrets {
  current: string | Uint8Array;
  previous?: string | Uint8Array;
  /** Unix ms; without it `previous` is not accepted. */
  previousValidUntil?: number;
}

/**
 * A verified request: which secret matched; Stripe style adds the signed `t` (Unix seconds) and the
 * delivery's digest (hex SHA-256 of the signed bytes; the replay guard's key, the same whichever
 * secret or v1 verified it).
 */
export interface WebhookAccepted {
  ok: true;
  secret: 'current' | 'previous';
  timestamp?: number;
  delivery?: string;
}

/**
 * Why a signature header was refused before any secret was tried: not of the style's shape, or sent
 * more than once. Absent when the header had the right shape and matched no secret in force. The shape
 * is public (docs/triggers.md), so saying it tells a sender nothing about a secret.
 */
export const WEBHOOK_REFUSAL_DETAILS = ['malformed', 'repeated'] as const;
export type WebhookRefusalDetail = (typeof WEBHOOK_REFUSAL_DETAILS)[number];

export interface WebhookRefused {
  ok: false;
  code: WebhookFailureCode;
  detail?: WebhookRefusalDetail;
}

export type WebhookVerdict = WebhookAccepted | WebhookRefused;

/** A function's webhook, reached at `/hooks/<function>/<triggerId>`. */
export interface WebhookTrigger extends TriggerRef {
  style: WebhookStyle;
  secrets: WebhookSecrets;
  /** Stripe style: how far the signed time may be from now (default 300 000). */
  toleranceMs?: number;
  /** Answer with the run's result instead of 202 (the route waits; default false). */
  sync?: boolean;
  /** Where a delivery calls the app (default `/`). */
  path?: string;
}

/**
 * What became of one tick in one scheduler (`fp_cron_ticks_total{outcome}`): queued as a run;
 * claimed by another scheduler (in a cluster every tick is `fired` once and `skipped_locked` by
 * the others); woke too late (a stalled process); the function was paused; the function's rate
 * limit or its workspace's invocationsPerMinute refused it; the tick lock's store failed; queueing
 * the run failed; claimed by a scheduler that stopped before queueing it, and found by a start only
 * past `maxLateMs`, so recorded as missed (CRON_TICK_MISSED, ADR 0264), not fired; or claimed by
 * nobody while no scheduler ran, counted by a start from the lock's note (ADR 0238).
 */
export const CRON_TICK_OUTCOMES = ['fired', 'skipped_locked', 'skipped_late', 'skipped_paused', 'skipped_limited', 'failed_lock', 'failed_enqueue', 'missed'] as const;
export type CronTickOutcome = (typeof CRON_TICK_OUTCOMES)[number];

/** Where the cron scheduler counts its ticks. Calls are cheap and must not throw. */
export interface CronMetrics {
  tick(ref: TriggerRef, outcome: CronTickOutcome): void;
}

/**
 * The verdict on one webhook request for a known function (`fp_webhook_verdicts_total{verdict}`):
 * `accepted` (the signature is good and, Stripe style, the delivery new), a refusal code, no such
 * trigger, or the replay guard could not answer.
 */
export const WEBHOOK_VERDICTS = ['accepted', ...WEBHOOK_FAILURE_CODES, 'TRIGGER_NOT_FOUND', 'TRIGGER_UNAVAILABLE'] as const;
export type WebhookVerdictLabel = (typeof WEBHOOK_VERDICTS)[number];

/** Where webhook verdicts are counted. Calls are cheap and must not throw. */
export interface WebhookMetrics {
  verdict(fn: string, verdict: WebhookVerdictLabel): void;
}
