/**
 * Production's async run timeline and run index, in Redis next to the queue, so every platform
 * process sees the same state history and output of a run whatever process accepted or ran it.
 * Keys (one hash tag per run, so a run's keys share a Cluster slot):
 *
 *   <p>:v1:run:{<runId>}:timeline   list of JSON entries: transitions and attempts, in order
 *   <p>:v1:run:{<runId>}:info       hash: f function, at accepted, ro replay of, tr trigger, b the function's incarnation, rs/rh/rb/ra result
 *   <p>:v1:run:{<runId>}:replays    sorted set: runs replaying this one, by acceptance time
 *   <p>:v1:async-runs:ws:{<ws>}     sorted set: the workspace's runs by acceptance time (the listing)
 *   <p>:v1:async-runs:fn:{<key>}    sorted set: one function's runs by acceptance time
 *
 * Every write renews a TTL of `retentionMs` (the run retention), so they go with the run records.
 * The listing sets are trimmed on every write of runs accepted before the retention, and a
 * function's entries leave both when it is deleted (docs/adr/0068-listing-async-runs-by-state.md).
 */
import type { Redis } from 'ioredis';
import { ASYNC_RUN_STATES, type AsyncRunState, type Pairs } from '../../../protocol/index.js';
import { DEFAULT_REDIS_PREFIX, REDIS_KEY_VERSION, workspaceOfKey } from '../../../protocol/index.js';
import type { AttemptRecord, RunTimeline, RunTimelineView, TimelineTransition } from '../dispatcher/index.js';
import { keepWithinBudget } from './redis-result-budget.js';
import { queuedTrigger, resultBytes, type AsyncRunEntry, type AsyncRunIndex, type AsyncRunInfo, type AsyncRunListQuery, type AsyncRunResult, type NewAsyncRun, type ResultBudget } from './runs-sqlite.js';

export interface RedisAsyncOptions {
  client: Redis;
  prefix?: string;
  /** TTL of a run's keys, renewed on every write (default 7 days). */
  retentionMs?: number;
}

type Entry = ({ k: 't' } & TimelineTransition) | ({ k: 'a' } & AttemptRecord);

function runKeys(prefix: string, runId: string): { timeline: string; info: string; replays: string } {
  const base = `${prefix}:${REDIS_KEY_VERSION}:run:{${runId}}`;
  return { timeline: `${base}:timeline`, info: `${base}:info`, replays: `${base}:replays` };
}

function listKeys(prefix: string, fn: string): { ws: string; fn: string } {
  return { ws: `${prefix}:${REDIS_KEY_VERSION}:async-runs:ws:{${workspaceOfKey(fn)}}`, fn: `${prefix}:${REDIS_KEY_VERSION}:async-runs:fn:{${fn}}` };
}

function workspaceListKey(prefix: string, workspace: string): string {
  return `${prefix}:${REDIS_KEY_VERSION}:async-runs:ws:{${workspace}}`;
}

const DEFAULT_RETENTION_MS = 7 * 24 * 3_600_000;

/** A kept incarnation, or null (none kept: a run accepted before it was). */
function bornOf(text: string | null | undefined): number | null {
  const n = text === null || text === undefined ? NaN : Number(text);
  return Number.isFinite(n) ? n : null;
}

export class RedisRunTimeline implements RunTimeline {
  private readonly prefix: string;
  private readonly ttl: number;
  constructor(private readonly o: RedisAsyncOptions) {
    this.prefix = o.prefix ?? DEFAULT_REDIS_PREFIX;
    this.ttl = o.retentionMs ?? DEFAULT_RETENTION_MS;
  }

  async transition(runId: string, state: AsyncRunState, at: number, detail?: string): Promise<void> {
    // `queued` goes to the head: the job is queued before it is written (accept.ts), so another
    // process may have run the run already; appended, it would be the state for ever.
    await this.push(runId, { k: 't', state, at, detail: detail ?? null }, state === 'queued');
  }

