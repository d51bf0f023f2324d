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

export class RedisConfigBus implements ConfigBus {
  private readonly channel: string;
  private readonly pub: Redis;
  private sub: Redis | null = null;

  constructor(private readonly options: RedisConfigBusOptions) {
    this.channel = redisKeys(options.prefix).configChannel();
    this.pub = connectRedis(options.redisUrl);
  }

  publish(change: ConfigChange): void {
    this.pub.publish(this.channel, JSON.stringify({ origin: this.options.origin, change })).catch((err: unknown) => {
      // The others resync when their connection comes back; a lost message is only late, never wrong.
      this.options.log(`controlplane: could not publish a config change (${change.kind}) to the other processes: ${redisFailure(this.pub, err)}`);
    });
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
    this.sub?.disconnect();
    this.pub.disconnect();
  }
}
