/**
 * The piscina tasks that check bundles off the event loop (loaded by pool.ts from the compiled
 * dist/controlplane/bundles/worker.js). Never throws a BundleError: it comes back as plain data.
 * Decoded content comes back as one ArrayBuffer per task, moved (not copied) to the caller.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { hashPlanned, planBundle, type BundleLimits, type PlannedFile } from './check.js';
import { isBundleError, type BundleProblem } from './errors.js';

export type WorkerTask =
  /** Decode and hash files the caller has already planned. */
  | { kind: 'hash'; entries: PlannedFile[] }
  /** Parse the raw JSON of the files value, plan it, decode and hash it. */
  | { kind: 'json'; json: Uint8Array; limits: BundleLimits }
  /**
   * Parse a whole upload request body (a JSON object with a `files` list), plan and hash its
   * files, and send back the body with every `contentBase64` emptied, for the caller to validate
   * the rest of it cheaply on its own thread.
   */
  | { kind: 'upload'; json: Uint8Array; limits: BundleLimits };

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
  /** An `upload` body that is not JSON, or not a JSON object. */
  | { ok: false; invalid: { code: 'INVALID_JSON' | 'INVALID_FIELD'; field: string; message: string } };

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
  try {
    if (task.kind === 'hash') {
      const { files, buffer } = hashPlanned(task.entries);
      return move(new Transfer({ ok: true, hashed: files, buffer }));
    }
    const text = Buffer.from(task.json.buffer, task.json.byteOffset, task.json.byteLength).toString('utf8');
    if (task.kind === 'upload') return upload(text, task.limits);
    const entries = planBundle(JSON.parse(text), task.limits);
    const { files, buffer } = hashPlanned(entries);
    const planned = entries.map((e) => ({ ...e, base64: e.base64 === null ? null : '' }));
    return move(new Transfer({ ok: true, hashed: files, buffer, planned }));
  } catch (err) {
    if (isBundleError(err)) return { ok: false, problem: err.toJSON() };
    if (err instanceof SyntaxError) {
      return { ok: false, problem: { code: 'BUNDLE_MALFORMED', message: `the files are not valid JSON: ${err.message}`, path: null, field: 'files' } };
    }
    throw err;
  }
}

function upload(text: string, limits: BundleLimits): WorkerReply | ReturnType<typeof move> {
  let body: unknown;
  try {
    body = text.trim() === '' ? {} : JSON.parse(text);
  } catch (err) {
    return { ok: false, invalid: { code: 'INVALID_JSON', field: 'body', message: `the body is not valid JSON: ${(err as Error).message}` } };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, invalid: { code: 'INVALID_FIELD', field: 'body', message: 'the body must be a JSON object' } };
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