  async attempt(runId: string, record: AttemptRecord): Promise<void> {
    await this.push(runId, { k: 'a', ...record });
  }

  async get(runId: string): Promise<RunTimelineView | null> {
    const raw = await this.o.client.lrange(runKeys(this.prefix, runId).timeline, 0, -1);
    if (raw.length === 0) return null;
    const transitions: TimelineTransition[] = [];
    const attempts: AttemptRecord[] = [];
    for (const text of raw) {
      const e = JSON.parse(text) as Entry;
      if (e.k === 't') {
        if (!ASYNC_RUN_STATES.includes(e.state)) throw new Error(`the timeline of ${runId} holds an unknown state: ${String(e.state)}`);
        transitions.push({ state: e.state, at: e.at, detail: e.detail });
      } else {
        const { k: _kind, ...record } = e;
        attempts.push(record);
      }
    }
    return { state: transitions.at(-1)?.state ?? 'running', transitions, attempts };
  }

  async close(): Promise<void> {}

  private async push(runId: string, entry: Entry, first = false): Promise<void> {
    const key = runKeys(this.prefix, runId).timeline;
    const tx = this.o.client.multi();
    (first ? tx.lpush(key, JSON.stringify(entry)) : tx.rpush(key, JSON.stringify(entry))).pexpire(key, this.ttl);
    await tx.exec().then(failed);
  }
}

export class RedisAsyncRuns implements AsyncRunIndex {
  private readonly prefix: string;
  private readonly ttl: number;
  constructor(private readonly o: RedisAsyncOptions) {
    this.prefix = o.prefix ?? DEFAULT_REDIS_PREFIX;
    this.ttl = o.retentionMs ?? DEFAULT_RETENTION_MS;
  }

  async create(run: NewAsyncRun): Promise<void> {
    const k = runKeys(this.prefix, run.runId);
    const tx = this.o.client.multi().hset(k.info, { f: run.function, at: String(run.acceptedAt), tr: run.trigger ?? 'async', ...(run.replayOf !== null ? { ro: run.replayOf } : {}), ...(run.bornAt !== undefined ? { b: String(run.bornAt) } : {}) }).pexpire(k.info, this.ttl);
    await tx.exec().then(failed);
    if (run.replayOf !== null) {
      const replays = runKeys(this.prefix, run.replayOf).replays;
      await this.o.client.multi().zadd(replays, run.acceptedAt, run.runId).pexpire(replays, this.ttl).exec().then(failed);
    }
    // The listing: one set per workspace and per function (each its own slot), trimmed of runs
    // accepted before the retention on every write, so a set holds what the retention keeps.
    const lists = listKeys(this.prefix, run.function);
    const oldest = `(${Date.now() - this.ttl}`;
    await Promise.all([lists.ws, lists.fn].map((key) =>
      this.o.client.multi().zadd(key, run.acceptedAt, run.runId).zremrangebyscore(key, '-inf', oldest).pexpire(key, this.ttl).exec().then(failed)));
  }

  async remove(runId: string): Promise<void> {
    const info = runKeys(this.prefix, runId).info;
    const fn = await this.o.client.hget(info, 'f');
    await this.o.client.del(info);
    if (fn !== null) {
      const lists = listKeys(this.prefix, fn);
      await this.o.client.zrem(lists.ws, runId);
      await this.o.client.zrem(lists.fn, runId);
    }
  }

