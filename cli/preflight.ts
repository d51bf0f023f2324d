/**
 * The preflight `validate` runs and `deploy` runs first: manifest, files and limits, Python syntax
 * and the entrypoint contract. Collects every problem rather than stopping at the first.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { functionFolderAbove, functionFoldersIn } from './folder-function.js';
import { MANIFEST_FILE, readManifestFile } from './manifest-file.js';
import { otherPlatform, otherPlatformMessage } from './other-platforms.js';
import { shellWord } from './self-command.js';
import { walkFunctionDir, type LocalFile } from './files.js';
import { runPythonPreflight, type PythonPreflight } from './python.js';
import { terminalSafe } from './terminal.js';
import { entrypointToCheck, envReferences, envSets, formatProblem as problemText, reportProblems, type LimitCeilings, type Manifest, type Problem, type PyEntrypoint, type PyRequirement } from '../protocol/index.js';

export type { Problem, ProblemKind } from '../protocol/index.js';

/**
 * A problem as one terminal line (`file:line:column: path: message`). It quotes what the folder
 * holds (file names, manifest keys, code), and a folder may come from someone else: every control
 * character is shown escaped, so a file named `x\x1b]52;c;…\x07.py` or a key holding an escape
 * sequence cannot write the clipboard, retitle or clear the terminal, or hide the line (red team
 * round 11: `validate`, `deploy` and `dev` printed them raw).
 */
export function formatProblem(p: Problem): string {
  return terminalSafe(problemText(p), 16_384);
}

/** A warning that the function's env setting `env` answers (validate.py `needs: env`). */
export type HeldEnvWarning = Problem & { env: string; envAnyCase?: boolean };

export interface Preflight {
  dir: string;
  ok: boolean;
  problems: Problem[];
  warnings: Problem[];
  /** With `holdImports`: the import warnings held until the dependency build (else empty). */
  heldImports: Problem[];
  /** `deploy`'s warnings a variable of the function's env answers (`needs: env`), said after it when still unset. */
  heldEnv: HeldEnvWarning[];
  /** The manifest as written (for the API) and parsed (defaults filled); null if invalid. */
  rawManifest: unknown;
  manifest: Manifest | null;
  files: LocalFile[];
  totalBytes: number;
  python: { version: string; checked: number; entrypoint: PyEntrypoint } | null;
  /** Declared dependencies (requirements.txt, pyproject.toml); the platform installs them at deploy. */
  dependencies: PyRequirement[];
  /** The variables platform.yaml's env references that `env` does not set (their `:-default` was used): names only. */
  envUnset: string[];
  /** The dotenv files the code names (validate.py `env_files`), as written: relative to the folder. */
  envFiles: string[];
}

export interface PreflightOptions {
  /** How validate.py runs (default: a process per check; `dev` keeps one: PythonChecker). */
  runPython?: PythonPreflight;
  /**
   * Called once the manifest is read and the folder walked, before the Python check (the longest
   * part): `deploy` starts its read-only requests there. `manifest` is null when it is invalid.
   */
  onRead?: (folder: { manifest: Manifest | null; files: LocalFile[] }) => void;
  /** How the CLI is spelled in the hint for a folder without platform.yaml (cli/self-command.ts). */
  selfCommand?: string;
  /**
   * The platform's ceilings on limits to check (memory, timeout, instances): `validate` passes the
   * defaults; `deploy` none, the platform it deploys to checks its own (protocol/limit-ceilings.ts).
   */
  ceilings?: LimitCeilings;
  /**
   * `deploy` of a folder that declares requirements: the import warnings (PyFinding.module) are
   * held in `heldImports`, not in `warnings`, to be checked again after the dependency build.
   */
  holdImports?: boolean;
  /** The distributions a dependency build installed: the import check counts what they provide. */
  installed?: readonly string[];
  /**
   * Env names the function gets beside platform.yaml's `env:`: `dev`'s from the folder's .env, which it
   * sends. A warning that such a name answers (`needs: env`) is not said (new-user round 11: dev warned
   * that "the function's env does not set DATABASE_URL" while .env set it for every call).
   */
  envNames?: readonly string[];
}

/**
 * Runs every check on `dir` (absolute). `python`: the interpreter for the syntax check; `env`:
 * what `${VAR}` references in the manifest resolve against.
 */
