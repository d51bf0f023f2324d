/**
 * Reading `platform.yaml` for the CLI: YAML errors with their line, schema problems (from the one
 * zod schema, protocol/manifest.ts) with the key path and the line of that key.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { isManifestError, parseManifest, type Manifest } from '../protocol/index.js';

export const MANIFEST_FILE = 'platform.yaml';

export interface ManifestProblem {
  kind: 'manifest' | 'yaml';
  file: string;
  line: number | null;
  column: number | null;
  /** Dotted key path (`limits.timeout`), empty for the document. */
  path: string;
  message: string;
}

export interface ManifestRead {
  /** The decoded document as written (human units, `${VAR}` unresolved): stored with the version. */
  raw: unknown;
  /** Parsed: defaults filled, units converted, `${VAR}` resolved; null when there are problems. */
  manifest: Manifest | null;
  problems: ManifestProblem[];
}

/**
 * Parses manifest text; pure. `env` resolves `${VAR}` references: the control plane stores env
 * values as given, so `deploy` resolves them from the environment the CLI runs in (an unset one
 * without a default is a problem, reported by `validate` too).
 */
export function readManifestText(text: string, env: Record<string, string | undefined>, file = MANIFEST_FILE): ManifestRead {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      raw: null,
      manifest: null,
      problems: doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { kind: 'yaml', file, line: pos.line, column: pos.col, path: '', message: e.message.split('\n')[0]! };
      }),
    };
  }
  const raw: unknown = doc.toJS();
  if (raw === null || raw === undefined) {
    return { raw, manifest: null, problems: [{ kind: 'manifest', file, line: null, column: null, path: '', message: 'the file is empty; it needs at least `kind: function` and `name`' }] };
  }
  try {
    return { raw, manifest: parseManifest(raw, { platformEnv: env, source: file }), problems: [] };
  } catch (err) {
    if (!isManifestError(err)) throw err;
    return {
      raw,
      manifest: null,
      problems: err.issues
        .map((issue): ManifestProblem => {
          const pos = lineOf(doc, lines, issue.path);
          return { kind: 'manifest', file, line: pos?.line ?? null, column: pos?.col ?? null, path: issue.path, message: issue.message + hint(issue.path, issue.message) + envHint(issue.path, issue.message) };
        })
        .sort((a, b) => (a.line ?? 0) - (b.line ?? 0)),
    };
  }
}

/** A bare number where a unit is needed is the most common slip: say how to write it. */
function hint(path: string, message: string): string {
  if (!/expected string, received number/.test(message)) return '';
  if (path === 'limits.timeout') return ' (write a duration with its unit, e.g. 30s or 500ms)';
  if (path === 'limits.memory') return ' (write a size with its unit, e.g. 256Mi)';
  if (path.startsWith('env.')) return ' (quote it: env values are strings)';
  return '';
}

function envHint(path: string, message: string): string {
  return path.startsWith('env.') && message.includes('not set') ? ' (deploy resolves ${NAME} from the environment it runs in; set it, or write ${NAME:-default})' : '';
}

/** The line of the deepest key of `path` present in the document (the key itself, not its value). */
function lineOf(doc: Document, lines: LineCounter, path: string): { line: number; col: number } | null {
  let node: unknown = doc.contents;
  let offset: number | null = null;
  for (const segment of path === '' ? [] : path.split('.')) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === segment);
      if (!pair) break;
      if (isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)];
      if (item === undefined) break;
      if ((isMap(item) || isScalar(item) || isSeq(item)) && item.range) offset = item.range[0];
      node = item;
    } else break;
  }
  return offset === null ? null : lines.linePos(offset);
}

/** Reads `<dir>/platform.yaml`; a missing file is a problem, not an exception. */
export async function readManifestFile(dir: string, env: Record<string, string | undefined>): Promise<ManifestRead> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (err) {
    const message = (err as NodeJS.ErrnoException).code === 'ENOENT'
      ? 'not found; create one with `fastapi-platform init`'
      : `cannot be read: ${(err as Error).message}`;
    return { raw: null, manifest: null, problems: [{ kind: 'manifest', file: MANIFEST_FILE, line: null, column: null, path: '', message }] };
  }
  return readManifestText(text, env);
}
