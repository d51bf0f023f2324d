/**
 * The piscina tasks that check bundles off the event loop (loaded by pool.ts from the compiled
 * dist/controlplane/bundles/worker.js). Never throws a BundleError: it comes back as plain data.
 * Decoded content comes back as one ArrayBuffer per task, moved (not copied) to the caller.
 */
import type { MessagePort } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
// The file itself, not protocol/index.js (zod and the rest are not needed in a worker).
import { readJsonText } from '../../protocol/json-text.js';
import { hashPlanned, planBundle, type BundleLimits, type PlannedFile } from './check.js';
import { isBundleError, type BundleProblem } from './errors.js';

export type WorkerTask = (
  /** Decode and hash files the caller has already planned. */
  | { kind: 'hash'; entries: PlannedFile[] }
  /** Parse the raw JSON of the files value, plan it, decode and hash it. */
  | { kind: 'json'; json: Uint8Array; limits: BundleLimits }
  /**
   * Parse a whole upload request body (a JSON object with a `files` list), plan and hash its
   * files, and send back the body with every `contentBase64` emptied, for the caller to validate
   * the rest of it cheaply on its own thread. A `manifest` whose JSON is larger than
   * `maxManifestBytes` is refused here, so it never travels back.
   */
  | { kind: 'upload'; json: Uint8Array; limits: BundleLimits; maxManifestBytes: number }
) & {
  /** Told once the task starts running, so the caller's timeout counts running time, not time queued (pool.ts). */
  started?: MessagePort;
};

/** A body refused before its files are looked at: the code and field for the API's error. */
export interface InvalidBody {
  code: 'INVALID_JSON' | 'INVALID_FIELD' | 'JSON_TOO_DEEP' | 'MANIFEST_TOO_LARGE';
  field: string;
  message: string;
  limit?: number;
  actual?: number;
}

export interface HashedFile {
  path: string;
  sha256: string;
  size: number;
  offset: number;
}

export type WorkerReply =
  /** `planned` only for `json` and `upload` tasks, with the base64 text dropped; `body` only for `upload`. */
  | { ok: true; hashed: HashedFile[]; buffer: ArrayBuffer; planned?: PlannedFile[]; body?: Record<string, unknown> }
  | { ok: false; problem: BundleProblem }
  /** An `upload` body that is not UTF-8 JSON, nested too deep, not a JSON object, or has too large a manifest (also a `json` task nested too deep). */
  | { ok: false; invalid: InvalidBody };

/** Hands the reply to piscina with its buffer in the transfer list. */
class Transfer {
  constructor(private readonly reply: WorkerReply & { ok: true }) {}
  get [transferableSymbol](): ArrayBuffer[] {
    return [this.reply.buffer];
  }
  get [valueSymbol](): WorkerReply {
    return this.reply;
  }
}

export default function bundleTask(task: WorkerTask): WorkerReply | ReturnType<typeof move> {
  task.started?.postMessage(null);
  try {
    if (task.kind === 'hash') {
      const { files, buffer } = hashPlanned(task.entries);
      return move(new Transfer({ ok: true, hashed: files, buffer }));
    }
    if (task.kind === 'upload') return upload(task.json, task.limits, task.maxManifestBytes);
    const read = readJsonText(task.json);
    if (!read.ok && read.problem.code === 'JSON_TOO_DEEP') return { ok: false, invalid: { ...read.problem, field: 'files' } };
    if (!read.ok) return { ok: false, problem: { code: 'BUNDLE_MALFORMED', message: read.problem.message.replace('the body', 'the files'), path: null, field: 'files' } };
    const entries = planBundle(read.value, task.limits);
    const { files, buffer } = hashPlanned(entries);
    const planned = entries.map((e) => ({ ...e, base64: e.base64 === null ? null : '' }));
    return move(new Transfer({ ok: true, hashed: files, buffer, planned }));
  } catch (err) {
    if (isBundleError(err)) return { ok: false, problem: err.toJSON() };
    throw err;
  }
}

function upload(json: Uint8Array, limits: BundleLimits, maxManifestBytes: number): WorkerReply | ReturnType<typeof move> {
  // UTF-8 and depth first: nothing recursive (parse, stringify, the reply's structured clone) sees a deep body.
  const read = readJsonText(json);
  if (!read.ok) return { ok: false, invalid: read.problem };
  const body = read.value;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, invalid: { code: 'INVALID_FIELD', field: 'body', message: 'the body must be a JSON object' } };
  }
  const manifest = (body as { manifest?: unknown }).manifest;
  const manifestBytes = manifest === undefined ? 0 : Buffer.byteLength(JSON.stringify(manifest));
  if (manifestBytes > maxManifestBytes) {
    return { ok: false, invalid: { code: 'MANIFEST_TOO_LARGE', field: 'manifest', message: `the manifest is ${manifestBytes} bytes of JSON; the limit is ${maxManifestBytes}`, limit: maxManifestBytes, actual: manifestBytes } };
  }
  const files = (body as { files?: unknown }).files;
  const entries = planBundle(files, limits);
  const { files: hashed, buffer } = hashPlanned(entries);
  const planned = entries.map((e) => ({ ...e, base64: e.base64 === null ? null : '' }));
  return move(new Transfer({ ok: true, hashed, buffer, planned, body: { ...body, files: emptied(files) } }));
}

/** The files value with each content replaced by '' (it was hashed; only its shape matters now). */
function emptied(files: unknown): unknown {
  if (Array.isArray(files)) {
    return files.map((item: unknown) =>
      typeof item === 'object' && item !== null && typeof (item as { contentBase64?: unknown }).contentBase64 === 'string'
        ? { ...item, contentBase64: '' }
        : item,
    );
  }
  if (typeof files === 'object' && files !== null) return Object.fromEntries(Object.keys(files).map((k) => [k, '']));
  return files;
}
