/** Async runs wired to the gateway and the API: intake, run views, the platform's AttemptRunner. Docs: docs/api-invoke.md ("Async"). */
export { AsyncRuns, type AsyncRunView, type AsyncRunSummary, type AsyncRunListRequest } from './service.js';
export { InvokerRunner } from './runner.js';
export { openSqliteAsyncRuns, type AsyncRunIndex, type AsyncRunInfo, type AsyncRunResult, type AsyncRunEntry, type AsyncRunListQuery } from './runs-sqlite.js';
export { encodeCall, decodeCall, decodeEnvelope, type QueuedTrigger } from './envelope.js';
export { acceptInOrder, cancelInOrder, type AcceptRun, type CancelRun } from './accept.js';
export { RedisAsyncRuns, RedisRunTimeline, type RedisAsyncOptions } from './redis.js';
export { recordedAccept, recordingQueue } from './acceptance.js';
export { reacceptLost, Reacceptor, REQUEUED_AFTER_LOSS, type ReacceptOptions } from './reaccept.js';
