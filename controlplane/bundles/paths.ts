/**
 * Paths inside a bundle. A stored path is relative, `/`-separated and normalised; anything that
 * could land outside the bundle directory when written (absolute, `..`, backslashes that Windows
 * tools treat as separators, NUL) is refused rather than repaired, so what the user sees is what
 * runs; so is a name that would not show what it is (protocol/file-names.ts: control and format
 * characters, unpaired surrogates, edge spaces, a `~user` first folder). Pure functions, no I/O.
 */
import { posix } from 'node:path';
// The file itself, not protocol/index.js: this module runs in the bundle worker threads too.
import { MAX_SEGMENT_BYTES, nameProblem } from '../../protocol/file-names.js';
import { BundleError } from './errors.js';

export const MAX_PATH_BYTES = 1024;
export { MAX_SEGMENT_BYTES };

function invalid(raw: string, field: string, why: string): BundleError {
  return new BundleError({ code: 'BUNDLE_PATH_INVALID', message: `file path ${JSON.stringify(raw)} ${why}`, path: raw, field });
}

/**
 * The canonical form of `raw` (`./a//b.py` → `a/b.py`), or BUNDLE_PATH_INVALID with the path.
 * `field` names where it came from in the request, for the error.
 */
export function normalizeBundlePath(raw: unknown, field = 'path'): string {
  if (typeof raw !== 'string') {
    throw new BundleError({ code: 'BUNDLE_PATH_INVALID', message: 'a file path must be a string', path: null, field });
  }
  if (raw.length === 0) throw invalid(raw, field, 'is empty');
  if (raw.includes('\0')) throw invalid(raw, field, 'contains a NUL byte');
  // Control characters (newlines, escapes, C1) in names break logs, shells and terminals.
  if (/\p{Cc}/u.test(raw)) throw invalid(raw, field, 'contains a control character');
  if (raw.includes('\\')) throw invalid(raw, field, 'contains a backslash; separate folders with /');
  if (raw.startsWith('/')) throw invalid(raw, field, 'is absolute; paths are relative to the bundle root');
  if (/^[A-Za-z]:/.test(raw)) throw invalid(raw, field, 'starts with a drive letter');
  if (raw.split('/').includes('..')) throw invalid(raw, field, 'contains ..');
  if (raw.endsWith('/')) throw invalid(raw, field, 'names a folder, not a file');
  const normal = posix.normalize(raw).replace(/^(\.\/)+/, '');
  // Unreachable after the `..` check; kept so a change above cannot open an escape.
  if (normal === '.' || normal === '' || normal === '..' || normal.startsWith('../') || posix.isAbsolute(normal)) {
    throw invalid(raw, field, 'escapes the bundle root');
  }
  if (Buffer.byteLength(normal) > MAX_PATH_BYTES) throw invalid(raw, field, `is longer than ${MAX_PATH_BYTES} bytes`);
  // Per name, on the normalised form (so `./~root/x.py` and `a// b.py` are seen as they will be stored).
  for (const [i, segment] of normal.split('/').entries()) {
    const why = nameProblem(segment, i === 0);
    if (why !== null) throw invalid(raw, field, why);
  }
  return normal;
}

/**
 * Refuses two entries with the same normalised path (BUNDLE_PATH_DUPLICATE) and a file that is also
 * a folder of another (`a` and `a/b`: BUNDLE_PATH_CONFLICT). `entries` are normalised paths with
 * the raw path and field of each, for the error.
 */
export function checkPathSet(entries: readonly { path: string; raw: string; field: string }[]): void {
  const seen = new Map<string, string>();
  for (const e of entries) {
    const first = seen.get(e.path);
    if (first !== undefined) {
      throw new BundleError({ code: 'BUNDLE_PATH_DUPLICATE', message: `${JSON.stringify(e.raw)} is the same file as ${JSON.stringify(first)}`, path: e.raw, field: e.field });
    }
    seen.set(e.path, e.raw);
  }
  for (const e of entries) {
    let cut = e.path.lastIndexOf('/');
    while (cut > 0) {
      const folder = e.path.slice(0, cut);
      const clash = seen.get(folder);
      if (clash !== undefined) {
        throw new BundleError({ code: 'BUNDLE_PATH_CONFLICT', message: `${JSON.stringify(clash)} is a file, so ${JSON.stringify(e.raw)} cannot be inside it`, path: e.raw, field: e.field });
      }
      cut = folder.lastIndexOf('/');
    }
  }
}
