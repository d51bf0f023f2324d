/** Admission limits (docs/adr/0011-tenants.md, 0022-limiter-leases.md): the port and both adapters; platform/adapters.ts chooses. */
export { ADMITTED, type AdmissionLimiter, type Bucket, type LimitVerdict } from './types.js';
export { LEASE_WINDOW_MS, LeaseLedger, leaseSize, MAX_LEASE, type Grant, type LeaseSource } from './lease.js';
export { MemoryLimiter } from './memory.js';
export { LIMITER_CLIENT_OPTIONS, RedisLimiter, type RedisLimiterOptions } from './redis.js';
