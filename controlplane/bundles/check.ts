/**
 * Checking an uploaded bundle in two steps. `planBundle` does the cheap checks (shape, count,
 * paths, sizes from the base64 lengths) without touching content, so an oversized or malformed
 * upload is refused before any decoding. `hashPlanned` does the CPU-bound part (base64 validation,
 * decoding, sha256) and is what the worker threads run (pool.ts). `checkBundle` does both in the
 * calling thread, for tests and the CLI.
 */
import { createHash } from 'node:crypto';
// The file itself, not protocol/index.js: this module runs in the bundle worker threads too.
import { describeBytes } from '../../protocol/units.js';
import { BundleError } from './errors.js';
import { checkPathSet, normalizeBundlePath } from './paths.js';

export interface BundleLimits {
  /** Default 1000. */
  maxFiles: number;
  /** Sum of all file sizes. Default 50 MiB. */
  maxTotalBytes: number;
  /** Default 10 MiB. */
  maxFileBytes: number;
}

export const DEFAULT_BUNDLE_LIMITS: Readonly<BundleLimits> = Object.freeze({
  maxFiles: 1000,
  maxTotalBytes: 50 * 1024 * 1024,
  maxFileBytes: 10 * 1024 * 1024,
});

/**
 * One file as the client sends it: its content in base64, or only its sha256 when the content is
 * already stored (the CLI uploads only files whose hash changed).
 */
export type BundleFileInput = { path: string; contentBase64: string } | { path: string; sha256: string };

/** A list of files, or a map from path to base64 content. */
export type BundleInput = BundleFileInput[] | Record<string, string>;

export interface CheckedFile {
  /** Normalised. */
  path: string;
  sha256: string;
  /** null for a reference (content not uploaded; its size comes from the blob store). */
  size: number | null;
  /** The decoded content; null for a reference. */
  content: Uint8Array | null;
}

