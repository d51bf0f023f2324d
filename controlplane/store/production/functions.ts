/**
 * FunctionStore and DeployStore on MongoDB, with inserts as the only atomic step. FerretDB 1.24
 * (SQLite) does not serialize concurrent conditional updates of one document (several
 * `findOneAndUpdate({_id, revision})` calls can all "win"), but a unique `_id` insert is atomic on
 * every server. So each change of a function inserts its next revision document
 * (`<name>/<seq>`, see FunctionDoc): of two writers that read the same revision only one insert
 * succeeds, the other gets REVISION_CONFLICT. Revision documents far behind the newest are pruned.
 * - `apply` carries the new deploy entry inside the revision document (`lastDeploy`), then inserts
 *   it into `deploys`; the next `apply` and every `list` re-log the carried entry first, so no
 *   change is ever missing from the log even if a process dies between the two writes.
 * - `delete` inserts a tombstone revision (`purged: false`): from then on the function is gone.
 *   Then `purge` removes versions, deploys, runs, logs, invoke tokens, drafts, test cases and old
 *   secrets, gives back the workspace slot and marks the tombstone purged. Every step is
 *   idempotent: a purge that failed partway (a store fault, a crash) leaves the tombstone
 *   unpurged, and `finishDelete` (a later DELETE, the platform's sweep of `pendingDeletes`) or a
 *   `create` of the same name runs it again (docs/adr/0156-a-delete-finishes-after-a-fault.md).
 * - `secrets` and `hookSecrets` are sealed (../sealed.ts). A change of them, and a delete, also
 *   removes them from the older revision documents (never read again), so a removed or rotated
 *   secret does not stay behind in them, not even sealed.
 * Decision record: docs/adr/0006-production-stores.md.
 */
import { workspaceOfKey } from '../../../protocol/index.js';
import type { Keyring } from '../../secrets/index.js';
import { isStoreError, StoreError } from '../errors.js';
import { laterThan } from '../incarnation.js';
import { claimSlot, liveWorkspace, releaseSlot } from './workspaces.js';
import { openHooks, openSecrets, sealHooks, sealSecrets } from '../sealed.js';
import type { DeployEntry, DeployRequest, DeployStore, FunctionRecord, FunctionSettings, FunctionStore } from '../types.js';
import { isDuplicateKey, ofIncarnation, type DeployDoc, type EnvPair, type FunctionDoc, type MongoContext } from './context.js';

function envToPairs(env: Record<string, string>): EnvPair[] {
  return Object.entries(env).map(([k, v]) => ({ k, v }));
}

function pairsToEnv(pairs: readonly EnvPair[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { k, v } of pairs) env[k] = v;
  return env;
}

