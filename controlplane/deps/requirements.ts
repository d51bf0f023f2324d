/**
 * Which files of a version declare dependencies, and the upload-time check of requirements.txt
 * (the same rules as runtime/fp_deps/requirements.py, which the builder and `validate` apply;
 * pyproject.toml needs a TOML parser and is checked by the builder only). A refused line fails
 * the upload with DEPS_REQUIREMENT_INVALID before any version exists.
 */
import { PlatformError } from '../../protocol/index.js';

/** Declaration files, at the root of the version. */
export const DEPS_FILES = ['requirements.txt', 'pyproject.toml'] as const;

/** PEP 508 name at the start of a requirement. */
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?/;
// `--hash` options after whitespace. A lookbehind, not `\s+--hash`: that form tried every position
// of a run of spaces to its end, quadratic on the event loop (red team 8: 200 KB of spaces, 12 s).
const HASH_OPTION = /(?<=\s)--hash[=\s]+\S+/g;

/** The declaration files among `files`, in DEPS_FILES order. */
export function depsFilesOf<F extends { path: string }>(files: readonly F[]): F[] {
  return DEPS_FILES.flatMap((name) => files.filter((f) => f.path === name));
}

/**
 * Checks every requirement line of a requirements.txt; throws DEPS_REQUIREMENT_INVALID naming
 * the first bad line (`file`, `line`; `field` is `files`). Returns how many requirements it declares.
 */
export function checkRequirementsTxt(text: string): number {
  let count = 0;
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
    if (line === '') return;
    const problem = requirementProblem(line);
    if (problem !== null) {
      throw new PlatformError('DEPS_REQUIREMENT_INVALID', `requirements.txt:${at}: ${problem}`, { field: 'files', file: 'requirements.txt', line: at });
    }
    count++;
  });
  return count;
}

/** Why the platform refuses one requirement, or null when it is acceptable. */
export function requirementProblem(text: string): string | null {
  const bare = text.replace(HASH_OPTION, '').trim();
  if (bare.startsWith('-')) return `options are not allowed (${bare.split(/\s/)[0]}): the platform chooses the index and installs wheels by name`;
  if (bare.includes('://') || /^[.~/]/.test(bare) || /^[A-Za-z0-9._-]+\s*@/.test(bare)) {
    return `${JSON.stringify(bare)}: URLs, direct references and paths are not allowed; name a package from the index`;
  }
  if (!NAME.test(bare)) return `${JSON.stringify(bare)} is not a valid requirement`;
  return null;
}