export interface CheckedBundle {
  /** Sorted by path. */
  files: CheckedFile[];
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** One file after the cheap checks: path normalised, size known, content still base64. */
export interface PlannedFile {
  raw: string;
  path: string;
  field: string;
  base64: string | null;
  sha256: string | null;
  size: number;
}

function malformed(field: string, message: string, path: string | null = null): BundleError {
  return new BundleError({ code: 'BUNDLE_MALFORMED', message, path, field });
}

/** Bytes that a base64 text decodes to (exact for valid input). */
function decodedLength(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

function readEntries(input: unknown): PlannedFile[] {
  const items: { raw: unknown; field: string; value: unknown }[] = [];
  if (Array.isArray(input)) {
    input.forEach((item: unknown, i) => {
      if (typeof item !== 'object' || item === null) throw malformed(`files[${i}]`, 'each file must be an object {path, contentBase64} or {path, sha256}');
      items.push({ raw: (item as { path?: unknown }).path, field: `files[${i}]`, value: item });
    });
  } else if (typeof input === 'object' && input !== null) {
    for (const [path, content] of Object.entries(input)) items.push({ raw: path, field: `files[${JSON.stringify(path)}]`, value: { contentBase64: content } });
  } else {
    throw malformed('files', 'files must be a list of {path, contentBase64} or a map from path to base64 content');
  }
  return items.map(({ raw, field, value }) => {
    const path = normalizeBundlePath(raw, `${field}.path`);
    const rawPath = raw as string;
    const { contentBase64, sha256 } = value as { contentBase64?: unknown; sha256?: unknown };
    if (typeof contentBase64 === 'string') {
      return { raw: rawPath, path, field, base64: contentBase64, sha256: null, size: decodedLength(contentBase64) };
    }
    if (contentBase64 === undefined && typeof sha256 === 'string' && SHA256.test(sha256)) {
      return { raw: rawPath, path, field, base64: null, sha256, size: 0 };
    }
    throw malformed(field, `${JSON.stringify(rawPath)} needs contentBase64 (a base64 string) or sha256 (64 lower-case hex digits)`, rawPath);
  });
}

function checkSizes(entries: readonly PlannedFile[], limits: BundleLimits): void {
  let total = 0;
  for (const e of entries) {
    if (e.size > limits.maxFileBytes) {
      throw new BundleError({ code: 'BUNDLE_FILE_TOO_LARGE', message: `${JSON.stringify(e.raw)} is ${describeBytes(e.size)}; the limit per file is ${describeBytes(limits.maxFileBytes)}`, path: e.raw, field: e.field, limit: limits.maxFileBytes, actual: e.size });
    }
    total += e.size;
  }
  if (total > limits.maxTotalBytes) {
    throw new BundleError({ code: 'BUNDLE_TOO_LARGE', message: `the bundle is ${describeBytes(total)}; the limit is ${describeBytes(limits.maxTotalBytes)}`, path: null, field: 'files', limit: limits.maxTotalBytes, actual: total });
  }
}

/**
 * The cheap checks: shape, count, paths, sizes (from the base64 lengths). Touches no content, so
 * it is safe on the event loop even for a large bundle. Throws BundleError.
 */
export function planBundle(input: unknown, limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): PlannedFile[] {
  const count = Array.isArray(input) ? input.length : typeof input === 'object' && input !== null ? Object.keys(input).length : 0;
  if (count > limits.maxFiles) {
    throw new BundleError({ code: 'BUNDLE_TOO_MANY_FILES', message: `the bundle has ${count} files; the limit is ${limits.maxFiles}`, path: null, field: 'files', limit: limits.maxFiles, actual: count });
  }
  const entries = readEntries(input);
  if (entries.length === 0) throw new BundleError({ code: 'BUNDLE_EMPTY', message: 'the bundle has no files', path: null, field: 'files' });
  checkPathSet(entries);
  checkSizes(entries, limits);
  return entries;
}

/**
 * The expensive part, for worker threads: validates the base64 of each uploaded file, decodes it
 * into one fresh ArrayBuffer and hashes it. Returns each file's hash and place in that buffer.
 */
export function hashPlanned(entries: readonly PlannedFile[]): { files: { path: string; sha256: string; size: number; offset: number }[]; buffer: ArrayBuffer } {
  const total = entries.reduce((sum, e) => sum + (e.base64 === null ? 0 : e.size), 0);
  const buffer = new ArrayBuffer(total);
  const data = Buffer.from(buffer);
  let offset = 0;
  const files = entries
    .filter((e) => e.base64 !== null)
    .map((e) => {
      const text = e.base64!;
      if (text.length % 4 !== 0 || !BASE64.test(text)) {
        throw new BundleError({ code: 'BUNDLE_ENCODING_INVALID', message: `the content of ${JSON.stringify(e.raw)} is not valid base64`, path: e.raw, field: `${e.field}.contentBase64` });
      }
      const written = data.write(text, offset, e.size, 'base64');
      const file = { path: e.path, sha256: createHash('sha256').update(data.subarray(offset, offset + written)).digest('hex'), size: written, offset };
      offset += written;
      return file;
    });
  return { files, buffer };
}

/** Puts planned files and their hashed contents together, sorted by path. */
export function assemble(entries: readonly PlannedFile[], hashed: ReadonlyMap<string, { sha256: string; size: number; content: Uint8Array }>): CheckedBundle {
  const files = entries.map((e): CheckedFile => {
    if (e.base64 === null) return { path: e.path, sha256: e.sha256!, size: null, content: null };
    const h = hashed.get(e.path)!;
    return { path: e.path, sha256: h.sha256, size: h.size, content: h.content };
  });
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files };
}

/** Checks and hashes a bundle in the calling thread; throws BundleError for the first problem. */
export function checkBundle(input: unknown, limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): CheckedBundle {
  const entries = planBundle(input, limits);
  const { files, buffer } = hashPlanned(entries);
  return assemble(entries, new Map(files.map((f) => [f.path, { ...f, content: new Uint8Array(buffer, f.offset, f.size) }])));
}

/** `limits` with every missing key taken from the defaults. */
export function bundleLimits(partial: Partial<BundleLimits> = {}): BundleLimits {
  return { ...DEFAULT_BUNDLE_LIMITS, ...partial };
}
