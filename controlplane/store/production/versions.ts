/**
 * VersionStore on MongoDB. Numbering is race-safe without transactions: a version's `_id` is
 * `<function>/<number>`, so of two creates that read the same latest version only one insert of
 * number n+1 succeeds; the other gets a duplicate key, re-reads and tries n+2. `changes` is always
 * computed against the version actually stored under n-1, and numbers have no gaps.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { diffFiles, workspaceOfKey } from '../../../protocol/index.js';
import { StoreError } from '../errors.js';
import { quotaExceeded } from '../quotas.js';
import { assertBlobsPresent, storedFiles } from '../sqlite/versions.js';
import type { BlobStore, VersionRecord, VersionStore, VersionSummary } from '../types.js';
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
  };
}

function notFound(name: string): StoreError {
  return new StoreError('FUNCTION_NOT_FOUND', `no function named ${name}`, { function: name });
}

export function mongoVersionStore(ctx: MongoContext, blobs: BlobStore): VersionStore {
  const { col } = ctx;
  const fnExists = async (name: string): Promise<boolean> => (await liveFunction(ctx, name)) !== null;
  const latestDoc = (fn: string): Promise<VersionDoc | null> => col.versions.find({ function: fn }).sort({ version: -1 }).limit(1).next();

  return {
    async create(input) {
      ctx.check();
      const files = storedFiles(input.files);
      if (!(await fnExists(input.function))) throw notFound(input.function);
      await assertBlobsPresent(blobs, files);
      const workspace = workspaceOfKey(input.function);
      const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
      // The codeBytes quota: exact within a process (the control plane uploads one at a time per
      // workspace); uploads racing in two processes may pass it by one version (docs/stores.md).
      const limit = (await liveWorkspace(ctx, workspace))?.quotas.codeBytes ?? null;
      if (limit !== null) {
        const used = (await col.versions.find({ workspace }, { projection: { totalBytes: 1 } }).toArray()).reduce((sum, v) => sum + v.totalBytes, 0);
        if (used + totalBytes > limit) throw quotaExceeded('codeBytes', workspace, limit, used);
      }
      for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
        ctx.check();
        const prev = await latestDoc(input.function);
        const version = (prev?.version ?? 0) + 1;
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
        };
        try {
          await col.versions.insertOne(doc);
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
          await sleep(Math.random() * 3 * (attempt + 1));
          continue;
        }
        // The function may have been deleted while we numbered: take the version back.
        if (!(await fnExists(input.function))) {
          await col.versions.deleteOne({ _id: doc._id });
          throw notFound(input.function);
        }
        return toRecord(doc);
      }
      throw new StoreError('REVISION_CONFLICT', `too many concurrent versions of ${input.function}; retry`, { function: input.function });
    },

    async get(fn, version) {
      ctx.check();
      const doc = await col.versions.findOne({ _id: `${fn}/${version}` });
      return doc === null ? null : toRecord(doc);
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
        .find({ function: fn, version: { $lt: options.before ?? Number.MAX_SAFE_INTEGER } }, { projection: { files: 0, manifest: 0 } })
        .sort({ version: -1 })
        .limit(limit)
        .toArray();
      return docs.map(toSummary);
    },
  };
}
