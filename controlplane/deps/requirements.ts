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

/**
 * Why the platform refuses one requirements.txt requirement, or null when it is acceptable: the
 * builder's rules (fp_deps/requirements.py `check`) short of parsing PEP 508, which the builder does.
 */
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
