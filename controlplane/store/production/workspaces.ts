/**
 * Workspaces on MongoDB (docs/adr/0011-tenants.md), with inserts as the only atomic step (FerretDB
 * 1.24 does not serialize conditional updates; see ./functions.ts):
 * - a workspace is a chain of revision documents (`<name>/<seq>`), like a function;
 * - a function holds a **slot** of its workspace (`<workspace>#<n>`, the lowest free n), claimed
 *   before its document is written and released when it is deleted. A create claims a slot only
 *   while fewer than `functions` slots exist, and only one insert of a number succeeds, so the
 *   quota holds exactly across processes: whoever picks number k saw k-1 lower ones and every
 *   extra above the quota, so at most `functions` slots can ever be taken together;
 * - deleting a workspace writes its tombstone, then looks for slots; a create claims its slot, then
 *   looks at the workspace again. Each writes before it reads the other's mark, so at least one of
 *   two racing sides sees the other: the delete is undone (WORKSPACE_NOT_EMPTY) or the create
 *   gives its slot back (WORKSPACE_NOT_FOUND). Nothing is ever half-changed.
 * A slot whose function never got written (a crash between the two inserts) is taken back when it
 * is older than a minute and stands in the way of a create or a delete.
 */
import { DEFAULT_WORKSPACE } from '../../../protocol/index.js';
import { StoreError } from '../errors.js';
import { auditTrimEntry, auditTrimSlack, decodeAuditCursor, encodeAuditCursor, KEPT_AUDIT_ACTION, normalQuotas, quotaExceeded } from '../quotas.js';
import type { AuditEntry, AuditStore, BlobGrants, NewAuditEntry, WorkspaceQuotas, WorkspaceRecord, WorkspaceStore } from '../types.js';
import { isDuplicateKey, ofIncarnation, type MongoContext, type SlotDoc, type WorkspaceDoc } from './context.js';

/** A slot without its function for this long was left by a crash (a create takes milliseconds). */
const ORPHAN_AFTER_MS = 60_000;
const ATTEMPTS = 50;

function toRecord(doc: WorkspaceDoc): WorkspaceRecord {
  return { name: doc.name, quotas: normalQuotas(doc.quotas), createdAt: doc.createdAt, updatedAt: doc.updatedAt };
}

function notFound(name: string): StoreError {
  return new StoreError('WORKSPACE_NOT_FOUND', `no workspace named ${name}`, { workspace: name });
}

function latest(ctx: MongoContext, name: string): Promise<WorkspaceDoc | null> {
  return ctx.col.workspaces.find({ name }).sort({ seq: -1 }).limit(1).next();
}

/** The workspace's current revision, or null (none, or deleted). */
export async function liveWorkspace(ctx: MongoContext, name: string): Promise<WorkspaceDoc | null> {
  const doc = await latest(ctx, name);
  return doc === null || doc.deleted ? null : doc;
}

