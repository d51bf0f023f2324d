/** The async dispatcher's public door: the dispatcher, its ports and the run timelines. Docs: docs/dispatcher.md. */
export * from './types.js';
export { Dispatcher, type DispatcherOptions } from './dispatcher.js';
export { attemptsSpent, backoffCeilingMs, backoffMs, classifyFailure, MAX_RUN_ATTEMPTS, resolvePolicy, retryAfterMsOf, retryDelayMs, type Verdict } from './retry.js';
export { enqueueRun } from './enqueue.js';
export { MemoryRunTimeline } from './timeline-memory.js';
export { openSqliteTimeline, type SqliteTimelineOptions } from './timeline-sqlite.js';
