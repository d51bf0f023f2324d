/**
 * RunStore on MongoDB: run summaries in `runs` (indexed by time, by function+time and by
 * status+time), their log lines in `logs`, one document per run. A batch is an unordered
 * `insertMany` (one round trip, fast on every server); runs already stored (a retried batch, or a
 * run recorded again) come back as duplicate-key errors and are replaced one by one, so a batch is
 * an idempotent upsert by run id. (Bulk `replaceOne` upserts would do the same in one call, but are
 * orders of magnitude slower on FerretDB.) Runs are written before their logs, so a log document
 * never outlives the write of its run. Logs carry `expireAt` (written at + retention): a TTL index
 * removes them on MongoDB; FerretDB has no TTL indexes, so `sweepExpiredLogs` does it there.
 * One document per attempt: `_id` is the run id for attempt 1 (as before attempts existed) and
 * `<runId>#<n>` after; `superseded` marks every attempt but a run's newest, so lists show one item
 * per run whatever order different processes recorded the attempts in.
 */
import type { Collection, OptionalUnlessRequiredId } from 'mongodb';
import { RETRY_FIELDS, type RunRecord, type RunSummary } from '../../../protocol/index.js';
import { decodeRunCursor, encodeRunCursor, runLimit } from '../cursor.js';
import { evictionPlan, extraRecordBytes, RECORD_BYTES } from '../eviction.js';
import { logBytesOf, runWorkspace } from '../quotas.js';
import type { RunPage, RunQuery, RunStore } from '../types.js';
import type { LogDoc, MongoContext, RunDoc } from './context.js';

/** Indexes of the documents a failed unordered insertMany did not insert because the _id was taken; null for any other failure. */
export function duplicateIndexes(err: unknown): number[] | null {
  const writeErrors = (err as { writeErrors?: unknown }).writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors === undefined ? [] : [writeErrors];
  if (list.length === 0) return null;
  const indexes: number[] = [];
  for (const e of list as { index?: unknown; code?: unknown }[]) {
    if (e.code !== 11000 || typeof e.index !== 'number') return null;
    indexes.push(e.index);
  }
  return indexes;
}

/** Inserts every document, replacing those whose _id exists; returns the ids that were replaced. */
async function upsertAll<D extends { _id: string }>(col: Collection<D>, docs: D[]): Promise<Set<string>> {
  const replaced = new Set<string>();
  if (docs.length === 0) return replaced;
  try {
    await col.insertMany(docs as OptionalUnlessRequiredId<D>[], { ordered: false });
    return replaced;
  } catch (err) {
    const dups = duplicateIndexes(err);
    if (dups === null) throw err;
    await Promise.all(
      dups.map(async (i) => {
        const doc = docs[i]!;
        replaced.add(doc._id);
        const { _id, ...rest } = doc;
        const result = await col.replaceOne({ _id } as Parameters<Collection<D>['replaceOne']>[0], rest as Parameters<Collection<D>['replaceOne']>[1], { upsert: true });
        if (result.matchedCount === 0 && result.upsertedCount === 0) throw new Error(`run document ${_id} was neither replaced nor inserted`);
      }),
    );
    return replaced;
  }
}

/** The document id of one attempt. */
function docId(run: Pick<RunRecord, 'runId' | 'attempt'>): string {
  return (run.attempt ?? 1) === 1 ? run.runId : `${run.runId}#${run.attempt}`;
}

/** Async triggers: the only runs that can have several attempts. */
const MULTI_ATTEMPT = new Set(['async', 'cron', 'webhook']);
/** The most attempts a run can have (`retry.maxAttempts` is at most this: protocol/manifest.ts). */
const MAX_ATTEMPTS = RETRY_FIELDS.maxAttempts.maxValue ?? 10;

/**
 * Up to this many ids are looked up (or updated) one `_id` equality each, more in one `$in`: on
 * FerretDB's SQLite backend neither uses an index, but an `_id` equality is scanned by SQLite and an
 * `$in` by FerretDB itself, ~15 times slower per document (docs/stores.md, "FerretDB gaps").
 */
