/**
 * What the other gateways of a cluster hold, for the one decision that spans replicas: minWarm.
 * Each gateway's reaper keeps a function's minWarm instances itself; with several gateways that
 * would keep replicas × minWarm. With a FleetView it keeps only what the gateways ranked before
 * it (by reporter id) do not already hold: the first gateway holding instances keeps up to
 * minWarm, the others scale to zero. Reports are the control plane's warm reports
 * (controlplane/runs/warm-reporter.ts: `<instances>:<expires at ms>` per reporter, refreshed every
 * warmReportIntervalMs), so a dead gateway stops counting within three report intervals.
 * Docs: docs/kubernetes.md ("Scale"), docs/poolmgr.md.
 */
import type { Redis } from 'ioredis';
import { redisKeys } from '../protocol/index.js';

export interface FleetView {
  /** Live instances of function `name` held by gateways ranked before this one; 0 when unknown. */
  warmAhead(name: string): number;
  close(): Promise<void>;
}

export interface RedisFleetOptions {
  redisUrl: string;
  prefix: string;
  /** This gateway's reporter id (the control plane's); gateways are ranked by it. */
  reporterId: string;
  /** How often the reports of the functions asked about are read again (default 2 000). */
  refreshMs?: number;
}

/** A function nobody asked about for this long is no longer read. */
const FORGET_MS = 10 * 60_000;

export class RedisFleetView implements FleetView {
  private readonly keys: ReturnType<typeof redisKeys>;
  private readonly asked = new Map<string, number>();
  private readonly ahead = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly options: RedisFleetOptions, private readonly redis: Redis) {
    this.redis.on('error', () => {}); // a failed refresh keeps the last view
    this.keys = redisKeys(options.prefix);
  }

  static async open(options: RedisFleetOptions): Promise<RedisFleetView> {
    // Loaded here, not with the module: the embedded default never needs the Redis client (~0.25 s, ~24 MB).
    const { Redis } = await import('ioredis');
    const view = new RedisFleetView(options, new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 }));
    await view.redis.connect();
    view.timer = setInterval(() => void view.refresh().catch(() => {}), options.refreshMs ?? 2_000);
    view.timer.unref();
    return view;
  }

  warmAhead(name: string): number {
    this.asked.set(name, Date.now());
    return this.ahead.get(name) ?? 0;
  }

  /** Reads the reports of every function asked about lately. */
  async refresh(): Promise<void> {
    const now = Date.now();
    const names = [...this.asked].filter(([name, at]) => {
      if (now - at < FORGET_MS) return true;
      this.asked.delete(name);
      this.ahead.delete(name);
      return false;
    }).map(([name]) => name);
    if (names.length === 0) return;
    const p = this.redis.pipeline();
    for (const name of names) p.hgetall(this.keys.warm(name));
    const replies = (await p.exec()) ?? [];
    names.forEach((name, i) => {
      const [err, hash] = replies[i] ?? [null, null];
      if (err !== null || hash === null) return;
      let sum = 0;
      for (const [reporter, value] of Object.entries(hash as Record<string, string>)) {
        if (reporter >= this.options.reporterId) continue;
        const [n, expires] = value.split(':').map(Number) as [number, number];
        if (Number.isFinite(n) && expires > now) sum += n;
      }
      this.ahead.set(name, sum);
    });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.redis.disconnect();
  }
}
