/**
 * VersionStore on MongoDB. Numbering is race-safe without transactions: a version's `_id` is
 * `<function>/<number>`, so of two creates that read the same latest version only one insert of
 * number n+1 succeeds; the other gets a duplicate key, re-reads and tries n+2. `changes` is always
 * computed against the newest version stored before it. A deleted version stays as a marker
 * (`deletedAt`, no files, 0 bytes; docs/adr/0098-deleting-versions.md) so its number is never
 * taken again; every read passes markers over.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { diffFiles, workspaceOfKey } from '../../../protocol/index.js';
import { StoreError } from '../errors.js';
import { quotaExceeded } from '../quotas.js';
import { startCheckOf, storedFiles, versionActive, versionInUse } from '../sqlite/versions.js';
import type { BlobStore, VersionRecord, VersionStore, VersionSummary } from '../types.js';
import { pruneVersions, touchContents } from '../version-retention.js';
import { isDuplicateKey, type MongoContext, type VersionDoc } from './context.js';
import { liveFunction } from './functions.js';
import { liveWorkspace } from './workspaces.js';

/** Attempts at taking the next number under contention (each loser re-reads). */
const CREATE_ATTEMPTS = 50;

function toRecord(doc: VersionDoc): VersionRecord {
  return {
    function: doc.function,
    version: doc.version,
    entrypoint: doc.entrypoint,
    files: storedFiles(doc.files),
    manifest: JSON.parse(doc.manifest) as unknown,
    createdAt: doc.createdAt,
    createdBy: doc.createdBy,
    note: doc.note,
    changes: { added: [...doc.changes.added], modified: [...doc.changes.modified], removed: [...doc.changes.removed] },
    startCheck: doc.startCheck === undefined ? null : startCheckOf(doc.startCheck),
  };
}

function toSummary(doc: Omit<VersionDoc, 'files' | 'manifest'>): VersionSummary {
  return {
    function: doc.function,
    version: doc.version,
    entrypoint: doc.entrypoint,
    createdAt: doc.createdAt,
    createdBy: doc.createdBy,
    note: doc.note,
    changes: { added: [...doc.changes.added], modified: [...doc.changes.modified], removed: [...doc.changes.removed] },
    fileCount: doc.fileCount,
    totalBytes: doc.totalBytes,
    startCheck: doc.startCheck === undefined ? null : startCheckOf(doc.startCheck),
  };
}

function notFound(name: string): StoreError {
  return new StoreError('FUNCTION_NOT_FOUND', `no function named ${name}`, { function: name });
}

