/**
 * Which files of a version declare dependencies, and the upload-time check of requirements.txt
 * (the same rules as runtime/fp_deps/requirements.py, which the builder and `validate` apply;
 * pyproject.toml needs a TOML parser and is checked by the builder only). A refused line fails
 * the upload with DEPS_REQUIREMENT_INVALID before any version exists.
 *
 * requirements.txt may name other files of the version with `-r FILE` and `-c FILE`, as pip
 * reads them (relative to the naming file); `depsClosure` finds them, refusing a path that is
 * absolute, a URL, leaves the version's folder, or is not one of its files (docs/dependencies.md,
 * docs/adr/0106-requirements-includes-inside-the-function.md).
 */
import { PlatformError } from '../../protocol/index.js';

/** Declaration files, at the root of the version. */
export const DEPS_FILES = ['requirements.txt', 'pyproject.toml'] as const;

/** PEP 508 name at the start of a requirement. */
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?/;
/** The value of a `--hash` option, as pip checks it. */
const HASH_VALUE = /^(?:sha256:[0-9a-fA-F]{64}|sha384:[0-9a-fA-F]{96}|sha512:[0-9a-fA-F]{128})$/;
// Controls but tab, and the Unicode line separators, as runtime/fp_deps/requirements.py CONTROL:
// one inside a requirement made the rest of it a line of pip options (red team of 2026-12-05, second round).
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]/;
// Python's str.split(): the words pip splits a line into (a split on a class, linear: the lookbehind
// pattern before it was written so after `\s+--hash` went quadratic, red team 8).
const WORD_BREAK = /[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** The declaration files among `files`, in DEPS_FILES order. */
export function depsFilesOf<F extends { path: string }>(files: readonly F[]): F[] {
  return DEPS_FILES.flatMap((name) => files.filter((f) => f.path === name));
}

/** The non-empty logical lines of a requirements file as [first line number, text], as pip reads them. */
function logicalLines(text: string): [number, string][] {
  const out: [number, string][] = [];
  let pending = '';
  let first = 0;
  // Lines as pip reads them (Python's str.splitlines): a lone \r or \f ends a line too, so
  // `requests\r-e ./x` is two lines here as for the builder (red team 3).
  text.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/).forEach((raw, i) => {
    const stripped = raw.replace(/(^|\s)#.*$/, '').trimEnd();
    if (stripped.endsWith('\\')) {
      pending += `${stripped.slice(0, -1)} `;
      first ||= i + 1;
      return;
    }
    const line = (pending + stripped).trim();
    const at = first || i + 1;
    pending = '';
    first = 0;
    if (line !== '') out.push([at, line]);
  });
  return out;
}

/**
 * `-r FILE` / `--requirement FILE` / `--requirement=FILE` (and `-c` / `--constraint`), the forms
 * pip's option parser takes on a line of their own: runtime/fp_deps/requirements.py INCLUDE.
 */
const INCLUDE = /^(?:(?:(--requirement)|(--constraint))(?:[ \t]+|=)|(?:(-r)|(-c))[ \t]*)(\S+)$/;
/** Files one version's requirements may read, all includes together (requirements.py MAX_INCLUDED_FILES). */
export const MAX_INCLUDED_FILES = 32;

/** One `-r` (requirements) or `-c` (constraints) line of a requirements file. */
export interface Include {
  kind: 'r' | 'c';
  target: string;
  line: number;
}

function includeOf(text: string): Include | null {
  const m = INCLUDE.exec(text);
  if (m === null) return null;
  return { kind: m[1] !== undefined || m[3] !== undefined ? 'r' : 'c', target: m[5]!, line: 0 };
}

function invalid(file: string, line: number | null, problem: string): PlatformError {
  return new PlatformError('DEPS_REQUIREMENT_INVALID', `${file}${line === null ? '' : `:${line}`}: ${problem}`, { field: 'files', file, ...(line === null ? {} : { line }) });
}

/**
 * Checks every line of a requirements file (`constraints`: a `-c` file, whose lines take no
 * extras, hashes or `-r`); throws DEPS_REQUIREMENT_INVALID naming the first bad line (`file`,
 * `line`; `field` is `files`), a `-r`/`-c` path outside the folder included. Returns how many
 * requirements it declares and its `-r`/`-c` lines, whose targets `depsClosure` looks up.
 */
export function checkRequirementsFile(text: string, file = 'requirements.txt', constraints = false): { requirements: number; includes: Include[] } {
  // One entry per kind and path (the first line naming it): a file of a million `-r x.txt` lines
  // is one include, and more distinct paths than a version may include are refused here, so
  // what a file's check returns (and the service caches) stays small.
  const includes = new Map<string, Include>();
  let requirements = 0;
  for (const [at, line] of logicalLines(text)) {
    const include = includeOf(line);
    if (include !== null) {
      if (constraints && include.kind === 'r') throw invalid(file, at, '-r in a constraints file: a constraints file holds constraints only');
      const path = includePath(file, include.target);
      if (typeof path !== 'string') throw invalid(file, at, path.problem);
      const key = `${include.kind}:${path}`;
      if (includes.has(key)) continue;
      if (includes.size >= MAX_INCLUDED_FILES) throw invalid(file, at, `more than ${MAX_INCLUDED_FILES} requirement files included`);
      includes.set(key, { ...include, line: at });
      continue;
    }
    const problem = requirementProblem(line) ?? (constraints ? constraintProblem(line) : null);
    if (problem !== null) throw invalid(file, at, problem);
    requirements++;
  }
  return { requirements, includes: [...includes.values()] };
}

/** `checkRequirementsFile` of a requirements.txt: how many requirements it declares (its -r files' not counted). */
export function checkRequirementsTxt(text: string): number {
  return checkRequirementsFile(text).requirements;
}

/** What a `-c` file's line may not hold beyond a requirement's rules: extras, hashes. */
function constraintProblem(text: string): string | null {
  if (text.split(WORD_BREAK).some((w) => w.startsWith('-'))) return 'options are not allowed in a constraints file';
  if (/^[A-Za-z0-9._-]+\s*\[/.test(text)) return `${JSON.stringify(text)}: a constraint takes no extras`;
  return null;
}

/**
 * The version-relative path that `-r/-c target` in `including` names (pip resolves it against
 * that file's folder), or a problem: absolute, a URL, `~`, `$`, `\\`, `:` or outside the folder.
 * The same rules as requirements.py `include_path`.
 */
export function includePath(including: string, target: string): string | { problem: string } {
  if (CONTROL.test(target) || /[\\$:]/.test(target) || target.startsWith('/') || target.startsWith('~')) {
    return { problem: `${JSON.stringify(target)}: -r and -c name a file of the function's folder by a relative path` };
  }
  const parts: string[] = including.split('/').slice(0, -1);
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return { problem: `${JSON.stringify(target)} is outside the function's folder: -r and -c name files of the folder only` };
      parts.pop();
    } else parts.push(part);
  }
  if (parts.length === 0) return { problem: `${JSON.stringify(target)} is not a file` };
  return parts.join('/');
}

