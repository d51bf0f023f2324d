/** Async runs wired to the gateway and the API: intake, run views, the platform's AttemptRunner. Docs: docs/api-invoke.md ("Async"). */
export { AsyncRuns, type AsyncRunView } from './service.js';
export { InvokerRunner } from './runner.js';
export { openSqliteAsyncRuns, ASYNC_RUNS_DB_FILE, type AsyncRunIndex, type AsyncRunInfo, type AsyncRunResult } from './runs-sqlite.js';
export { encodeCall, decodeCall, decodeEnvelope, type QueuedTrigger } from './envelope.js';
export { RedisAsyncRuns, RedisRunTimeline, type RedisAsyncOptions } from './redis.js';