export function mongoVersionStore(ctx: MongoContext, blobs: BlobStore): VersionStore {
  const { col } = ctx;
  /** The function lives as the incarnation `base`: not deleted, nor deleted and created again. */
  const fnExists = async (name: string, base: number): Promise<boolean> => (await liveFunction(ctx, name))?.base === base;
  /** The newest version, deleted or not (numbering). */
  const lastDoc = (fn: string): Promise<VersionDoc | null> => col.versions.find({ function: fn }).sort({ version: -1 }).limit(1).next();
  /** The newest version not deleted. */
  const latestDoc = (fn: string): Promise<VersionDoc | null> => col.versions.find({ function: fn, deletedAt: { $exists: false } }).sort({ version: -1 }).limit(1).next();

  const store: VersionStore = {
    async create(input) {
      ctx.check();
      const files = storedFiles(input.files);
      // Its incarnation is stamped on the version: a late cleanup of an earlier function of this
      // name (another process's delete or sweep) leaves it alone (ADR 0159).
      const fn = await liveFunction(ctx, input.function);
      if (fn === null) throw notFound(input.function);
      const inTime = await touchContents(blobs, files);
      const workspace = workspaceOfKey(input.function);
      const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
      // The codeBytes quota: exact within a process (the control plane uploads one at a time per
      // workspace); uploads racing in two processes may pass it by one version (docs/stores.md).
      const limit = (await liveWorkspace(ctx, workspace))?.quotas.codeBytes ?? null;
      if (limit !== null) {
        const used = (await col.versions.find({ workspace }, { projection: { totalBytes: 1 } }).toArray()).reduce((sum, v) => sum + v.totalBytes, 0);
        if (used + totalBytes > limit) throw quotaExceeded('codeBytes', workspace, limit, used, totalBytes);
      }
      for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
        ctx.check();
        const last = await lastDoc(input.function);
        const prev = last === null || last.deletedAt === undefined ? last : await latestDoc(input.function);
        const version = (last?.version ?? 0) + 1;
        inTime();
        await ctx.testHooks?.beforeVersionWrite?.(input.function);
        const doc: VersionDoc = {
          _id: `${input.function}/${version}`,
          function: input.function,
          workspace,
          version,
          entrypoint: input.entrypoint,
          files,
          manifest: JSON.stringify(input.manifest ?? null),
          changes: diffFiles(prev?.files ?? null, files),
          fileCount: files.length,
          totalBytes,
          createdAt: ctx.now(),
          createdBy: input.createdBy,
          note: input.note ?? '',
          gen: fn.base,
        };
        try {
          await col.versions.insertOne(doc);
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
          await sleep(Math.random() * 3 * (attempt + 1));
          continue;
        }
        // The function may have been deleted while we numbered: take the version back (a delete
        // `ifNoVersions` whose tombstone came before our write then deletes nothing of ours; one
        // whose tombstone came after sees it: ADR 0181). So too when it was deleted and created
        // again: the version is the earlier function's, not the new one's. So too a version stored
        // too long after its contents were touched (the collector may take them).
        if (!(await fnExists(input.function, fn.base))) {
          await col.versions.deleteOne({ _id: doc._id });
          throw notFound(input.function);
        }
        try {
          inTime();
        } catch (err) {
          await col.versions.deleteOne({ _id: doc._id });
          throw err;
        }
        return toRecord(doc);
      }
      throw new StoreError('REVISION_CONFLICT', `too many concurrent versions of ${input.function}; retry`, { function: input.function });
    },

    async get(fn, version) {
      ctx.check();
      const doc = await col.versions.findOne({ _id: `${fn}/${version}` });
      return doc === null || doc.deletedAt !== undefined ? null : toRecord(doc);
    },

    async latest(fn) {
      ctx.check();
      const doc = await latestDoc(fn);
      return doc === null ? null : toRecord(doc);
    },

    async list(fn, options = {}) {
      ctx.check();
      const limit = Math.max(1, Math.min(1000, options.limit ?? 100));
      const docs = await col.versions
        .find({ function: fn, version: { $lt: options.before ?? Number.MAX_SAFE_INTEGER }, deletedAt: { $exists: false } }, { projection: { files: 0, manifest: 0 } })
        .sort({ version: -1 })
        .limit(limit)
        .toArray();
      return docs.map(toSummary);
    },

    async setStartCheck(fn, version, check) {
      ctx.check();
      await col.versions.updateOne({ _id: `${fn}/${version}`, deletedAt: { $exists: false } }, { $set: { startCheck: startCheckOf(check) } });
    },

    async delete(fn, version) {
      ctx.check();
      const record = await liveFunction(ctx, fn);
      if (record === null) throw notFound(fn);
      const id = `${fn}/${version}`;
      const doc = await col.versions.findOne({ _id: id });
      if (doc === null || doc.deletedAt !== undefined) {
        throw new StoreError('VERSION_NOT_FOUND', `function ${fn} has no version ${version}`, { function: fn, version });
      }
      if (record.activeVersion === version) throw versionActive(fn, version);
      const draft = await col.drafts.findOne({ _id: fn });
      if (draft !== null && draft.fnBase === record.base && draft.baseVersion === version) throw versionInUse(fn, version, 'draft');
      const marker = { deletedAt: ctx.now(), files: [], manifest: 'null', fileCount: 0, totalBytes: 0 };
      if ((await col.versions.updateOne({ _id: id, deletedAt: { $exists: false } }, { $set: marker })).matchedCount !== 1) {
        throw new StoreError('VERSION_NOT_FOUND', `function ${fn} has no version ${version}`, { function: fn, version });
      }
      // A deploy to it in another process between the check and the delete: the version comes back.
      if ((await liveFunction(ctx, fn))?.activeVersion === version) {
        await col.versions.replaceOne({ _id: id }, doc);
        throw versionActive(fn, version);
      }
    },

    prune(fn, keep, protect) {
      return pruneVersions(store, fn, keep, protect);
    },

    async collectBlobs(cutoff, keep) {
      ctx.check();
      const used = new Set(keep);
      for (const doc of await col.versions.find({ deletedAt: { $exists: false } }, { projection: { files: 1 } }).toArray()) for (const f of doc.files) used.add(f.sha256);
      return blobs.sweep(cutoff, (sha) => used.has(sha));
    },
  };
  return store;
}