const ONE_BY_ONE_MAX = 8;
/** How many of those single-id queries run at once. */
const ONE_BY_ONE_CONCURRENCY = 4;

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Which of `ids` are stored. */
async function existingIds(col: Collection<RunDoc>, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  if (ids.length > ONE_BY_ONE_MAX) return (await col.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id);
  const found: string[] = [];
  await eachLimited(ids, ONE_BY_ONE_CONCURRENCY, async (_id) => {
    if ((await col.findOne({ _id }, { projection: { _id: 1 } })) !== null) found.push(_id);
  });
  return found;
}

/** Marks the stored attempts among `ids` superseded. */
async function markSuperseded(col: Collection<RunDoc>, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  if (ids.length > ONE_BY_ONE_MAX) {
    await col.updateMany({ _id: { $in: ids } }, { $set: { superseded: true } });
    return;
  }
  await eachLimited(ids, ONE_BY_ONE_CONCURRENCY, async (_id) => {
    await col.updateOne({ _id }, { $set: { superseded: true } });
  });
}

/**
 * `value` as every backend of the production store takes it, the one place run records (with their
 * logs) are shaped for it: every U+0000 in its strings (object keys included) replaced by U+FFFD,
 * and every number that is not finite (NaN, ±Infinity) written as null, as SQLite's JSON does.
 * - PostgreSQL (FerretDB's backend for production volumes) stores documents as `jsonb`, which takes
 *   no NUL, and a function's log line, error message or answer is its own text: one
 *   `print("\x00")` made every batch of run records fail (`unsupported Unicode escape sequence`,
 *   SQLSTATE 22P05), and a failed batch was retried whole, so no run of any workspace was recorded
 *   after it (red team round 28).
 * - FerretDB (both backends) refuses ±Infinity (BadValue: the recorder isolates such a record,
 *   ADR 0173) and NaN at its wire decoder: it closes the connection before reading the command,
 *   which reads as an outage, so the batch was retried for ever, each retry a closed connection
 *   (sink round 2, ADR 0173). None reaches a record through the gateway's cleaners today
 *   (protocol/runtime-reports.ts); this holds for the next field that forgets to check.
 * Returns `value` itself when nothing needs changing.
 */
export function storable<T>(value: T): T {
  if (typeof value === 'string') return (value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value) as T;
  if (typeof value === 'number') return (Number.isFinite(value) ? value : null) as T;
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    value.forEach((item: unknown, i) => {
      const clean = storable(item);
      if (clean !== item) (out ??= [...value])[i] = clean;
    });
    return (out ?? value) as T;
  }
  if (value === null || typeof value !== 'object' || value instanceof Date || ArrayBuffer.isView(value)) return value;
  let out: Record<string, unknown> | null = null;
  for (const [key, item] of Object.entries(value)) {
    const cleanKey = storable(key);
    const clean = storable(item);
    if (cleanKey !== key || clean !== item) {
      out ??= { ...(value as Record<string, unknown>) };
      if (cleanKey !== key) delete out[key];
      out[cleanKey] = clean;
    }
  }
  return (out ?? value) as T;
}

function summaryDoc(run: RunRecord, fnCreatedAt: number | undefined): RunDoc {
  const { logs: _logs, ...summary } = run;
  const extra = extraRecordBytes(JSON.stringify(summary));
  return { _id: docId(run), ...summary, workspace: runWorkspace(run), ...(extra > 0 ? { extraBytes: extra } : {}), ...(fnCreatedAt !== undefined ? { fnCreatedAt } : {}) };
}

function toSummary(doc: RunDoc): RunSummary {
  const { _id, superseded: _superseded, workspace: _workspace, extraBytes: _extra, fnCreatedAt: _incarnation, ...summary } = doc;
  return { ...summary, attempt: summary.attempt ?? 1 };
}

