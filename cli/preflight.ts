/**
 * The preflight `validate` runs and `deploy` runs first: manifest, files and limits, Python syntax
 * and the entrypoint contract. Collects every problem rather than stopping at the first.
 */
import { readManifestFile, MANIFEST_FILE } from './manifest-file.js';
import { walkFunctionDir, type LocalFile } from './files.js';
import { runPythonPreflight, type PyEntrypoint, type PyRequirement, type PythonPreflight } from './python.js';
import type { Manifest } from '../protocol/index.js';

/** `dotenv`: a line of the folder's .env that `dev` cannot read (cli/dotenv.ts). */
export type ProblemKind = 'manifest' | 'yaml' | 'files' | 'syntax' | 'entrypoint' | 'python' | 'dependencies' | 'dotenv';

export interface Problem {
  kind: ProblemKind;
  /** Relative to the function folder; null for the folder as a whole. */
  file: string | null;
  line?: number | null;
  column?: number | null;
  /** The manifest key path, for manifest problems. */
  path?: string;
  message: string;
}

export interface Preflight {
  dir: string;
  ok: boolean;
  problems: Problem[];
  warnings: Problem[];
  /** The manifest as written (for the API) and parsed (defaults filled); null if invalid. */
  rawManifest: unknown;
  manifest: Manifest | null;
  files: LocalFile[];
  totalBytes: number;
  python: { version: string; checked: number; entrypoint: PyEntrypoint } | null;
  /** Declared dependencies (requirements.txt, pyproject.toml); the platform installs them at deploy. */
  dependencies: PyRequirement[];
}

const ENTRYPOINT_DEFAULT = 'main:handler';

export interface PreflightOptions {
  /** How validate.py runs (default: a process per check; `dev` keeps one: PythonChecker). */
  runPython?: PythonPreflight;
  /**
   * Called once the manifest is read and the folder walked, before the Python check (the longest
   * part): `deploy` starts its read-only requests there. `manifest` is null when it is invalid.
   */
  onRead?: (folder: { manifest: Manifest | null; files: LocalFile[] }) => void;
}

/**
 * Runs every check on `dir` (absolute). `python`: the interpreter for the syntax check; `env`:
 * what `${VAR}` references in the manifest resolve against.
 */
export async function preflight(dir: string, python: string, env: Record<string, string | undefined>, options: PreflightOptions = {}): Promise<Preflight> {
  const [read, walk] = await Promise.all([readManifestFile(dir, env), walkFunctionDir(dir)]);
  options.onRead?.({ manifest: walk.problems.length === 0 ? read.manifest : null, files: walk.files });
  const problems: Problem[] = [...read.problems];
  const warnings: Problem[] = walk.warnings.map((w) => ({ kind: 'files', ...w }));
  problems.push(...walk.problems.map((p): Problem => ({ kind: 'files', ...p })));

  // The entrypoint to check: the parsed one, else what the file says if the schema did not object to it.
  const entryFlagged = read.problems.some((p) => p.path === 'entrypoint' || p.kind === 'yaml');
  const rawEntry = (read.raw as { entrypoint?: unknown } | null)?.entrypoint;
  const entrypoint = entryFlagged ? '' : read.manifest?.entrypoint ?? (typeof rawEntry === 'string' ? rawEntry : ENTRYPOINT_DEFAULT);

  // Names the server would refuse are already problems; they cannot be passed one per line either.
  const names = walk.files.map((f) => f.path).filter((p) => !/[\x00-\x1f\x7f]/.test(p));
  const report = await (options.runPython ?? runPythonPreflight)(python, dir, entrypoint, names);
  for (const e of report.syntaxErrors) problems.push({ kind: 'syntax', file: e.file, line: e.line, column: e.column ?? null, message: `${e.type ?? 'SyntaxError'}: ${e.message}` });
  for (const p of report.problems) problems.push({ kind: 'entrypoint', file: p.file ?? MANIFEST_FILE, line: p.line, message: p.message });
  for (const w of report.warnings) warnings.push({ kind: 'python', file: w.file, line: w.line, message: w.message });
  for (const p of report.dependencies?.problems ?? []) problems.push({ kind: 'dependencies', file: p.file, line: p.line, message: p.message });

  return {
    dir,
    ok: problems.length === 0,
    problems,
    warnings,
    rawManifest: read.raw,
    manifest: read.manifest,
    files: walk.files,
    totalBytes: walk.totalBytes,
    python: { version: report.python, checked: report.checked, entrypoint: report.entrypoint },
    dependencies: report.dependencies?.declared ?? [],
  };
}

/** `file:line:col: path: message`, the form editors and terminals turn into links. */
export function formatProblem(p: Problem): string {
  let where = p.file ?? '(folder)';
  if (p.line !== undefined && p.line !== null) {
    where += `:${p.line}`;
    if (p.column !== undefined && p.column !== null) where += `:${p.column}`;
  }
  return `${where}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}
