/**
 * One Redis prefix, one platform (docs/adr/0130-one-redis-prefix-one-platform.md). Two platforms
 * with their own MongoDB databases but the same FP_REDIS_PREFIX (the default `fp` left on both,
 * staging and production on one Redis) shared the async queue: one platform's dispatcher claimed
 * the other's runs and ran its own function of that name with the other's payload (reliability
 * round 7: 3 of 40 runs), or failed them FUNCTION_NOT_FOUND; config changes, tails and metrics
 * crossed too. The prefix is now claimed by the database's id (`<p>:v1:owner`, SET NX, no TTL: the
 * queue's keys under the prefix are that platform's for as long as they exist). A start on a prefix
 * another database holds is refused REDIS_PREFIX_IN_USE; a running process claims again every few
 * seconds and after each reconnect (a Redis that restarted without persistence, or was flushed,
 * lost the claim with the rest); while another platform holds it, the process claims no job from
 * the queue, refuses async intake, says so on /readyz and logs once.
 */
import type { Redis } from 'ioredis';
import { PlatformError, type ReadinessProblem } from '../../../protocol/index.js';

/** What the owner key holds: the database's id, and for the refusal's words where that database is. */
export interface PrefixOwner {
  id: string;
  /** The MongoDB database's name and server (no credentials), for operators. */
  database: string;
}

/** Claims the prefix for `mine` (SET NX) and answers who holds it now (`mine` or another). */
export async function claimPrefix(client: Redis, key: string, mine: PrefixOwner): Promise<PrefixOwner> {
  const value = JSON.stringify(mine);
  const set = await client.set(key, value, 'NX');
  if (set === 'OK') return mine;
  const held = await client.get(key);
  if (held === null) return claimPrefix(client, key, mine); // removed between the two: claim again
  return parseOwner(held);
}

function parseOwner(text: string): PrefixOwner {
  try {
    const parsed = JSON.parse(text) as Partial<PrefixOwner>;
    if (typeof parsed.id === 'string') return { id: parsed.id, database: typeof parsed.database === 'string' ? parsed.database : '?' };
  } catch {
    // not ours: someone else's value under our key name
  }
  return { id: text, database: '?' };
}

export interface PrefixClaimOptions {
  client: Redis;
  /** `<prefix>:v1:owner`. */
  key: string;
  prefix: string;
  mine: PrefixOwner;
  log: (line: string) => void;
  /** How often a running process claims again (default 5 s). */
  intervalMs?: number;
}

/** Holds the claim for a running process: `start` refuses a taken prefix, then watches it. */
export class PrefixClaim {
  private other: PrefixOwner | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly onReady = (): void => void this.check();

  constructor(private readonly o: PrefixClaimOptions) {
    this.timer = setInterval(() => void this.check(), o.intervalMs ?? 5_000);
    this.timer.unref();
    o.client.on('ready', this.onReady);
  }

  /** The first claim: throws REDIS_PREFIX_IN_USE when another database holds the prefix. */
  async start(): Promise<void> {
    const holder = await claimPrefix(this.o.client, this.o.key, this.o.mine);
    if (holder.id !== this.o.mine.id) throw this.refusal(holder);
  }

  /**
   * Refuses async intake while another platform holds the prefix (the run would be in its queue).
   * Callers are told no more than that: where the other platform's database is goes to the log.
   */
  admit(): void {
    if (this.other !== null) throw new PlatformError('REDIS_PREFIX_IN_USE', `${this.short()}; nothing was queued`);
  }

  /** False while another platform holds the prefix: this process takes no job from its queue. */
  owned(): boolean {
    return this.other === null;
  }

  /** For /readyz (shown without a token: the other database is named in the log only). */
  problem(): ReadinessProblem | null {
    return this.other === null ? null : { code: 'REDIS_PREFIX_IN_USE', message: `${this.short()}; async runs are refused until it is this platform's again (the log names the other platform)` };
  }

  private short(): string {
    return `another platform keeps its queue under this platform's Redis prefix '${this.o.prefix}': the operator must give each platform its own FP_REDIS_PREFIX`;
  }

  close(): void {
    clearInterval(this.timer);
    this.o.client.off('ready', this.onReady);
  }

  private async check(): Promise<void> {
    let holder: PrefixOwner;
    try {
      holder = await claimPrefix(this.o.client, this.o.key, this.o.mine);
    } catch {
      return; // Redis down: the next check, or the reconnect, claims again
    }
    const other = holder.id === this.o.mine.id ? null : holder;
    if (other !== null && this.other === null) this.o.log(`platform: ERROR: ${this.refusal(other).message}`);
    if (other === null && this.other !== null) this.o.log(`platform: the Redis prefix '${this.o.prefix}' is this platform's again; async runs are accepted`);
    this.other = other;
  }

  private refusal(holder: PrefixOwner): PlatformError {
    return new PlatformError(
      'REDIS_PREFIX_IN_USE',
      `the Redis prefix '${this.o.prefix}' holds the queue and live state of another platform (MongoDB database ${holder.database}; this one is ${this.o.mine.database}): ` +
      `give each platform its own FP_REDIS_PREFIX; if that platform is gone for good and its queued runs may be dropped, delete the key ${this.o.key} in Redis`,
      { prefix: this.o.prefix, database: holder.database },
    );
  }
}
