/**
 * BlobStore on MongoDB: content split into chunks of at most 4 MiB (`blob_chunks`, `_id`
 * `<sha256>:<index>`), then a header (`blobs`, `_id` = sha256) written last, so a header means the
 * blob is whole. Chunking keeps every document far below the 16 MiB BSON limit whatever the bundle
 * file limit is; a plain collection is used rather than GridFS so one code path serves MongoDB and
 * FerretDB alike. Two writers of the same content write identical chunks; one header insert wins.
 * `localPath` is null: nothing is kept on local disk (callers use `get`). A header's `touchedAt`
 * is when it was last put or touched: the collector deletes a header only with the `touchedAt` it
 * read (one atomic delete), then that copy's chunks (docs/adr/0099-collecting-contents.md).
 */
import { randomBytes } from 'node:crypto';
import { Binary } from 'mongodb';
import { sha256Async } from '../disk-blobs.js';
import { StoreError } from '../errors.js';
import type { BlobStore } from '../types.js';
import { isDuplicateKey, type BlobDoc, type MongoContext } from './context.js';

export const CHUNK_BYTES = 4 * 1024 * 1024;
const SHA256 = /^[0-9a-f]{64}$/;

export function mongoBlobStore(ctx: MongoContext): BlobStore {
  const { col } = ctx;

  async function header(sha256: string): Promise<BlobDoc | null> {
    ctx.check();
    if (!SHA256.test(sha256)) return null;
    return col.blobs.findOne({ _id: sha256 });
  }

  return {
    async has(sha256) {
      return (await header(sha256)) !== null;
    },

    async size(sha256) {
      return (await header(sha256))?.size ?? null;
    },

    async put(data, expectedSha256, options = {}) {
      ctx.check();
      const sha256 = await sha256Async(data);
      if (expectedSha256 !== undefined && expectedSha256 !== sha256) {
        throw new StoreError('BLOB_HASH_MISMATCH', `content hashes to ${sha256}, not ${expectedSha256}`, { expected: expectedSha256, actual: sha256 });
      }
      const size = data.byteLength;
      // Already there: touched, so the collector keeps it; collected meanwhile: written again.
      if (options.write !== true && (await col.blobs.updateOne({ _id: sha256 }, { $set: { touchedAt: ctx.now() } })).matchedCount === 1) return { sha256, size, created: false };
      const chunks = Math.max(1, Math.ceil(size / CHUNK_BYTES));
      const gen = randomBytes(6).toString('hex');
      const ids = chunkIds(sha256, chunks, gen);
      for (let i = 0; i < chunks; i++) {
        const part = data.subarray(i * CHUNK_BYTES, Math.min(size, (i + 1) * CHUNK_BYTES));
        await col.chunks.replaceOne({ _id: ids[i]! }, { data: new Binary(Buffer.from(part.buffer, part.byteOffset, part.byteLength)) }, { upsert: true });
      }
      try {
        await col.blobs.insertOne({ _id: sha256, size, chunks, gen, touchedAt: ctx.now() });
        // Asked to write whatever is stored: the round trips of a copy that lost (below) as well.
        if (options.write === true) {
          await col.chunks.deleteMany({ _id: { $in: [] } });
          await col.blobs.updateOne({ _id: sha256 }, { $set: { touchedAt: ctx.now() } });
        }
        return { sha256, size, created: true };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        // Another writer's copy won: ours goes, theirs is touched.
        await col.chunks.deleteMany({ _id: { $in: ids } });
        await col.blobs.updateOne({ _id: sha256 }, { $set: { touchedAt: ctx.now() } });
        return { sha256, size, created: false };
      }
    },

    async touch(sha256s) {
      ctx.check();
      const unique = [...new Set(sha256s)];
      const valid = unique.filter((s) => SHA256.test(s));
      if (valid.length > 0) await col.blobs.updateMany({ _id: { $in: valid } }, { $set: { touchedAt: ctx.now() } });
      // Read after the touch: a header the collector deleted before it is absent here; one it had
      // not yet deleted now has a touchedAt the collector's delete no longer matches.
      const present = new Set(valid.length === 0 ? [] : (await col.blobs.find({ _id: { $in: valid } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
      return unique.filter((s) => !present.has(s));
    },

    async sweep(cutoff, inUse) {
      ctx.check();
      let removed = 0;
      let bytes = 0;
      for (const head of await col.blobs.find({}).toArray()) {
        if (inUse(head._id) || (head.touchedAt ?? 0) >= cutoff) continue;
        const same = head.touchedAt === undefined ? { touchedAt: { $exists: false } } : { touchedAt: head.touchedAt };
        if ((await col.blobs.deleteOne({ _id: head._id, ...same })).deletedCount !== 1) continue; // touched meanwhile
        await col.chunks.deleteMany({ _id: { $in: chunkIds(head._id, head.chunks, head.gen) } });
        removed += 1;
        bytes += head.size;
      }
      return { removed, bytes };
    },

    async get(sha256) {
      const head = await header(sha256);
      if (head === null) return null;
      const ids = chunkIds(sha256, head.chunks, head.gen);
      const docs = await col.chunks.find({ _id: { $in: ids } }).toArray();
      const byId = new Map(docs.map((d) => [d._id, d.data]));
      const parts = ids.map((id) => {
        const chunk = byId.get(id);
        if (chunk === undefined) throw new StoreError('BLOB_NOT_FOUND', `blob ${sha256} is missing chunk ${id}`, { sha256 });
        const view = chunk.value();
        return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
      });
      const out = Buffer.concat(parts);
      if (out.length !== head.size) throw new StoreError('BLOB_NOT_FOUND', `blob ${sha256} is ${out.length} bytes, expected ${head.size}`, { sha256 });
      return out;
    },

    async localPath(sha256) {
      await header(sha256);
      return null;
    },
  };
}

/** The chunk ids of one copy of a blob (without `gen`: one written before copies had one). */
function chunkIds(sha256: string, chunks: number, gen?: string): string[] {
  return Array.from({ length: chunks }, (_, i) => (gen === undefined ? `${sha256}:${i}` : `${sha256}:${gen}:${i}`));
}