async function insertRevision(ctx: MongoContext, doc: WorkspaceDoc): Promise<boolean> {
  try {
    await ctx.col.workspaces.insertOne(doc);
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

/** Slots whose function is not live and which are old enough to be a crash's leftovers; removed. */
async function dropOrphans(ctx: MongoContext, slots: readonly SlotDoc[], isLive: (key: string) => Promise<boolean>): Promise<number> {
  let dropped = 0;
  for (const slot of slots) {
    if (ctx.now() - slot.at < ORPHAN_AFTER_MS || (await isLive(slot.function))) continue;
    dropped += (await ctx.col.slots.deleteOne({ _id: slot._id, function: slot.function })).deletedCount;
  }
  return dropped;
}

/**
 * Claims a slot of `workspace` for the function `key` (its own slot again when it holds one),
 * or QUOTA_EXCEEDED. `isLive` tells whether a function exists (for leftover slots).
 */
export async function claimSlot(ctx: MongoContext, workspace: string, key: string, limit: number | null, isLive: (key: string) => Promise<boolean>, gen?: number): Promise<void> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const slots = await ctx.col.slots.find({ workspace }).toArray();
    if (slots.some((s) => s.function === key)) return;
    if (limit !== null && slots.length >= limit) {
      if ((await dropOrphans(ctx, slots, isLive)) > 0) continue;
      throw quotaExceeded('functions', workspace, limit, slots.length);
    }
    const taken = new Set(slots.map((s) => s.slot));
    let n = 1;
    while (taken.has(n)) n++;
    try {
      await ctx.col.slots.insertOne({ _id: `${workspace}#${n}`, workspace, slot: n, function: key, at: ctx.now(), ...(gen !== undefined ? { gen } : {}) });
      return;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }
  throw new StoreError('REVISION_CONFLICT', `too many concurrent creates in workspace ${workspace}; retry`, { workspace });
}

/**
 * Gives back the slot of `key` (its function was deleted, or never written); with `upTo`, only a
 * slot of that incarnation or an older one (a deleted function's cleanup: ADR 0159).
 */
export async function releaseSlot(ctx: MongoContext, key: string, upTo?: number): Promise<void> {
  await ctx.col.slots.deleteMany(upTo === undefined ? { function: key } : { function: key, ...ofIncarnation(upTo) });
}

export function mongoWorkspaceStore(ctx: MongoContext, isLive: (key: string) => Promise<boolean>): WorkspaceStore {
  const { col } = ctx;

  async function next(name: string, change: (cur: WorkspaceDoc) => Partial<WorkspaceDoc>): Promise<WorkspaceDoc> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const cur = await liveWorkspace(ctx, name);
      if (cur === null) throw notFound(name);
      const seq = cur.seq + 1;
      const doc: WorkspaceDoc = { ...cur, ...change(cur), _id: `${name}/${seq}`, seq };
      if (await insertRevision(ctx, doc)) {
        await col.workspaces.deleteMany({ name, seq: { $lt: seq - 16 } }).catch(() => {});
        return doc;
      }
    }
    throw new StoreError('REVISION_CONFLICT', `workspace ${name} kept changing; retry`, { workspace: name });
  }

  return {
    async create(name, quotas) {
      ctx.check();
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const cur = await latest(ctx, name);
        if (cur !== null && !cur.deleted) throw new StoreError('WORKSPACE_EXISTS', `a workspace named ${name} already exists`, { workspace: name });
        const seq = (cur?.seq ?? 0) + 1;
        const now = ctx.now();
        const doc: WorkspaceDoc = { _id: `${name}/${seq}`, name, seq, deleted: false, quotas: normalQuotas(quotas), createdAt: now, updatedAt: now };
        if (await insertRevision(ctx, doc)) return toRecord(doc);
      }
      throw new StoreError('WORKSPACE_EXISTS', `a workspace named ${name} is being created concurrently`, { workspace: name });
    },

    async get(name) {
      ctx.check();
      const doc = await liveWorkspace(ctx, name);
      return doc === null ? null : toRecord(doc);
    },

    async list() {
      ctx.check();
      const out: WorkspaceRecord[] = [];
      let last: string | null = null;
      for (const doc of await col.workspaces.find({}).sort({ name: 1, seq: -1 }).toArray()) {
        if (doc.name === last) continue;
        last = doc.name;
        if (!doc.deleted) out.push(toRecord(doc));
      }
      return out;
    },

    async update(name, quotas: Partial<WorkspaceQuotas>) {
      ctx.check();
      return toRecord(await next(name, (cur) => ({ quotas: normalQuotas({ ...cur.quotas, ...quotas }), updatedAt: ctx.now() })));
    },

    async delete(name) {
      ctx.check();
      if (name === DEFAULT_WORKSPACE) throw new StoreError('WORKSPACE_PROTECTED', 'the default workspace cannot be deleted', { workspace: name });
      const notEmpty = (count: number): StoreError => new StoreError('WORKSPACE_NOT_EMPTY', `workspace ${name} still has ${count} function(s)`, { workspace: name, functions: count });
      const held = async (): Promise<number> => {
        const slots = await col.slots.find({ workspace: name }).toArray();
        return slots.length - (await dropOrphans(ctx, slots, isLive));
      };
      const before = await held();
      if ((await liveWorkspace(ctx, name)) === null) throw notFound(name);
      if (before > 0) throw notEmpty(before);
      const tombstone = await next(name, () => ({ deleted: true, updatedAt: ctx.now() }));
      // Written first, then read: a create that claimed a slot meanwhile is seen here (or it sees the tombstone).
      const after = await col.slots.countDocuments({ workspace: name });
      if (after > 0) {
        const seq = tombstone.seq + 1;
        await insertRevision(ctx, { ...tombstone, _id: `${name}/${seq}`, seq, deleted: false, updatedAt: ctx.now() });
        throw notEmpty(after);
      }
      await col.tokens.updateMany({ kind: 'workspace', scope: name, revokedAt: null }, { $set: { revokedAt: ctx.now() } });
      await col.grants.deleteMany({ workspace: name });
      // Runs and logs its functions' deletes left: a late record of a deleted function (another
      // process's sink that had not heard of the delete yet writes after its cleanup) was kept
      // until its retention ran out, listed and counted in a workspace created again under the
      // name, another tenant's (red team round 40).
      await Promise.all([col.runs.deleteMany({ workspace: name }), col.logs.deleteMany({ workspace: name })]);
    },

    async usage(name) {
      ctx.check();
      const [functions, versions, logs] = await Promise.all([
        col.slots.countDocuments({ workspace: name }),
        col.versions.find({ workspace: name }, { projection: { totalBytes: 1 } }).toArray(),
        col.logs.aggregate<{ total: number }>([{ $match: { workspace: name } }, { $group: { _id: null, total: { $sum: '$bytes' } } }]).toArray(),
      ]);
      return { functions, codeBytes: versions.reduce((sum, v) => sum + v.totalBytes, 0), logBytes: logs[0]?.total ?? 0 };
    },
  };
}

