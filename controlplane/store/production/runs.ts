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
import { evictionPlan, RECORD_BYTES } from '../eviction.js';
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

function summaryDoc(run: RunRecord): RunDoc {
  const { logs: _logs, ...summary } = run;
  return { _id: docId(run), ...summary, workspace: runWorkspace(run) };
}

function toSummary(doc: RunDoc): RunSummary {
  const { _id, superseded: _superseded, workspace: _workspace, ...summary } = doc;
  return { ...summary, attempt: summary.attempt ?? 1 };
}

/** Deletes log documents past their `expireAt`; returns how many. */
export async function sweepExpiredLogs(ctx: MongoContext): Promise<number> {
  const { deletedCount } = await ctx.col.logs.deleteMany({ expireAt: { $lte: new Date(ctx.now()) } });
  return deletedCount;
}

export function mongoRunStore(ctx: MongoContext): RunStore {
  const { col } = ctx;

  /** Deletes `fn`'s `count` oldest run records with their logs (ties at the edge's instant: see below). */
  const pruneOldestOf = async (fn: string, count: number): Promise<number> => {
    // The start time of its count-th oldest run; everything it started before that goes (ties at
    // that instant stay: the next check takes them if the store is still over).
    const edge = await col.runs.find({ function: fn }, { projection: { startedAt: 1 } }).sort({ startedAt: 1 }).skip(count).limit(1).toArray();
    const at = edge[0]?.startedAt;
    const remove = async (filter: { function: string; startedAt?: { $lt: number } | { $lte: number } }): Promise<number> => {
      const { deletedCount } = await col.runs.deleteMany(filter);
      await col.logs.deleteMany(filter);
      return deletedCount;
    };
    if (at === undefined) return remove({ function: fn });
    const before = await remove({ function: fn, startedAt: { $lt: at } });
    // Every one of its oldest shares that instant: take them, so a prune always makes progress.
    return before > 0 ? before : remove({ function: fn, startedAt: { $lte: at } });
  };

  return {
    async record(runs) {
      ctx.check();
      if (runs.length === 0) return;
      // Last write of an attempt in the batch wins, as if the records had been written one by one.
      const byId = new Map<string, RunRecord>();
      for (const run of runs) byId.set(docId(run), run);
      const expireAt = new Date(ctx.now() + ctx.logRetentionMs);
      const runDocs: RunDoc[] = [];
      const logDocs: LogDoc[] = [];
      const multi: RunRecord[] = [];
      for (const run of byId.values()) {
        const doc = summaryDoc(run);
        if (MULTI_ATTEMPT.has(run.trigger)) multi.push(run);
        runDocs.push(doc);
        const lines = run.logs ?? [];
        if (lines.length > 0) logDocs.push({ _id: doc._id, function: run.function, workspace: runWorkspace(run), bytes: logBytesOf(lines), startedAt: run.startedAt, lines, expireAt });
      }
      // An attempt recorded after a newer one (another process was faster) is listed under that one:
      // one lookup by _id for the whole batch. It was a count by runId and attempt range per record,
      // which FerretDB answers by scanning the collection: ~1 s each, past the write timeout for a
      // batch of async records, so the sink retried an ever bigger batch and never caught up
      // (reliability round, 2026-12-05).
      if (multi.length > 0) {
        const newer = new Map<string, string>();
        for (const run of multi) for (let n = (run.attempt ?? 1) + 1; n <= MAX_ATTEMPTS; n++) newer.set(docId({ runId: run.runId, attempt: n }), docId(run));
        const found = await col.runs.find({ _id: { $in: [...newer.keys()] } }, { projection: { _id: 1 } }).toArray();
        const superseded = new Set(found.map((d) => newer.get(d._id)));
        for (const doc of runDocs) if (superseded.has(doc._id)) doc.superseded = true;
      }
      const replaced = await upsertAll(col.runs, runDocs);
      // Its older attempts are listed under it: by _id too, one update for the batch.
      const older = multi.flatMap((run) => Array.from({ length: (run.attempt ?? 1) - 1 }, (_, i) => docId({ runId: run.runId, attempt: i + 1 })));
      if (older.length > 0) await col.runs.updateMany({ _id: { $in: older } }, { $set: { superseded: true } });
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
      const [doc] = await col.runs.find({ runId }).sort({ attempt: -1 }).limit(1).toArray();
      if (doc === undefined) return null;
      const logs = await col.logs.findOne({ _id: doc._id });
      return { ...toSummary(doc), logs: logs?.lines ?? [] };
    },

    async attempts(runId) {
      ctx.check();
      const docs = await col.runs.find({ runId }).sort({ attempt: 1 }).toArray();
      if (docs.length === 0) return [];
      const logs = await col.logs.find({ _id: { $in: docs.map((d) => d._id) } }).toArray();
      const byId = new Map(logs.map((l) => [l._id, l.lines]));
      return docs.map((doc) => ({ ...toSummary(doc), logs: byId.get(doc._id) ?? [] }));
    },

    async prune(cutoff) {
      ctx.check();
      // Server-side deletes: nothing here runs on the event loop for long, however big the backlog.
      const { deletedCount } = await col.runs.deleteMany({ startedAt: { $lt: cutoff } });
      await col.logs.deleteMany({ startedAt: { $lt: cutoff } });
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
      const [byRuns, byLogs] = await Promise.all([
        col.runs.aggregate<{ _id: string; runs: number }>([{ $group: { _id: '$function', runs: { $sum: 1 } } }]).toArray(),
        col.logs.aggregate<{ _id: string; bytes: number }>([{ $group: { _id: '$function', bytes: { $sum: '$bytes' } } }]).toArray(),
      ]);
      const logBytes = new Map(byLogs.map((l) => [l._id, l.bytes]));
      const weights = byRuns.map((r) => ({ function: r._id, runs: r.runs, bytes: (logBytes.get(r._id) ?? 0) + r.runs * RECORD_BYTES }));
      let total = 0;
      for (const [fn, n] of evictionPlan(weights, count)) total += await pruneOldestOf(fn, n);
      return total;
    },
  };
}
