/** The async queue's public door: the port, its errors and both adapters. Guarantees: docs/queue.md. */
export * from './types.js';
export { QUEUE_ERROR_CODES, QueueError, isQueueError, type QueueErrorCode } from './errors.js';
export { openSqliteQueue, type SqliteQueueOptions } from './sqlite.js';
export { openRedisQueue, type RedisQueueOptions } from './redis.js';
export { LuaScript, redisRefusal } from './redis-scripts.js';
export { admitFirst } from './admit.js';
export { ForwardingQueue } from './forwarding.js';
