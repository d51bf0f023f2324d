/**
 * BlobStore on MongoDB: content split into chunks of at most 4 MiB (`blob_chunks`, `_id`
 * `<sha256>:<index>`), then a header (`blobs`, `_id` = sha256) written last, so a header means the
 * blob is whole. Chunking keeps every document far below the 16 MiB BSON limit whatever the bundle
 * file limit is; a plain collection is used rather than GridFS so one code path serves MongoDB and
 * FerretDB alike. Two writers of the same content write identical chunks; one header insert wins.
 * `localPath` is null: nothing is kept on local disk (callers use `get`).
 */
import { Binary } from 'mongodb';
import { sha256Async } from '../disk-blobs.js';
import { StoreError } from '../errors.js';
import type { BlobStore } from '../types.js';
import { isDuplicateKey, type MongoContext } from './context.js';

export const CHUNK_BYTES = 4 * 1024 * 1024;
const SHA256 = /^[0-9a-f]{64}$/;

export function mongoBlobStore(ctx: MongoContext): BlobStore {
  const { col } = ctx;

  async function header(sha256: string): Promise<{ size: number; chunks: number } | null> {
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

    async put(data, expectedSha256) {
      ctx.check();
      const sha256 = await sha256Async(data);
      if (expectedSha256 !== undefined && expectedSha256 !== sha256) {
        throw new StoreError('BLOB_HASH_MISMATCH', `content hashes to ${sha256}, not ${expectedSha256}`, { expected: expectedSha256, actual: sha256 });
      }
      const size = data.byteLength;
      if ((await header(sha256)) !== null) return { sha256, size, created: false };
      const chunks = Math.max(1, Math.ceil(size / CHUNK_BYTES));
      for (let i = 0; i < chunks; i++) {
        const part = data.subarray(i * CHUNK_BYTES, Math.min(size, (i + 1) * CHUNK_BYTES));
        const id = `${sha256}:${i}`;
        await col.chunks.replaceOne({ _id: id }, { data: new Binary(Buffer.from(part.buffer, part.byteOffset, part.byteLength)) }, { upsert: true });
      }
      try {
        await col.blobs.insertOne({ _id: sha256, size, chunks });
        return { sha256, size, created: true };
      } catch (err) {
        if (isDuplicateKey(err)) return { sha256, size, created: false };
        throw err;
      }
    },

    async get(sha256) {
      const head = await header(sha256);
      if (head === null) return null;
      const ids = Array.from({ length: head.chunks }, (_, i) => `${sha256}:${i}`);
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
