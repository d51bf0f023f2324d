/**
 * Storing a checked bundle: resolves referenced files against the blob store first (so a bundle
 * naming content that was never uploaded is refused before anything is written), re-checks the
 * size limits with the referenced sizes known, then writes the uploaded contents as blobs.
 * Blobs written for a version that then fails to be created are harmless: content-addressed,
 * they are reused by the next upload of the same content.
 */
import { describeBytes } from '../../protocol/index.js';
import type { BlobStore, FileEntry } from '../store/types.js';
import { bundleLimits, type BundleLimits, type CheckedBundle } from './check.js';
import { BundleError } from './errors.js';

/** How many blob writes run at once. */
const PUT_CONCURRENCY = 8;

export async function saveBundle(bundle: CheckedBundle, blobs: BlobStore, limits: Partial<BundleLimits> = {}): Promise<FileEntry[]> {
  const max = bundleLimits(limits);
  const entries: FileEntry[] = [];
  let total = 0;
  for (const file of bundle.files) {
    const size = file.size ?? (await blobs.size(file.sha256));
    if (size === null) {
      throw new BundleError({ code: 'BUNDLE_BLOB_MISSING', message: `${JSON.stringify(file.path)} refers to content ${file.sha256} that was never uploaded; send its contentBase64`, path: file.path, field: 'files' });
    }
    if (size > max.maxFileBytes) {
      throw new BundleError({ code: 'BUNDLE_FILE_TOO_LARGE', message: `${JSON.stringify(file.path)} is ${describeBytes(size)}; the limit per file is ${describeBytes(max.maxFileBytes)}`, path: file.path, field: 'files', limit: max.maxFileBytes, actual: size });
    }
    total += size;
    entries.push({ path: file.path, sha256: file.sha256, size });
  }
  if (total > max.maxTotalBytes) {
    throw new BundleError({ code: 'BUNDLE_TOO_LARGE', message: `the bundle is ${describeBytes(total)}; the limit is ${describeBytes(max.maxTotalBytes)}`, path: null, field: 'files', limit: max.maxTotalBytes, actual: total });
  }
  const uploads = bundle.files.filter((f) => f.content !== null);
  for (let i = 0; i < uploads.length; i += PUT_CONCURRENCY) {
    await Promise.all(uploads.slice(i, i + PUT_CONCURRENCY).map((f) => blobs.put(f.content!, f.sha256)));
  }
  return entries;
}