function toRecord(ring: Keyring, doc: FunctionDoc): FunctionRecord {
  return {
    name: doc.name,
    preset: doc.preset,
    invocation: doc.invocation,
    limits: { ...doc.limits },
    env: pairsToEnv(doc.env),
    secrets: openSecrets(ring, doc.name, pairsToEnv(doc.secrets ?? [])),
    auth: doc.auth,
    ...(doc.retry !== undefined && doc.retry !== null ? { retry: { ...doc.retry } } : {}),
    ...(doc.hookSecrets !== undefined && doc.hookSecrets !== null ? { hookSecrets: openHooks(ring, doc.name, doc.hookSecrets) } : {}),
    status: doc.status,
    activeVersion: doc.activeVersion,
    revision: doc.seq - doc.base + 1,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

function toEntry(doc: DeployEntry): DeployEntry {
  return {
    function: doc.function,
    seq: doc.seq,
    action: doc.action,
    fromVersion: doc.fromVersion,
    toVersion: doc.toVersion,
    status: doc.status,
    actor: doc.actor,
    note: doc.note,
    at: doc.at,
  };
}

/** Only the known keys, so a caller's extra properties never end up stored; secrets sealed. */
function settingsFields(ring: Keyring, name: string, s: FunctionSettings): Pick<FunctionDoc, 'preset' | 'invocation' | 'limits' | 'env' | 'secrets' | 'auth' | 'retry' | 'hookSecrets'> {
  return {
    preset: s.preset, invocation: s.invocation, limits: { ...s.limits }, env: envToPairs(s.env),
    secrets: envToPairs(sealSecrets(ring, name, s.secrets ?? {})),
    auth: s.auth,
    ...(s.retry !== undefined ? { retry: { ...s.retry } } : {}),
    ...(s.hookSecrets !== undefined ? { hookSecrets: sealHooks(ring, name, s.hookSecrets) } : {}),
  };
}

/** Removes sealed values from the revision documents before `seq` (nothing reads them; best effort). */
export async function scrubOlderRevisions(ctx: MongoContext, name: string, seq: number): Promise<void> {
  await ctx.col.functions.updateMany({ name, seq: { $lt: seq } }, { $unset: { secrets: '', hookSecrets: '' } }).catch(() => {});
}

function notFound(name: string): StoreError {
  return new StoreError('FUNCTION_NOT_FOUND', `no function named ${name}`, { function: name });
}

function conflict(name: string, expected: number, actual: number): StoreError {
  return new StoreError('REVISION_CONFLICT', `function ${name} is at revision ${actual}, not ${expected}; re-read and retry`, { function: name, expected, actual });
}

/** The highest revision document of `name`, tombstones included. */
function latestDoc(ctx: MongoContext, name: string): Promise<FunctionDoc | null> {
  return ctx.col.functions.find({ name }).sort({ seq: -1 }).limit(1).next();
}

/** The function's current revision document, or null when it does not exist (or was deleted). */
export async function liveFunction(ctx: MongoContext, name: string): Promise<FunctionDoc | null> {
  const doc = await latestDoc(ctx, name);
  return doc === null || doc.deleted ? null : doc;
}

/** The live revision, or FUNCTION_NOT_FOUND; REVISION_CONFLICT when `expected` is given and differs. */
async function mustGet(ctx: MongoContext, name: string, expected?: number): Promise<FunctionDoc> {
  const doc = await liveFunction(ctx, name);
  if (doc === null) throw notFound(name);
  const revision = doc.seq - doc.base + 1;
  if (expected !== undefined && revision !== expected) throw conflict(name, expected, revision);
  return doc;
}

/** The revision after `cur`, with `changes` applied. */
function nextOf(cur: FunctionDoc, changes: Partial<FunctionDoc>): FunctionDoc {
  const seq = cur.seq + 1;
  return { ...cur, ...changes, _id: `${cur.name}/${seq}`, seq };
}

/** Inserts a revision document; false when another writer took that revision first. */
async function insertRevision(ctx: MongoContext, doc: FunctionDoc): Promise<boolean> {
  try {
    await ctx.col.functions.insertOne(doc);
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

/**
 * Revision documents kept behind the newest. Never prune right up to it: a writer that read a
 * stale revision k must find k+1 taken, or its insert would succeed into the hole and be lost.
 */
const KEEP_REVISIONS = 16;

/** Drops revision documents far behind `doc` (best effort: they are never read again). */
async function pruneRevisions(ctx: MongoContext, doc: FunctionDoc): Promise<void> {
  await ctx.col.functions.deleteMany({ name: doc.name, seq: { $lt: doc.seq - KEEP_REVISIONS } }).catch(() => {});
}

/** After losing an insert race: FUNCTION_NOT_FOUND or REVISION_CONFLICT, from a fresh read. */
async function whyMissed(ctx: MongoContext, name: string, expected: number): Promise<StoreError> {
  const doc = await liveFunction(ctx, name);
  return doc === null ? notFound(name) : conflict(name, expected, doc.seq - doc.base + 1);
}

/** How often a write re-reads after losing a race it may retry. */
const ATTEMPTS = 20;

export function mongoFunctionStore(ctx: MongoContext): FunctionStore {
  const { col, ring } = ctx;
  return {
    async create(name, settings) {
      ctx.check();
      const workspace = workspaceOfKey(name);
      const isLive = async (key: string): Promise<boolean> => (await liveFunction(ctx, key)) !== null;
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const cur = await latestDoc(ctx, name);
        if (cur !== null && !cur.deleted) throw new StoreError('FUNCTION_EXISTS', `a function named ${name} already exists`, { function: name });
        // An earlier function of this name whose delete did not finish: its runs, logs, versions,
        // tokens, test cases and slot go first, so the new one starts clean (ADR 0156).
        if (cur !== null && pending(cur)) await purge(ctx, cur);
        const ws = await liveWorkspace(ctx, workspace);
        if (ws === null) throw new StoreError('WORKSPACE_NOT_FOUND', `no workspace named ${workspace}`, { workspace });
        // The slot first (the functions quota, exact across processes), then the workspace again:
        // a delete of the workspace racing this create is seen by one side or the other (./workspaces.ts).
        const seq = (cur?.seq ?? 0) + 1;
        await claimSlot(ctx, workspace, name, ws.quotas.functions ?? null, isLive, seq);
        if ((await liveWorkspace(ctx, workspace)) === null) {
          if (!(await isLive(name))) await releaseSlot(ctx, name);
          throw new StoreError('WORKSPACE_NOT_FOUND', `no workspace named ${workspace}`, { workspace });
        }
        // After the tombstone's: another process's clock may be ahead of this one, or this one went back (ADR 0211).
        const createdAt = laterThan(cur?.createdAt, ctx.now());
        const doc: FunctionDoc = {
          _id: `${name}/${seq}`,
          name,
          workspace,
          seq,
          base: seq,
          deleted: false,
          ...settingsFields(ring, name, settings),
          status: 'active',
          activeVersion: null,
          deploySeq: 0,
          lastDeploy: null,
          createdAt,
          updatedAt: createdAt,
        };
        if (!(await insertRevision(ctx, doc))) continue; // raced: the next read tells EXISTS or retries
        // Leftovers of an earlier function of this name whose delete was interrupted.
        // Of earlier incarnations only: another process may already upload to this one (ADR 0159).
        const earlier = ofIncarnation(seq - 1);
        await Promise.all([
          col.versions.deleteMany({ function: name, ...earlier }),
          col.deploys.deleteMany({ function: name, ...earlier }),
          col.tokens.deleteMany({ kind: 'invoke', scope: name, ...earlier }),
          // Runs and logs of an earlier function written after its delete's cleanup (another
          // process's sink that had not heard of the delete): the new function listed them as its
          // own (red team round 40). Stamped with an older createdAt, or not at all (ADR 0190).
          col.runs.deleteMany({ function: name, ...ofIncarnation(createdAt - 1, 'fnCreatedAt') }),
          col.logs.deleteMany({ function: name, ...ofIncarnation(createdAt - 1, 'fnCreatedAt') }),
          pruneRevisions(ctx, doc),
        ]);
        // A purge of the earlier function (another process's sweep) may have given back the slot
        // just claimed: the function holds one all the same (its own again when it still does).
        await claimSlot(ctx, workspace, name, null, isLive, seq);
        return toRecord(ring, doc);
      }
      throw new StoreError('FUNCTION_EXISTS', `a function named ${name} is being created concurrently`, { function: name });
    },

    async get(name) {
      ctx.check();
      const doc = await liveFunction(ctx, name);
      return doc === null ? null : toRecord(ring, doc);
    },

    async list(filter = {}) {
      ctx.check();
      const out: FunctionRecord[] = [];
      let last: string | null = null;
      const query = filter.workspace === undefined ? {} : { workspace: filter.workspace };
      for (const doc of await col.functions.find(query).sort({ name: 1, seq: -1 }).toArray()) {
        if (doc.name === last) continue; // an older revision not pruned yet
        last = doc.name;
        if (!doc.deleted) out.push(toRecord(ring, doc));
      }
      return out;
    },

    async update(name, expectedRevision, patch) {
      ctx.check();
      const cur = await mustGet(ctx, name, expectedRevision);
      const changes: Partial<FunctionDoc> = { updatedAt: ctx.now() };
      if (patch.preset !== undefined) changes.preset = patch.preset;
      if (patch.invocation !== undefined) changes.invocation = patch.invocation;
      if (patch.limits !== undefined) changes.limits = { ...patch.limits };
      if (patch.env !== undefined) changes.env = envToPairs(patch.env);
      if (patch.secrets !== undefined) changes.secrets = envToPairs(sealSecrets(ring, name, patch.secrets));
      if (patch.auth !== undefined) changes.auth = patch.auth;
      if (patch.retry !== undefined) changes.retry = { ...patch.retry };
      if (patch.hookSecrets !== undefined) changes.hookSecrets = sealHooks(ring, name, patch.hookSecrets);
      const next = nextOf(cur, changes);
      await ctx.testHooks?.beforeUpdateWrite?.(name);
      if (!(await insertRevision(ctx, next))) throw await whyMissed(ctx, name, expectedRevision);
      await pruneRevisions(ctx, next);
      if (patch.secrets !== undefined || patch.hookSecrets !== undefined) await scrubOlderRevisions(ctx, name, next.seq);
      return toRecord(ring, next);
    },

    async delete(name, expectedRevision, options = {}) {
      ctx.check();
      const cur = await mustGet(ctx, name, expectedRevision);
      const { secrets: _secrets, hookSecrets: _hooks, ...kept } = cur;
      const tombstone = nextOf(kept, { deleted: true, purged: false, updatedAt: ctx.now() });
      if (!(await insertRevision(ctx, tombstone))) throw await whyMissed(ctx, name, expectedRevision);
      // Gone from here on. A failure below leaves the tombstone unpurged: the function stays gone,
      // and `finishDelete` (or a create of the name) runs the same steps again (ADR 0156).
      try {
        await ctx.testHooks?.afterTombstone?.(name);
        // A version uploaded through another process after the caller's check: seen here when it
        // was written before the tombstone (one written after it is taken back by its upload,
        // which reads the function again after its write: ./versions.ts). ADR 0181, amended.
        if (options.ifNoVersions === true && (await hasVersion(ctx, name, cur.base))) await undoDelete(ctx, cur, tombstone);
        await purge(ctx, tombstone);
        return { cleanupError: null };
      } catch (err) {
        if (isStoreError(err, 'FUNCTION_CHANGED')) throw err;
        return { cleanupError: err };
      }
    },

    async finishDelete(name) {
      ctx.check();
      const doc = await latestDoc(ctx, name);
      if (doc === null || !pending(doc)) return false;
      await purge(ctx, doc);
      return true;
    },

    async pendingDeletes() {
      ctx.check();
      // `purged` absent: a tombstone from before ADR 0156, whose cleanup may have failed (ADR 0159).
      const names = await col.functions.distinct('name', { deleted: true, purged: { $ne: true } });
      const out: string[] = [];
      for (const name of names.sort()) {
        const doc = await latestDoc(ctx, name);
        if (doc !== null && pending(doc)) out.push(name);
      }
      return out;
    },
  };
}

/** Whether the function of incarnation `base` has a version (one its cleanup would remove). */
async function hasVersion(ctx: MongoContext, name: string, base: number): Promise<boolean> {
  return (await ctx.col.versions.findOne({ function: name, deletedAt: { $exists: false }, ...ofIncarnation(base) }, { projection: { _id: 1 } })) !== null;
}

/**
 * Takes a delete back: `cur` (secrets included) again as the revision after `tombstone`, the
 * tombstone marked purged (nothing of the function was removed: the cleanup had not started), then
 * FUNCTION_CHANGED. When another writer took that revision (a create of the name, which finished
 * this tombstone first), the delete stands and this returns.
 */
async function undoDelete(ctx: MongoContext, cur: FunctionDoc, tombstone: FunctionDoc): Promise<void> {
  const back = nextOf({ ...cur, seq: tombstone.seq }, { updatedAt: ctx.now() });
  if (!(await insertRevision(ctx, back))) return;
  await ctx.col.functions.updateOne({ _id: tombstone._id }, { $set: { purged: true } });
  throw new StoreError('FUNCTION_CHANGED', `function ${cur.name} has a version uploaded while it was being deleted; nothing was deleted`, { function: cur.name, hasVersions: true });
}

/**
 * A tombstone whose cleanup is not known to be finished: `purged: false` (ADR 0156), or no
 * `purged` at all (written before it: its delete may have failed after it, and nothing swept
 * it; ADR 0159). Purging one that was finished removes nothing more.
 */
function pending(doc: FunctionDoc): boolean {
  return doc.deleted && doc.purged !== true;
}

/**
 * The cleanup of a deleted function (`tombstone` its newest revision document): every step is
 * idempotent, so a purge that failed partway is run again from the start. The slot is given back
 * after everything else (its workspace counts the function until then), then the tombstone is
 * marked purged, by its `_id`: a create that superseded it is another document.
 * A cleanup can run late (its process paused after the tombstone; the sweep of another process)
 * while the name is created again: a create purges before it writes, so a superseded tombstone
 * needs nothing more; and what is removed by key (versions, deploy log, invoke tokens, the slot,
 * the draft, test cases, runs and logs) is only of this incarnation or older, never the new
 * function's (ADR 0159; runs and logs by the function's createdAt, ADR 0190).
 */
async function purge(ctx: MongoContext, tombstone: FunctionDoc): Promise<void> {
  const { col } = ctx;
  const name = tombstone.name;
  if ((await latestDoc(ctx, name))?._id !== tombstone._id) {
    await col.functions.updateOne({ _id: tombstone._id }, { $set: { purged: true } });
    return;
  }
  await ctx.testHooks?.beforePurgeSteps?.(name);
  const mine = ofIncarnation(tombstone.base);
  await Promise.all([
    col.versions.deleteMany({ function: name, ...mine }),
    col.deploys.deleteMany({ function: name, ...mine }),
    // Runs and logs carry the incarnation as `fnCreatedAt`, the function's createdAt (ADR 0190).
    col.runs.deleteMany({ function: name, ...ofIncarnation(tombstone.createdAt, 'fnCreatedAt') }),
    col.logs.deleteMany({ function: name, ...ofIncarnation(tombstone.createdAt, 'fnCreatedAt') }),
    col.tokens.deleteMany({ kind: 'invoke', scope: name, ...mine }),
    // Drafts and test cases carry the incarnation as `fnBase` (./workbench.ts).
    col.drafts.deleteMany({ _id: name, ...ofIncarnation(tombstone.base, 'fnBase') }),
    col.testCases.deleteMany({ function: name, ...ofIncarnation(tombstone.base, 'fnBase') }),
    pruneRevisions(ctx, tombstone),
    scrubOlderRevisions(ctx, name, tombstone.seq),
  ]);
  await releaseSlot(ctx, name, tombstone.base);
  await col.functions.updateOne({ _id: tombstone._id }, { $set: { purged: true } });
}

/** Inserts an entry of incarnation `gen` into the log; an entry already there (same function and seq) is left as is. */
async function logEntry(ctx: MongoContext, entry: DeployEntry, gen: number): Promise<void> {
  const doc: DeployDoc = { _id: `${entry.function}/${entry.seq}`, ...toEntry(entry), gen };
  try {
    await ctx.col.deploys.insertOne(doc);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}

export function mongoDeployStore(ctx: MongoContext): DeployStore {
  const { col, ring } = ctx;
  return {
    async apply(request: DeployRequest) {
      ctx.check();
      const name = request.function;
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const cur = await mustGet(ctx, name, request.expectedRevision);
        if (cur.lastDeploy !== null) await logEntry(ctx, cur.lastDeploy, cur.base);
        let status = cur.status;
        let active = cur.activeVersion;
        if (request.action === 'deploy' || request.action === 'rollback') {
          const version = request.version;
          const exists = version !== undefined && (await col.versions.findOne({ _id: `${name}/${version}`, deletedAt: { $exists: false } }, { projection: { _id: 1 } })) !== null;
          if (!exists) {
            throw new StoreError('VERSION_NOT_FOUND', `function ${name} has no version ${String(version)}`, { function: name, version: version ?? null });
          }
          active = version;
        } else {
          status = request.action === 'pause' ? 'paused' : 'active';
        }
        const entry: DeployEntry = {
          function: name,
          seq: cur.deploySeq + 1,
          action: request.action,
          fromVersion: cur.activeVersion,
          toVersion: active,
          status,
          actor: request.actor,
          note: request.note ?? '',
          at: ctx.now(),
        };
        const next = nextOf(cur, { status, activeVersion: active, deploySeq: entry.seq, lastDeploy: entry, updatedAt: entry.at });
        await ctx.testHooks?.beforeUpdateWrite?.(name);
        if (!(await insertRevision(ctx, next))) {
          // Someone changed it between our read and write: a conflict for a caller that named a
          // revision, otherwise read again and re-decide.
          if (request.expectedRevision !== undefined) throw await whyMissed(ctx, name, request.expectedRevision);
          await new Promise((r) => setTimeout(r, Math.random() * 3 * (attempt + 1)));
          continue;
        }
        await logEntry(ctx, entry, next.base);
        const keep = request.keepRecords;
        if (keep !== undefined && entry.seq > keep) await col.deploys.deleteMany({ function: name, seq: { $lte: entry.seq - keep } });
        await pruneRevisions(ctx, next);
        return { function: toRecord(ring, next), entry: toEntry(entry) };
      }
      throw new StoreError('REVISION_CONFLICT', `function ${name} kept changing; retry`, { function: name });
    },

    async list(fn, options = {}) {
      ctx.check();
      const cur = await liveFunction(ctx, fn);
      if (cur?.lastDeploy) await logEntry(ctx, cur.lastDeploy, cur.base);
      const limit = Math.max(1, Math.min(1000, options.limit ?? 100));
      const docs = await col.deploys
        .find({ function: fn, seq: { $lt: options.beforeSeq ?? Number.MAX_SAFE_INTEGER } })
        .sort({ seq: -1 })
        .limit(limit)
        .toArray();
      return docs.map(toEntry);
    },
  };
}