/** Deletes log documents past their `expireAt`; returns how many. */
export async function sweepExpiredLogs(ctx: MongoContext): Promise<number> {
  const { deletedCount } = await ctx.long.logs.deleteMany({ expireAt: { $lte: new Date(ctx.now()) } });
  return deletedCount;
}

/**
 * How long a batch waits for its superseded bookkeeping (the lookups and updates above). On
 * FerretDB's SQLite backend each is a scan that grows with the store (docs/stores.md, "FerretDB
 * gaps"): past this the batch's records are written without it (an older attempt may then be
 * listed beside its newer one), never held back, and while one is still running no other starts,
 * so abandoned scans never pile up on the server. Before, the whole batch failed with the write
 * timeout and was retried, bigger, for good (reliability round of 2026-12-05, N1).
 */
export const SUPERSEDE_BUDGET_MS = 2_000;

export function mongoRunStore(ctx: MongoContext, supersedeBudgetMs: number = SUPERSEDE_BUDGET_MS): RunStore {
  /** Bookkeeping that outlasted its budget and still runs on the server: none other starts meanwhile. */
  let abandoned = 0;
  /** `work()` within the budget, else `fallback` (`work` goes on alone); `fallback` at once while an abandoned one runs. */
  const bounded = <T>(work: () => Promise<T>, fallback: T): Promise<T> => {
    if (abandoned > 0) return Promise.resolve(fallback);
    let late = false;
    const running = work().finally(() => {
      if (late) abandoned--;
    });
    running.catch(() => {}); // an abandoned one's failure has nobody to tell; a waited one's reaches the batch below
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<T>((resolve) => {
      timer = setTimeout(() => {
        late = true;
        abandoned++;
        resolve(fallback);
      }, supersedeBudgetMs);
    });
    return Promise.race([running, budget]).finally(() => clearTimeout(timer));
  };
  const { col } = ctx;

  /** Deletes `fn`'s `count` oldest run records with their logs (ties at the edge's instant: see below). */
  const pruneOldestOf = async (fn: string, count: number): Promise<number> => {
    // The start time of its count-th oldest run; everything it started before that goes (ties at
    // that instant stay: the next check takes them if the store is still over).
    const edge = await col.runs.find({ function: fn }, { projection: { startedAt: 1 } }).sort({ startedAt: 1 }).skip(count).limit(1).toArray();
    const at = edge[0]?.startedAt;
    const remove = async (filter: { function: string; startedAt?: { $lt: number } | { $lte: number } }): Promise<number> => {
      const { deletedCount } = await ctx.long.runs.deleteMany(filter);
      await ctx.long.logs.deleteMany(filter);
      return deletedCount;
    };
    if (at === undefined) return remove({ function: fn });
    const before = await remove({ function: fn, startedAt: { $lt: at } });
    // Every one of its oldest shares that instant: take them, so a prune always makes progress.
    return before > 0 ? before : remove({ function: fn, startedAt: { $lte: at } });
  };

  /**
   * A run's stored attempts, oldest first, found by `_id` alone (a filter by `runId` makes FerretDB's
   * SQLite backend scan the collection itself: docs/stores.md). Attempt 1, then each next one of a
   * multi-attempt run until one is missing; past a missing one, only when the last found is marked
   * superseded (a newer one was recorded: its record was lost or is still on its way), all the
   * later ids at once.
   */
  const attemptChain = async (runId: string): Promise<RunDoc[]> => {
    const chain: RunDoc[] = [];
    for (let n = 1; n <= MAX_ATTEMPTS; n++) {
      const doc = await col.runs.findOne({ _id: docId({ runId, attempt: n }) });
      if (doc !== null) {
        chain.push(doc);
        // A multi-attempt run's next attempt is looked for even when this one is not marked
        // superseded: a batch may have been written without its bookkeeping (SUPERSEDE_BUDGET_MS).
        if (!MULTI_ATTEMPT.has(doc.trigger)) return chain;
        continue;
      }
      // Not marked superseded and no next one: it is the newest. Marked, or no attempt 1: the later ones may be past a gap.
      const last = chain[chain.length - 1];
      if (last !== undefined && last.superseded !== true) return chain;
      const rest = await Promise.all(Array.from({ length: MAX_ATTEMPTS - n }, (_, i) => col.runs.findOne({ _id: docId({ runId, attempt: n + 1 + i }) })));
      return [...chain, ...rest.filter((d): d is RunDoc => d !== null)];
    }
    return chain;
  };

  return {
    async record(runs, incarnations) {
      ctx.check();
      if (runs.length === 0) return;
      // Last write of an attempt in the batch wins, as if the records had been written one by one.
      const byId = new Map<string, RunRecord>();
      for (const run of runs) byId.set(docId(run), run);
      const expireAt = new Date(ctx.now() + ctx.logRetentionMs);
      const runDocs: RunDoc[] = [];
      const logDocs: LogDoc[] = [];
      const multi: RunRecord[] = [];
      for (const stored of byId.values()) {
        const run = storable(stored);
        const fnCreatedAt = incarnations?.get(run.function);
        const doc = summaryDoc(run, fnCreatedAt);
        if (MULTI_ATTEMPT.has(run.trigger)) multi.push(run);
        runDocs.push(doc);
        const lines = run.logs ?? [];
        if (lines.length > 0) logDocs.push({ _id: doc._id, function: run.function, workspace: runWorkspace(run), bytes: logBytesOf(lines), startedAt: run.startedAt, lines, expireAt, ...(fnCreatedAt !== undefined ? { fnCreatedAt } : {}) });
      }
      // An attempt recorded after a newer one (another process was faster) is listed under that one.
      // A newer attempt implies the next one ran, so only `<runId>#<n+1>` is looked up, and only for
      // the newest attempt of each run in the batch. Both this and the update of older attempts below
      // go by `_id` (docs/stores.md, "FerretDB gaps": on the SQLite backend an `_id` equality is a
      // scan inside SQLite, ~15x cheaper than `$in` or any other filter, which FerretDB scans itself;
      // a few ids one by one, more in one `$in`). It was a count by runId per record, then one `$in`
      // per batch, both full scans in FerretDB: past the write timeout once the store held some ten
      // thousand runs (reliability rounds, 2026-12-05).
      const newest = new Map<string, number>();
      for (const run of multi) newest.set(run.runId, Math.max(newest.get(run.runId) ?? 0, run.attempt ?? 1));
      const next = [...newest].filter(([, n]) => n < MAX_ATTEMPTS).map(([runId, n]) => docId({ runId, attempt: n + 1 }));
      const found = new Set(await bounded(() => existingIds(col.runs, next), [] as string[]));
      for (const doc of runDocs) {
        const n = (doc.attempt ?? 1);
        if (MULTI_ATTEMPT.has(doc.trigger) && (n < newest.get(doc.runId)! || found.has(docId({ runId: doc.runId, attempt: n + 1 })))) doc.superseded = true;
      }
      const replaced = await upsertAll(col.runs, runDocs);
      // Its older attempts are listed under it (those in the batch were marked above; stored ones here).
      const older = [...newest].flatMap(([runId, n]) => Array.from({ length: n - 1 }, (_, i) => docId({ runId, attempt: i + 1 })));
      await bounded(() => markSuperseded(col.runs, older.filter((id) => !byId.has(id))), undefined);
      await upsertAll(col.logs, logDocs);
      // A run recorded again without logs loses the logs it had.
      const withLogs = new Set(logDocs.map((l) => l._id));
      const stale = [...replaced].filter((id) => !withLogs.has(id));
      if (stale.length > 0) await col.logs.deleteMany({ _id: { $in: stale } });
    },

    async list(query: RunQuery = {}): Promise<RunPage> {
      ctx.check();
      const and: Record<string, unknown>[] = [{ superseded: { $ne: true } }];
      if (query.workspace !== undefined) and.push({ workspace: query.workspace });
      if (query.function !== undefined) and.push({ function: query.function });
      if (query.status !== undefined) and.push({ status: query.status });
      if (query.trigger !== undefined) and.push({ trigger: query.trigger });
      if (query.since !== undefined) and.push({ startedAt: { $gte: query.since } });
      if (query.until !== undefined) and.push({ startedAt: { $lt: query.until } });
      if (query.cursor !== undefined) {
        const after = decodeRunCursor(query.cursor);
        and.push({ $or: [{ startedAt: { $lt: after.startedAt } }, { startedAt: after.startedAt, _id: { $lt: after.runId } }] });
      }
      const limit = runLimit(query.limit);
      const docs = await col.runs
        .find(and.length > 0 ? { $and: and } : {})
        .sort({ startedAt: -1, _id: -1 })
        .limit(limit + 1)
        .toArray();
      const page = docs.slice(0, limit);
      const last = page[page.length - 1];
      return {
        items: page.map(toSummary),
        nextCursor: docs.length > limit && last ? encodeRunCursor({ startedAt: last.startedAt, runId: last._id }) : null,
      };
    },

    async get(runId) {
      ctx.check();
      const chain = await attemptChain(runId);
      const doc = chain[chain.length - 1];
      if (doc === undefined) return null;
      const logs = await col.logs.findOne({ _id: doc._id });
      return { ...toSummary(doc), logs: logs?.lines ?? [], ...(typeof doc.fnCreatedAt === 'number' ? { fnCreatedAt: doc.fnCreatedAt } : {}) };
    },

    async attempts(runId) {
      ctx.check();
      const docs = await attemptChain(runId);
      if (docs.length === 0) return [];
      const logs = await Promise.all(docs.map((d) => col.logs.findOne({ _id: d._id })));
      return docs.map((doc, i) => ({ ...toSummary(doc), logs: logs[i]?.lines ?? [] }));
    },

    async prune(cutoff) {
      ctx.check();
      // Server-side deletes: nothing here runs on the event loop for long, however big the backlog.
      const { deletedCount } = await ctx.long.runs.deleteMany({ startedAt: { $lt: cutoff } });
      await ctx.long.logs.deleteMany({ startedAt: { $lt: cutoff } });
      await sweepExpiredLogs(ctx);
      return deletedCount;
    },

    async bytes() {
      ctx.check();
      const stats = async (name: string): Promise<number> => {
        const s = (await ctx.db.command({ collStats: name })) as { size?: number; totalIndexSize?: number };
        return (s.size ?? 0) + (s.totalIndexSize ?? 0);
      };
      const [runs, logs] = await Promise.all([stats('runs'), stats('logs')]);
      return runs + logs;
    },

    async count() {
      ctx.check();
      return col.runs.estimatedDocumentCount();
    },

    async pruneOldest(count) {
      ctx.check();
      if (count <= 0) return 0;
      // The heaviest functions' oldest runs (controlplane/store/eviction.ts).
      // One accumulator per `$group`: FerretDB 1.24 answers 0 for every one after the first.
      const [byRuns, byLogs, byExtra] = await Promise.all([
        col.runs.aggregate<{ _id: string; runs: number }>([{ $group: { _id: '$function', runs: { $sum: 1 } } }]).toArray(),
        col.logs.aggregate<{ _id: string; bytes: number }>([{ $group: { _id: '$function', bytes: { $sum: '$bytes' } } }]).toArray(),
        col.runs.aggregate<{ _id: string; bytes: number }>([{ $match: { extraBytes: { $gt: 0 } } }, { $group: { _id: '$function', bytes: { $sum: '$extraBytes' } } }]).toArray(),
      ]);
      const logBytes = new Map(byLogs.map((l) => [l._id, l.bytes]));
      const extraBytes = new Map(byExtra.map((e) => [e._id, e.bytes]));
      const weights = byRuns.map((r) => ({ function: r._id, runs: r.runs, bytes: (logBytes.get(r._id) ?? 0) + (extraBytes.get(r._id) ?? 0) + r.runs * RECORD_BYTES }));
      let total = 0;
      for (const [fn, n] of evictionPlan(weights, count)) total += await pruneOldestOf(fn, n);
      return total;
    },
  };
}