  async list(q: AsyncRunListQuery): Promise<AsyncRunEntry[]> {
    const key = q.function !== undefined ? listKeys(this.prefix, q.function).fn : workspaceListKey(this.prefix, q.workspace);
    let max = q.until !== undefined ? `(${q.until}` : '+inf';
    if (q.after !== undefined && (q.until === undefined || q.after.acceptedAt < q.until)) max = String(q.after.acceptedAt);
    const min = q.since !== undefined ? String(q.since) : '-inf';
    const out: AsyncRunEntry[] = [];
    const batch = Math.max(q.limit, 50);
    for (let offset = 0; out.length < q.limit;) {
      const raw = await this.o.client.zrevrangebyscore(key, max, min, 'WITHSCORES', 'LIMIT', offset, batch);
      const members: { runId: string; at: number }[] = [];
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const runId = raw[i]!;
        const at = Number(raw[i + 1]);
        // Ties with the cursor's time: only the run ids after it (descending, as ZREVRANGE orders them).
        if (q.after !== undefined && at === q.after.acceptedAt && runId >= q.after.runId) continue;
        members.push({ runId, at });
      }
      const pipe = this.o.client.pipeline();
      for (const m of members) pipe.hmget(runKeys(this.prefix, m.runId).info, 'f', 'ro', 'tr', 'b');
      const infos = members.length === 0 ? [] : ((await pipe.exec()) ?? []);
      const gone: string[] = [];
      members.forEach((m, i) => {
        const [err, fields] = infos[i] ?? [null, null];
        if (err) throw err;
        const [f, ro, tr, b] = (fields ?? []) as (string | null)[];
        // Expired before the set was trimmed: dropped from the set as it is met.
        if (f === null || f === undefined) { gone.push(m.runId); return; }
        if (out.length < q.limit) out.push({ runId: m.runId, function: f, acceptedAt: m.at, replayOf: ro ?? null, trigger: queuedTrigger(tr), bornAt: bornOf(b) });
      });
      if (gone.length > 0) await this.o.client.zrem(key, ...gone);
      if (raw.length < batch * 2) break;
      offset += batch - gone.length;
    }
    return out;
  }

  async forgetFunction(fn: string): Promise<void> {
    const lists = listKeys(this.prefix, fn);
    for (;;) {
      const members = await this.o.client.zrange(lists.fn, '0', '499');
      if (members.length === 0) break;
      await this.o.client.zrem(lists.ws, ...members);
      await this.o.client.zrem(lists.fn, ...members);
    }
  }

  async setResult(runId: string, r: AsyncRunResult, budget?: ResultBudget): Promise<void> {
    const info = runKeys(this.prefix, runId).info;
    const headers = JSON.stringify(r.headers);
    const [, , accepted] = await this.o.client.multi()
      .hset(info, { rs: String(r.status), rh: headers, rb: r.body, ra: String(r.attempt) })
      .pexpire(info, this.ttl).hget(info, 'at').exec().then(failed);
    if (budget === undefined) return;
    const run = { runId, acceptedAt: Number(accepted ?? Date.now()), size: resultBytes(r.body.length, headers) };
    await keepWithinBudget(this.o.client, { prefix: this.prefix, ttlMs: this.ttl, infoKey: (id) => runKeys(this.prefix, id).info }, run, budget);
  }

  async get(runId: string): Promise<AsyncRunInfo | null> {
    const h = await this.o.client.hgetallBuffer(runKeys(this.prefix, runId).info);
    const f = h['f'];
    if (f === undefined) return null;
    const text = (key: string): string | undefined => h[key]?.toString('utf8');
    const status = text('rs');
    return {
      runId, function: f.toString('utf8'), acceptedAt: Number(text('at') ?? 0), replayOf: text('ro') ?? null, trigger: queuedTrigger(text('tr')), bornAt: bornOf(text('b')),
      result: status === undefined ? null : {
        status: Number(status), headers: JSON.parse(text('rh') ?? '[]') as Pairs, body: h['rb'] ?? Buffer.alloc(0), attempt: Number(text('ra') ?? 0),
      },
    };
  }

  async replays(runId: string): Promise<string[]> {
    return this.o.client.zrange(runKeys(this.prefix, runId).replays, '0', '-1');
  }

  async close(): Promise<void> {}
}

/** MULTI answers errors per command instead of rejecting: raise the first one; else the replies. */
function failed(results: [Error | null, unknown][] | null): unknown[] {
  if (results === null) throw new Error('the Redis transaction was aborted');
  for (const [err] of results) if (err) throw err;
  return results.map(([, reply]) => reply);
}