export async function preflight(dir: string, python: string, env: Record<string, string | undefined>, options: PreflightOptions = {}): Promise<Preflight> {
  const [read, walk] = await Promise.all([readManifestFile(dir, env, options.ceilings !== undefined ? { ceilings: options.ceilings } : {}), walkFunctionDir(dir)]);
  options.onRead?.({ manifest: walk.problems.length === 0 ? read.manifest : null, files: walk.files });
  const problems: Problem[] = [...read.problems];
  const warnings: Problem[] = walk.warnings.map((w) => ({ kind: 'files', ...w }));
  problems.push(...walk.problems.map((p): Problem => ({ kind: 'files', ...p })));

  const entrypoint = entrypointToCheck(read);

  // Names the server would refuse are already problems; they cannot be passed one per line either.
  const names = walk.files.map((f) => f.path).filter((p) => !/[\x00-\x1f\x7f]/.test(p));
  const report = await (options.runPython ?? runPythonPreflight)(python, dir, entrypoint, names, options.installed);
  const hold = options.holdImports === true && (report.dependencies?.declared.length ?? 0) > 0;
  const heldImports: Problem[] = hold ? report.warnings.filter((w) => w.module !== undefined).map((w) => ({ kind: 'python', file: w.file, line: w.line, message: w.message })) : [];
  // `deploy` holds the warnings a variable answers (`needs: env`) too: said after the deploy, where the
  // function's env and secrets are known (cli/commands/deploy.ts `sayHeldEnv`).
  const manifestEnv = Object.keys(read.manifest?.env ?? {});
  const heldEnv: HeldEnvWarning[] = options.holdImports === true
    ? report.warnings.filter((w) => w.needs === 'env' && w.env !== undefined && !envSets(manifestEnv, { env: w.env, envAnyCase: w.envAnyCase }))
      .map((w) => ({ kind: 'python', file: w.file, line: w.line, message: w.message, env: w.env!, ...(w.envAnyCase === true ? { envAnyCase: true } : {}) }))
    : [];
  const shown = report.warnings.filter((w) => !(hold && w.module !== undefined) && !(options.holdImports === true && w.needs === 'env'));
  const found = reportProblems({ ...report, warnings: shown }, read.manifest?.limits, read.manifest?.triggers, [...manifestEnv, ...(options.envNames ?? [])]);
  problems.push(...found.problems);
  warnings.push(...found.warnings);

  // No platform.yaml: not a function folder (an empty one, the wrong `cd`). The entrypoint and
  // file problems that follow from it ("module 'main' not found", "no files to upload") were
  // noise around the one thing to do.
  // Another platform's folder (vercel.json, a SAM template, …): the platform.yaml to add, not `init .`,
  // which writes a new main.py beside the code (apps round 21).
  if (read.raw === null && !existsSync(join(dir, MANIFEST_FILE))) {
    // A subfolder of a function's folder (`app/routers/`): that folder, not a second function in it.
    const above = functionFolderAbove(dir);
    const other = above === null ? otherPlatform(dir) : null;
    // The folder `init my-fn` was run in: its function folders, not `init .` (a second function beside them).
    const inside = above === null && !other ? functionFoldersIn(dir) : [];
    const shown = inside.slice(0, 5).map((name) => shellWord(name));
    problems.splice(0, problems.length, {
      kind: 'manifest', file: MANIFEST_FILE, line: null, column: null, path: '',
      message: above !== null ? `not found in ${dir}, a folder inside the function folder ${above.path}${above.name !== null ? ` (function "${above.name}")` : ''}: a function is checked, run and deployed from the folder of its platform.yaml; \`cd ${shellWord(above.path)}\` and run it there, or give that folder as the argument`
        : other ? otherPlatformMessage(dir, other)
          : inside.length > 0 ? `not found in ${dir}: this is not a function folder, but ${inside.length === 1 ? 'a folder in it is' : 'folders in it are'}: ${shown.join(', ')}${inside.length > shown.length ? ` and ${inside.length - shown.length} more` : ''}; ${inside.length === 1 ? `\`cd ${shown[0]}\` and run it there, or give that folder` : `\`cd\` into one (\`cd ${shown[0]}\`) and run it there, or give it`} as the argument`
            : `not found in ${dir}: this is not a function folder; cd into yours, or create one here with \`${options.selfCommand ?? 'fastapi-platform'} init .\``,
    });
    warnings.length = 0;
  }

  return {
    dir,
    ok: problems.length === 0,
    problems,
    warnings,
    heldImports,
    heldEnv,
    rawManifest: read.raw,
    manifest: read.manifest,
    files: walk.files,
    totalBytes: walk.totalBytes,
    python: { version: report.python, checked: report.checked, entrypoint: report.entrypoint },
    dependencies: report.dependencies?.declared ?? [],
    envUnset: unsetReferences(read.raw, env),
    envFiles: report.envFiles ?? [],
  };
}

/** The variables `${VAR}` references in a raw manifest's env name that `env` does not set. */
function unsetReferences(raw: unknown, env: Record<string, string | undefined>): string[] {
  const values = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>)['env'] : undefined;
  if (values === null || typeof values !== 'object') return [];
  const names = Object.values(values as Record<string, unknown>).flatMap((v) => (typeof v === 'string' ? envReferences(v) : []));
  return [...new Set(names)].filter((name) => env[name] === undefined);
}

/**
 * The platform's warnings of an upload (`POST …/versions` `warnings`, the rule `POST /validate`
 * uses) that this preflight has not said or held already: a deploy says each warning once. The
 * same check on both sides finds the same file, line and text; what differs (another Python,
 * the platform's own limits) is said after the deploy.
 */
export function unsaidWarnings(platform: readonly Problem[] | undefined, checked: Pick<Preflight, 'warnings' | 'heldImports' | 'heldEnv'>): Problem[] {
  const key = (p: Problem): string => `${p.file ?? ''}\0${p.line ?? ''}\0${p.message}`;
  const said = new Set([...checked.warnings, ...checked.heldImports, ...checked.heldEnv].map(key));
  return (platform ?? []).filter((p) => !said.has(key(p)));
}