export function mongoAuditStore(ctx: MongoContext): AuditStore {
  const { col } = ctx;
  const write = async (e: NewAuditEntry): Promise<AuditEntry> => {
    const detail = JSON.stringify(e.detail);
    // The next number by a unique insert: entries get one total order across every process.
    // The number within the workspace is read after the global one: an entry of this workspace
    // that read the same `wseq` read a global number no larger, so the two inserts collide on
    // `_id` and the later one reads again (the global insert is the one atomic step FerretDB has).
    for (let attempt = 0; attempt < 200; attempt++) {
      const last = await col.audit.find({}, { projection: { _id: 1 } }).sort({ _id: -1 }).limit(1).next();
      const seq = (last?._id ?? 0) + 1;
      const mine = await col.audit.find({ workspace: e.workspace }, { projection: { wseq: 1 } }).sort({ wseq: -1 }).limit(1).next();
      const wseq = (mine?.wseq ?? 0) + 1;
      try {
        await col.audit.insertOne({ _id: seq, wseq, at: e.at, actor: { ...e.actor }, address: e.address, workspace: e.workspace, action: e.action, target: e.target, detail });
        return { ...e, detail: JSON.parse(detail) as Record<string, unknown>, seq, workspaceSeq: wseq };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    }
    throw new StoreError('REVISION_CONFLICT', 'the audit log is too busy; retry');
  };
  return {
    async append(e, options = {}) {
      ctx.check();
      const entry = await write(e);
      const keep = options.keep;
      if (keep === undefined) return entry;
      // The oldest number (by_workspace_wseq): newest - oldest + 1 is the count or more, never less.
      const first = await col.audit.find({ workspace: e.workspace, action: { $ne: KEPT_AUDIT_ACTION } }, { projection: { wseq: 1 } }).sort({ wseq: 1 }).limit(1).next();
      if (entry.workspaceSeq - (first?.wseq ?? entry.workspaceSeq) + 1 < keep + auditTrimSlack(keep)) return entry;
      // Processes trimming at once delete the same entries; each writes its marker (one more entry).
      // The marker first: two steps, and a store lost between them (reliability round 6) left the
      // entries deleted with no marker until the next trim (a tenth of `keep` changes later). So a
      // reader sees why entries went; a failed delete is done again by the next append.
      const through = entry.workspaceSeq - Math.max(1, keep - 1);
      await write(auditTrimEntry(e.workspace, e.at, keep));
      await col.audit.deleteMany({ workspace: e.workspace, wseq: { $lte: through }, action: { $ne: KEPT_AUDIT_ACTION } });
      return entry;
    },

    async list(query = {}) {
      ctx.check();
      const filter: Record<string, unknown> = {};
      if (query.workspace !== undefined) filter.workspace = query.workspace;
      if (query.action !== undefined) filter.action = query.action;
      if (query.actor !== undefined) filter['actor.tokenId'] = query.actor;
      const at: Record<string, number> = {};
      if (query.since !== undefined) at.$gte = query.since;
      if (query.until !== undefined) at.$lt = query.until;
      if (Object.keys(at).length > 0) filter.at = at;
      // One workspace's list goes by its own numbers (same order as `_id` within it).
      const scoped = query.workspace !== undefined;
      const key = scoped ? 'wseq' : '_id';
      if (query.cursor !== undefined) filter[key] = { $lt: decodeAuditCursor(query.cursor, scoped) };
      const limit = Math.min(1000, Math.max(1, query.limit ?? 50));
      const docs = await col.audit.find(filter).sort({ [key]: -1 }).limit(limit + 1).toArray();
      const page = docs.slice(0, limit);
      const items: AuditEntry[] = page.map((d) => ({
        seq: d._id, workspaceSeq: d.wseq, at: d.at, actor: { tokenId: d.actor.tokenId, label: d.actor.label, role: d.actor.role as AuditEntry['actor']['role'] },
        address: d.address, workspace: d.workspace, action: d.action, target: d.target, detail: JSON.parse(d.detail) as Record<string, unknown>,
      }));
      const lastDoc = page[page.length - 1];
      return { items, nextCursor: docs.length > limit && lastDoc ? encodeAuditCursor(lastDoc[key], scoped) : null };
    },

    async prune(cutoff) {
      ctx.check();
      return (await col.audit.deleteMany({ at: { $lt: cutoff } })).deletedCount;
    },
  };
}

export function mongoBlobGrants(ctx: MongoContext): BlobGrants {
  const { col } = ctx;
  return {
    async grant(workspace, sha256s) {
      ctx.check();
      if (sha256s.length === 0) return;
      const docs = [...new Set(sha256s)].map((sha) => ({ _id: `${workspace}/${sha}`, workspace }));
      try {
        await col.grants.insertMany(docs, { ordered: false });
      } catch (err) {
        // Grants held already come back as duplicates: that is what was asked for.
        const list = (err as { writeErrors?: unknown }).writeErrors;
        const errors = Array.isArray(list) ? list : list === undefined ? [] : [list];
        if (errors.length === 0 || errors.some((e: { code?: unknown }) => e.code !== 11000)) throw err;
      }
    },
    async granted(workspace, sha256s) {
      ctx.check();
      if (sha256s.length === 0) return new Set();
      const docs = await col.grants.find({ _id: { $in: [...new Set(sha256s)].map((sha) => `${workspace}/${sha}`) } }).toArray();
      return new Set(docs.map((d) => d._id.slice(workspace.length + 1)));
    },
  };
}
