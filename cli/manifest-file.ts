/**
 * Reading `platform.yaml` from a folder for the CLI; the reading itself (YAML errors with their
 * line, schema problems with the key path and its line) is protocol/code-checks.ts, shared with
 * the API's `POST /validate`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE, readManifestText, type LimitCeilings, type ManifestRead } from '../protocol/index.js';

export { MANIFEST_FILE, readManifestText, type ManifestProblem, type ManifestRead } from '../protocol/index.js';

/** Reads `<dir>/platform.yaml`; a missing file is a problem, not an exception. */
export async function readManifestFile(dir: string, env: Record<string, string | undefined>, options: { ceilings?: LimitCeilings } = {}): Promise<ManifestRead> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (err) {
    const message = (err as NodeJS.ErrnoException).code === 'ENOENT'
      ? 'not found; create one with `fastapi-platform init`'
      : `cannot be read: ${(err as Error).message}`;
    return { raw: null, manifest: null, problems: [{ kind: 'manifest', file: MANIFEST_FILE, line: null, column: null, path: '', message }] };
  }
  return readManifestText(text, env, MANIFEST_FILE, options);
}
