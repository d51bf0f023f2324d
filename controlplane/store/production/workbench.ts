/**
 * DraftStore and TestCaseStore on MongoDB: collections `drafts` (`_id` the function key, ADR 0011)
 * and `test_cases` (`_id` `<function key>/<name>`). Each document carries the `base` of the function
 * revision chain it was written for (./functions.ts): a draft left behind by a function deleted
 * while it was saved is never shown to a new function of the same name. Writes are whole-document
 * replaces (last write wins, unless the caller gives the revision it read); a concurrent first write of one `_id` can fail with E11000 on FerretDB
 * (docs/stores.md, "FerretDB gaps"), so it is tried once more, when the document exists.
 */
import type { Collection, Document } from 'mongodb';
import { draftConflict, StoreError } from '../errors.js';
import type { DraftRecord, DraftStore, TestCase, TestCaseStore } from '../types.js';
import { isDuplicateKey, type DraftDoc, type MongoContext, type TestCaseDoc } from './context.js';
import { liveFunction } from './functions.js';

async function mustBase(ctx: MongoContext, fn: string): Promise<number> {
  const live = await liveFunction(ctx, fn);
  if (live === null) throw new StoreError('FUNCTION_NOT_FOUND', `no function named ${fn}`, { function: fn });
  return live.base;
}

async function currentBase(ctx: MongoContext, fn: string): Promise<number | null> {
  return (await liveFunction(ctx, fn))?.base ?? null;
}

async function replace<D extends Document & { _id: string }>(col: Collection<D>, doc: D): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await col.replaceOne({ _id: doc._id } as never, doc, { upsert: true });
      return;
    } catch (err) {
      if (!isDuplicateKey(err) || attempt > 0) throw err;
    }
  }
}

const draftOf = ({ _id: _ignored, fnBase: _base, ...rest }: DraftDoc): DraftRecord => rest;
const caseOf = ({ _id: _ignored, fnBase: _base, request, ...rest }: TestCaseDoc): TestCase => ({ ...rest, request: JSON.parse(request) as Record<string, unknown> });

export function mongoDraftStore(ctx: MongoContext): DraftStore {
  const col = ctx.col.drafts;
  return {
    async get(fn) {
      ctx.check();
      const [doc, base] = await Promise.all([col.findOne({ _id: fn }), currentBase(ctx, fn)]);
      return doc === null || doc.fnBase !== base ? null : draftOf(doc);
    },
    async put(fn, draft, ifRevision) {
      ctx.check();
      const base = await mustBase(ctx, fn);
      const docAt = (revision: number): DraftDoc => ({
        _id: fn,
        fnBase: base,
        function: fn,
        baseVersion: draft.baseVersion,
        files: draft.files.map((f) => ({ path: f.path, content: f.content })),
        removed: [...draft.removed],
        revision,
        updatedAt: ctx.now(),
        updatedBy: draft.updatedBy,
      });
      if (ifRevision === undefined) {
        const prev = await col.findOne({ _id: fn });
        const doc = docAt(prev !== null && prev.fnBase === base ? prev.revision + 1 : 1);
        await replace(col, doc);
        return draftOf(doc);
      }
      // Conditional, in one write: the draft at that revision (of this function, not a deleted
      // one's of the same name), or none (a stale one of a deleted function counts as none; a
      // live one makes the upsert's insert fail on the _id: a conflict).
      const doc = docAt(ifRevision + 1);
      try {
        const done = ifRevision === 0
          ? await col.replaceOne({ _id: fn, fnBase: { $ne: base } }, doc, { upsert: true })
          : await col.replaceOne({ _id: fn, fnBase: base, revision: ifRevision }, doc);
        if (done.matchedCount + done.upsertedCount > 0) return draftOf(doc);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const now = await col.findOne({ _id: fn });
      throw draftConflict(fn, now !== null && now.fnBase === base ? now : null);
    },
    async delete(fn, ifRevision) {
      ctx.check();
      if (ifRevision === undefined) return (await col.deleteOne({ _id: fn })).deletedCount > 0;
      // This function's draft at that revision (not a deleted function's of the same name).
      const base = await currentBase(ctx, fn);
      return base !== null && (await col.deleteOne({ _id: fn, fnBase: base, revision: ifRevision })).deletedCount > 0;
    },
  };
}

export function mongoTestCaseStore(ctx: MongoContext): TestCaseStore {
  const col = ctx.col.testCases;
  return {
    async list(fn) {
      ctx.check();
      const base = await currentBase(ctx, fn);
      if (base === null) return [];
      const docs = await col.find({ function: fn, fnBase: base }).toArray();
      return docs.map(caseOf).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    async put(fn, name, input) {
      ctx.check();
      const base = await mustBase(ctx, fn);
      const id = `${fn}/${name}`;
      const prev = await col.findOne({ _id: id });
      const now = ctx.now();
      const doc: TestCaseDoc = {
        _id: id,
        fnBase: base,
        function: fn,
        name,
        mode: input.mode,
        // JSON text in, JSON back: a request body may hold keys MongoDB refuses as field names.
        request: JSON.stringify(input.request),
        createdAt: prev !== null && prev.fnBase === base ? prev.createdAt : now,
        updatedAt: now,
      };
      await replace(col, doc);
      return caseOf(doc);
    },
    async delete(fn, name) {
      ctx.check();
      return (await col.deleteOne({ _id: `${fn}/${name}` })).deletedCount > 0;
    },
  };
}
