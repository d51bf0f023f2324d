/** Admission limits (docs/adr/0011-tenants.md): the port and both adapters; platform/adapters.ts chooses. */
export { ADMITTED, type AdmissionLimiter, type Bucket, type LimitVerdict } from './types.js';
export { MemoryLimiter } from './memory.js';
export { LIMITER_CLIENT_OPTIONS, RedisLimiter, type RedisLimiterOptions } from './redis.js';
