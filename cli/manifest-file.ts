/**
 * Reading `platform.yaml` from a folder for the CLI; the reading itself (YAML errors with their
 * line, schema problems with the key path and its line) is protocol/code-checks.ts, shared with
 * the API's `POST /validate`.
 */
import { join } from 'node:path';
import { MANIFEST_FILE, MAX_MANIFEST_TEXT_CHARS, readManifestText, type LimitCeilings, type ManifestRead } from '../protocol/index.js';
import { smallFileText } from './small-file.js';

export { MANIFEST_FILE, readManifestText, type ManifestProblem, type ManifestRead } from '../protocol/index.js';

/** Reads `<dir>/platform.yaml`; a missing file is a problem, not an exception. */
export async function readManifestFile(dir: string, env: Record<string, string | undefined>, options: { ceilings?: LimitCeilings } = {}): Promise<ManifestRead> {
  // A regular file of a bounded size (a clone's link to /dev/zero was read up to 2 GiB, a FIFO hung
  // the command: red team round 39); a link out of the folder is the file walk's problem (cli/files.ts).
  const text = await smallFileText(join(dir, MANIFEST_FILE), MAX_MANIFEST_TEXT_CHARS * 4, null, '');
  if (typeof text === 'string') return readManifestText(text, env, MANIFEST_FILE, options);
  const message = text === null ? 'not found; create one with `fastapi-platform init`' : text.refused;
  return { raw: null, manifest: null, problems: [{ kind: 'manifest', file: MANIFEST_FILE, line: null, column: null, path: '', message }] };
}