/**
 * The declaration files of a version and every file their `-r`/`-c` lines name, transitively, in
 * a stable order (each once), each checked (`checkRequirementsTxt`); DEPS_REQUIREMENT_INVALID for
 * a bad line, a path outside the folder or not among `files`, a cycle, or more than
 * MAX_INCLUDED_FILES files. `includes(file)` gives a file's -r/-c lines (its content checked).
 */
export async function depsClosure<F extends { path: string }>(files: readonly F[], includes: (file: F, constraints: boolean) => Promise<Include[]>): Promise<F[]> {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const roots = depsFilesOf(files);
  const out: F[] = [...roots];
  const seen = new Set(roots.map((f) => f.path));
  // Each file is walked once per kind: a file named many times (a.txt naming b.txt 1000 times,
  // b.txt naming c.txt 1000 times, …) was walked again each time, exponentially. A cycle through
  // a file walked before would have been found then, so skipping it loses none.
  const walked = new Set<string>();
  const walk = async (file: F, constraints: boolean, stack: string[]): Promise<void> => {
    const kind = `${constraints ? 'c' : 'r'}:${file.path}`;
    if (walked.has(kind)) return;
    walked.add(kind);
    for (const include of await includes(file, constraints)) {
      const path = includePath(file.path, include.target);
      if (typeof path !== 'string') throw invalid(file.path, include.line, path.problem);
      if (stack.includes(path)) throw invalid(file.path, include.line, `${path} includes itself (through ${stack.join(' -> ')})`);
      const target = byPath.get(path);
      if (target === undefined) throw invalid(file.path, include.line, `${path} is not a file of the function's folder`);
      if (!seen.has(path)) {
        seen.add(path);
        out.push(target);
        if (seen.size > MAX_INCLUDED_FILES) throw invalid(file.path, include.line, `more than ${MAX_INCLUDED_FILES} requirement files included`);
      }
      await walk(target, constraints || include.kind === 'c', [...stack, path]);
    }
  };
  for (const root of roots) if (root.path === 'requirements.txt') await walk(root, false, [root.path]);
  return out;
}

