/** Cron and webhook triggers' public door: the scheduler, tick locks, signature checks and replay guards. Docs: docs/triggers.md, ADR 0008. */
export * from './types.js';
export { isTriggerError, TriggerError, TRIGGER_ERROR_CODES, WEBHOOK_FAILURE_CODES, type TriggerErrorCode, type WebhookFailureCode } from './errors.js';
export { DEFAULT_TIMEZONE, parseSchedule, type Schedule } from './schedule.js';
export { CronScheduler, DEFAULT_MAX_LATE_MS, type CronSchedulerOptions, type FiredTrigger, type FireResult } from './scheduler.js';
export { DEFAULT_TICK_LOCK_TTL_MS, MemoryTickLock, openSqliteTickLock, TICK_LOCK_DB_FILE, type SqliteTickLockOptions } from './locks.js';
export { redisReplayGuard, redisTickLock, type RedisTriggerOptions } from './redis.js';
export {
  DEFAULT_TOLERANCE_MS,
  GITHUB_SIGNATURE_HEADER,
  parseStripeHeader,
  secretsInForce,
  STRIPE_SIGNATURE_HEADER,
  verifyGithubSignature,
  verifyStripeSignature,
  type HeaderValue,
  type StripeOptions,
} from './webhook.js';
export { checkReplay, openSqliteReplayGuard, replayKey } from './replay.js';
export { cronIdempotencyKey, cronJob, enqueueTicks } from './fire.js';
export { signatureHeader, verifyWebhook, type LowerCaseHeaders } from './verify.js';
export { HookRefusals, MAX_TALLIED_TRIGGERS, type LastRefusal, type RefusalTally } from './refusals.js';
export { missedTickRecord, missedTickRunId, outageRecord } from './missed.js';
