/** The HotMetrics port, its shared math, and the embedded (in-memory) adapter. */
export * from './types.js';
export { MemoryHotMetrics } from './memory.js';
export { SampleBatch, type MinuteTally, type Samples } from './batch.js';
export { HISTORY_RETENTION_MS, HISTORY_WINDOWS, historyHours, isHistoryWindow, type HistoryWindow, type UsageHistory } from './history.js';
export { bucketIndex, bucketLower, bucketUpper, emptyTally, FINITE_BUCKETS, LATENCY_BUCKETS, mergeTally, percentile, warmLatency, windowBuckets, type Tally } from './histogram.js';
export { splitPercentiles } from './usage.js';
