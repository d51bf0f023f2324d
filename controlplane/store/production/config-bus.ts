/**
 * The ConfigBus on Redis pub/sub, channel `<prefix>:v1:config` (protocol/redis-keys.ts). One client
 * publishes, a second one subscribes; each message names its origin so a process skips its own.
 * ioredis re-subscribes after a reconnect; every `ready` of the subscriber (the first included)
 * asks the listener for a full resync, covering whatever was published while it was away.
 */
import type { Redis } from 'ioredis';
import { redisKeys } from '../../../protocol/index.js';
import { parseConfigMessage, type ConfigBus, type ConfigChange, type ConfigListener } from '../config-bus.js';
import { connectRedis, connectRedisSubscriber } from './redis-client.js';
import { redisFailure } from './redis-words.js';

export interface RedisConfigBusOptions {
  redisUrl: string;
  prefix?: string;
  /** This process's id (a message from it is not delivered back). */
  origin: string;
  log: (line: string) => void;
}

/** How long a change whose publish failed waits before it is published again (doubling up to the max). */
const REPUBLISH_FIRST_MS = 500;
const REPUBLISH_MAX_MS = 10_000;

export class RedisConfigBus implements ConfigBus {
  private readonly channel: string;
  private readonly pub: Redis;
  private sub: Redis | null = null;
  /**
   * Changes whose publish failed, by what they name (at most one per function, workspace, and the
   * tokens), published again until it works. The others resync only when their own connection
   * comes back: one cut from Redis on this process's side alone (a partition, a publish timed out
   * on a slow Redis) never does, and kept serving the old settings, a revoked token included
   * (reliability round 3).
   */
  private readonly unsent = new Map<string, ConfigChange>();
  private retry: NodeJS.Timeout | null = null;
  private retryMs = REPUBLISH_FIRST_MS;
  private closed = false;

  constructor(private readonly options: RedisConfigBusOptions) {
    this.channel = redisKeys(options.prefix).configChannel();
    this.pub = connectRedis(options.redisUrl);
  }

  publish(change: ConfigChange): void {
    const key = JSON.stringify(change);
    this.unsent.delete(key);
    this.send(change).catch((err: unknown) => {
      this.options.log(`controlplane: could not publish a config change (${change.kind}) to the other processes (sent again until Redis takes it): ${redisFailure(this.pub, err)}`);
      this.unsent.set(key, change);
      this.scheduleRetry();
    });
  }

  private async send(change: ConfigChange): Promise<void> {
    await this.pub.publish(this.channel, JSON.stringify({ origin: this.options.origin, change }));
  }

  /** Publishes the unsent changes again after a backoff; a message that comes late is only late: each says "read X again". */
  private scheduleRetry(): void {
    if (this.retry !== null || this.closed || this.unsent.size === 0) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      const pending = [...this.unsent];
      void Promise.all(pending.map(async ([key, change]) => {
        try {
          await this.send(change);
          if (this.unsent.get(key) === change) this.unsent.delete(key);
          return true;
        } catch {
          return false;
        }
      })).then((sent) => {
        if (sent.every(Boolean) && this.unsent.size === 0) {
          this.retryMs = REPUBLISH_FIRST_MS;
          this.options.log(`controlplane: config changes published again (${pending.length})`);
        } else {
          this.retryMs = Math.min(this.retryMs * 2, REPUBLISH_MAX_MS);
        }
        this.scheduleRetry();
      });
    }, this.retryMs);
    this.retry.unref();
  }

  async start(listener: ConfigListener): Promise<void> {
    // Commands must wait for the connection here: SUBSCRIBE is sent again on every reconnect.
    const sub = connectRedisSubscriber(this.options.redisUrl);
    this.sub = sub;
    sub.on('message', (channel: string, text: string) => {
      if (channel !== this.channel) return;
      const msg = parseConfigMessage(text);
      if (msg !== null && msg.origin !== this.options.origin) listener.changed(msg.change);
    });
    let first = true;
    sub.on('ready', () => {
      if (first) first = false;
      else this.options.log('controlplane: config bus reconnected; resyncing from the store');
      listener.resync();
    });
    sub.subscribe(this.channel).catch((err: unknown) => this.options.log(`controlplane: could not subscribe to the other processes' config changes: ${redisFailure(sub, err)}`));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry !== null) clearTimeout(this.retry);
    this.sub?.disconnect();
    this.pub.disconnect();
  }
}
