/**
 * Quotas and rate limits on the embedded platform (docs/adr/0011-tenants.md), hit exactly at their
 * values under concurrent load: functions, a token bucket, calls per minute, instances, stored code
 * and kept logs. Bounded (200 calls at once at most).
 */
import { describe, it } from 'node:test';
import { usePlatform } from './platform-harness.js';
import type { Platform } from './tenants-harness.js';
import { functionsQuota, instancesQuota, invocationsPerMinute, rateLimit, startOfAMinute, storageQuotas } from './tenants-limits.js';

const h = usePlatform({ poolSize: 2 });
const platform = (): Platform => ({ urls: [h.url], rootToken: h.api.token! });

describe('quotas and rate limits (embedded)', () => {
  it('stops concurrent creates exactly at the functions quota (403)', () => functionsQuota(platform()));
  it('lets exactly the burst of a rate limit through 200 concurrent calls (429 RATE_LIMITED + Retry-After)', () => rateLimit(platform()));
  it('lets exactly invocationsPerMinute calls through (429 QUOTA_EXCEEDED + Retry-After)', () => invocationsPerMinute(platform(), () => startOfAMinute()));
  it('never lets a workspace hold more instances than its quota', () => instancesQuota(platform()));
  it('refuses code past codeBytes (403) and keeps no log lines past logBytes', () => storageQuotas(platform()));
});
