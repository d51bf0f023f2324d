/**
 * Opens the TickLock for a mode: SQLite in the state directory (embedded; processes on one host
 * share it) or Redis (production; every platform process on that Redis). The lock owns its connection.
 */
import { openSqliteTickLock } from './locks.js';
import { MemoryReplayGuard } from './replay.js';
import type { ReplayGuard, TickLock } from './types.js';

export type TickLockConfig = { kind: 'embedded'; stateDir: string } | { kind: 'production'; redisUrl: string; prefix: string };

export async function openTickLock(config: TickLockConfig): Promise<TickLock> {
  if (config.kind === 'embedded') return openSqliteTickLock({ stateDir: config.stateDir });
  const { redisTickLock } = await import('./redis.js');
  const { openRedis } = await import('../../store/production/redis-client.js');
  return redisTickLock({ client: await openRedis(config.redisUrl), ownsClient: true, prefix: config.prefix });
}

/**
 * Opens the webhooks' ReplayGuard: in memory (embedded: one process serves the hooks) or Redis
 * (production: shared by every gateway, so a delivery is accepted once). The guard owns its connection.
 */
export async function openReplayGuard(config: ReplayGuardConfig): Promise<ReplayGuard> {
  if (config.kind === 'embedded') return new MemoryReplayGuard();
  const { redisReplayGuard } = await import('./redis.js');
  const { openRedis } = await import('../../store/production/redis-client.js');
  return redisReplayGuard({ client: await openRedis(config.redisUrl), ownsClient: true, prefix: config.prefix });
}

export type ReplayGuardConfig = { kind: 'embedded' } | { kind: 'production'; redisUrl: string; prefix: string };