/**
 * Why the platform refuses one requirements.txt requirement, or null when it is acceptable: the
 * builder's rules (fp_deps/requirements.py `check`) short of parsing PEP 508, which the builder does.
 */
const EDITABLE = /^(-e|--editable)(=|$)/;
/**
 * `-e .` (the project installed editable), the line a FastAPI project's requirements.txt often
 * ends with: the folder is uploaded and imported as it is, so the line is not needed (newcomer
 * round 12: "options are not allowed (-e)" said what, not why or what instead). The same words as
 * fp_deps/requirements.py's.
 */
const EDITABLE_ADVICE = 'an editable install (-e) is not needed: the folder is uploaded and imported as it is (a src layout from src/, as `uvicorn --app-dir src` does); remove the line, and list what the project needs in requirements.txt or pyproject.toml\'s [project] dependencies';

export function requirementProblem(text: string): string | null {
  const control = CONTROL.exec(text);
  if (control !== null) return `${JSON.stringify(text.trim())} holds a control character (${JSON.stringify(control[0])}): one requirement, on one line`;
  const words = text.split(WORD_BREAK).filter((w) => w !== '');
  const at = words.findIndex((w) => w.startsWith('-'));
  const bare = words.slice(0, at < 0 ? words.length : at).join(' ');
  const options = at < 0 ? [] : words.slice(at);
  while (options.length > 0) {
    const option = options.shift()!;
    const value = option === '--hash' && options.length > 0 ? options.shift()! : option.startsWith('--hash=') ? option.slice('--hash='.length) : null;
    if (value === null && bare === '' && EDITABLE.test(option)) return EDITABLE_ADVICE;
    if (value === null) return `options are not allowed (${option.split('=')[0]}): only \`--hash\` options may follow a requirement in requirements.txt; the platform chooses the index and installs wheels by name`;
    if (!HASH_VALUE.test(value)) return `${JSON.stringify(value)} is not a hash pip checks (--hash=sha256:<64 hex digits>)`;
  }
  if (bare === '') return 'hash options without a requirement';
  if (bare.includes('://') || /^[.~/]/.test(bare) || /^[A-Za-z0-9._-]+\s*@/.test(bare)) {
    return `${JSON.stringify(bare)}: URLs, direct references and paths are not allowed; name a package from the index`;
  }
  if (!NAME.test(bare)) return `${JSON.stringify(bare)} is not a valid requirement`;
  return null;
}
