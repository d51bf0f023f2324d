/**
 * Live and stored logs (docs/api.md, "Logs"): the log feed port and its two adapters (memory for
 * the embedded platform, Redis streams for production, chosen in platform/adapters.ts), the SSE
 * framing, the filters, and the reading of stored run records. Why: docs/adr/0014-live-logs.md.
 */
export type { FeedEvent, FeedEntry, FeedLine } from './entries.js';
export { beforeIncarnation } from './entries.js';
export { FEED_DEFAULTS, type FeedLimits, type FeedRead, type FeedStats, type FeedSubscription, type Gap, type LogFeed } from './feed.js';
export { formatFeedId, parseFeedId, type FeedId } from './ids.js';
export { MemoryLogFeed, type MemoryFeedOptions } from './memory-feed.js';
export { RedisLogFeed, type RedisFeedOptions } from './redis-feed.js';
export { filterEvent, keepLine, type LineFilter } from './filter.js';
export { entryEvent, gapEvent, KEEPALIVE, KEEPALIVE_MS, readyEvent, RETRY_MS, sseEvent } from './sse.js';
export { storedLines, type StoredLine, type StoredLines, type StoredQuery } from './stored.js';
