/**
 * What the gateways sharing one Kubernetes runtime pool agree on besides the Pods' labels (which
 * already make a lease exclusive: docs/adr/0012-kubernetes-host.md): which one keeps the warm
 * Pods at their target, so that two replicas do not both fill the same gap, and which hosts are
 * alive, so that the Pods held by a dead one are cleaned up. The local coordinator is for a
 * single gateway; several gateways share Redis.
 */
import type { Redis } from 'ioredis';
import { redisKeys } from '../../../protocol/index.js';

export interface PoolCoordinator {
  /** True while this host keeps the warm Pods at their target (and trims a surplus). */
  isFiller(): boolean;
  /** False when `hostId` is known to be gone: its leased Pods are strays. */
  isAlive(hostId: string): boolean;
  close(): Promise<void>;
}

/** One gateway: it fills the pool, and any other holder is a past life of the platform. */
export class LocalCoordinator implements PoolCoordinator {
  constructor(private readonly hostId: string) {}
  isFiller(): boolean {
    return true;
  }
  isAlive(hostId: string): boolean {
    return hostId === this.hostId;
  }
  async close(): Promise<void> {}
}

export interface RedisCoordinatorOptions {
  redisUrl: string;
  prefix: string;
  pool: string;
  hostId: string;
  /** A heartbeat or filler claim lives this long unless renewed (renewed every third of it). */
  ttlMs?: number;
  log?: (line: string) => void;
}

// Renews the filler claim only if this host still holds it; claims it if nobody does.
const CLAIM = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** Several gateways: heartbeats and the filler claim in Redis, refreshed in the background. */
export class RedisCoordinator implements PoolCoordinator {
  private readonly keys: ReturnType<ReturnType<typeof redisKeys>['kubePool']>;
  private readonly ttlMs: number;
  private filler = false;
  /** Hosts seen alive or dead at the last refresh. */
  private readonly alive = new Map<string, boolean>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly options: RedisCoordinatorOptions, private readonly redis: Redis) {
    this.redis.on('error', () => {}); // reported through failed refreshes
    this.keys = redisKeys(options.prefix).kubePool(options.pool);
    this.ttlMs = options.ttlMs ?? 15_000;
  }

  static async open(options: RedisCoordinatorOptions): Promise<RedisCoordinator> {
    // Loaded here, not with the module: a platform without Redis never needs its client.
    const { Redis } = await import('ioredis');
    const c = new RedisCoordinator(options, new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true }));
    await c.redis.connect();
    await c.refresh();
    c.timer = setInterval(() => void c.refresh().catch((err: unknown) => c.options.log?.(`kubernetes host: Redis refresh failed: ${String(err)}`)), Math.max(100, Math.floor(c.ttlMs / 3)));
    c.timer.unref();
    return c;
  }

  isFiller(): boolean {
    return this.filler;
  }

  isAlive(hostId: string): boolean {
    if (hostId === this.options.hostId) return true;
    // Unknown until the next refresh asks Redis: alive (never delete a Pod on a guess).
    const known = this.alive.get(hostId);
    if (known === undefined) this.alive.set(hostId, true);
    return known ?? true;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    try {
      await this.redis.del(this.keys.host(this.options.hostId));
      if (this.filler) await this.redis.eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, 1, this.keys.filler, this.options.hostId);
    } finally {
      this.redis.disconnect();
    }
  }

  private async refresh(): Promise<void> {
    if (this.closed) return;
    const ttl = String(this.ttlMs);
    const multi = this.redis.multi().set(this.keys.host(this.options.hostId), '1', 'PX', ttl).eval(CLAIM, 1, this.keys.filler, this.options.hostId, ttl);
    const others = [...this.alive.keys()];
    for (const id of others) multi.exists(this.keys.host(id));
    const replies = await multi.exec();
    if (replies === null) return;
    const claim = replies[1];
    this.filler = claim !== undefined && claim[0] === null && claim[1] === 1;
    others.forEach((id, i) => {
      const r = replies[2 + i];
      if (r !== undefined && r[0] === null) this.alive.set(id, r[1] === 1);
    });
  }
}
