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
  | { kind: 'json'; json: Uint8Array; limits: BundleLimits };

export interface HashedFile {
  path: string;
  sha256: string;
  size: number;
  offset: number;
}

export type WorkerReply =
  /** `planned` only for `json` tasks, with the base64 text dropped. */
  | { ok: true; hashed: HashedFile[]; buffer: ArrayBuffer; planned?: PlannedFile[] }
  | { ok: false; problem: BundleProblem };

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
