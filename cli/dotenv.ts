/**
 * `.env` files (dotenv format) for `env pull`, `env push` and `dev` (a folder's local values):
 * parsed and written here. Never part of a bundle (dotfiles are not uploaded); `init` puts it in
 * .gitignore.
 *
 * Read: blank lines and `#` comments; `NAME=value` with an optional `export ` in front; values bare
 * (up to an inline ` #` comment, trimmed), in single quotes (literal, may span lines) or in double
 * quotes (escapes \n \r \t \\ \" \$; may span lines). A line may end with a comment; an inline
 * comment whose first word is `secret` marks the value as a secret for `env push`. A whole-line
 * comment `# secret: NAME` (what `env pull` writes) names a secret kept on the platform.
 * A name given twice, a bad name, an unclosed quote or text after a closing quote is a problem
 * with its line number (ENV_FILE_INVALID), never a guess.
 *
 * `${NAME}` and `${NAME:-default}` in a bare or double-quoted value expand as python-dotenv
 * expands them (what pydantic-settings and `uvicorn --env-file` read): to the value of NAME set
 * earlier in the file, else in the environment the command runs in, else the default or nothing.
 * Single-quoted values and `\$` stay literal. It was read as the text `${NAME}` (helper round).
 * A reference to an `FP_` name is a problem, as in platform.yaml: those configure the platform and
 * the CLI (FP_TOKEN), never a function.
 *
 * Written: single quotes when the value allows (no `'`, no line break: read literally by every
 * dotenv reader, never interpolated), else double quotes with the escapes \n \r \t \\ \" \$.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ENV_NAME, RESERVED_ENV_PREFIX } from '../protocol/index.js';
import { isWithin, smallFileText, type FileTree } from './small-file.js';

export const DOTENV_FILE = '.env';

export interface DotenvEntry {
  name: string;
  value: string;
  /** Marked `# secret` on its line. */
  secret: boolean;
  /** 1-based line where it starts. */
  line: number;
}

export interface DotenvFile {
  entries: DotenvEntry[];
  /** Names of `# secret: NAME` lines (secrets kept on the platform, values not in the file). */
  keptSecrets: string[];
  problems: { line: number; message: string }[];
  /**
   * Each value's `${NAME}` that the environment filled (no line of the file set it before):
   * `{name, from}`, in file order. A folder from elsewhere can name any variable of the shell.
   */
  fromEnvironment: { name: string; from: string }[];
}

const ASSIGNMENT = /^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*/;
const KEPT_SECRET = /^[ \t]*#[ \t]*secret:[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*$/i;
const DOUBLE_ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"', $: '$' };

export function parseDotenv(text: string, environment: Readonly<Record<string, string | undefined>> = process.env): DotenvFile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const out: DotenvFile = { entries: [], keptSecrets: [], problems: [], fromEnvironment: [] };
  const seen = new Map<string, number>();
  // FP_ variables configure the platform and the CLI (FP_TOKEN…): a `.env` from a folder the user
  // did not write could copy the deployer's token into the function's env (red team of 2026-12-05,
  // third round), as platform.yaml's `${FP_…}` could before it was refused there (red team 3).
  let reserved: string | null = null;
  /** The environment's names the line being read used (kept only if the line is). */
  const looked = new Set<string>();
  const lookup = (name: string): string | undefined => {
    if (name.toUpperCase().startsWith(RESERVED_ENV_PREFIX)) {
      reserved ??= name;
      return undefined;
    }
    const own = out.entries.find((e) => e.name === name);
    if (own !== undefined) return own.value;
    if (environment[name] !== undefined) looked.add(name);
    return environment[name];
  };
  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    const line = lines[n]!;
    looked.clear();
    const kept = KEPT_SECRET.exec(line);
    if (kept) {
      out.keptSecrets.push(kept[1]!);
      continue;
    }
    if (/^[ \t]*(#.*)?$/.test(line)) continue;
    const m = ASSIGNMENT.exec(line);
    if (!m) {
      const name = /^[ \t]*(?:export[ \t]+)?([^=\s]*)/.exec(line)?.[1] ?? '';
      out.problems.push({ line: lineNo, message: line.includes('=') && !ENV_NAME.test(name) ? `${JSON.stringify(name)} is not an env name (letters, digits and _, not starting with a digit)` : 'not NAME=value' });
      continue;
    }
    const name = m[1]!;
    reserved = null;
    let rest = line.slice(m[0].length);
    let value: string;
    let after: string;
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      // A quoted value may span lines: gather until the closing quote.
      const opened = n;
      let body = rest.slice(1);
      let end = closing(body, quote);
      while (end < 0 && n + 1 < lines.length) {
        n++;
        body += `\n${lines[n]!}`;
        end = closing(body, quote);
      }
      if (end < 0) {
        out.problems.push({ line: lineNo, message: `the ${quote === '"' ? 'double' : 'single'} quote is never closed` });
        n = opened; // the lines after it are read (and checked) on their own
        continue;
      }
      value = quote === "'" ? body.slice(0, end) : expand(body.slice(0, end), true, lookup);
      after = body.slice(end + 1);
      if (!/^[ \t]*(#.*)?$/.test(after)) {
        out.problems.push({ line: lineNo, message: 'text after the closing quote (quote the whole value, or start a comment with " #")' });
        continue;
      }
    } else {
      const hash = rest.search(/[ \t]#/);
      after = hash < 0 ? '' : rest.slice(hash);
      rest = hash < 0 ? rest : rest.slice(0, hash);
      value = expand(rest.trim(), false, lookup);
    }
    if (reserved !== null) {
      out.problems.push({ line: lineNo, message: `references \${${reserved}}: ${RESERVED_ENV_PREFIX} variables configure the platform and the CLI (FP_TOKEN…) and are never put into a function's env` });
      continue;
    }
    if (value.includes('\0')) {
      out.problems.push({ line: lineNo, message: 'the value holds a NUL character' });
      continue;
    }
    const comment = /#[ \t]*(\S*)/.exec(after)?.[1] ?? '';
    const first = seen.get(name);
    if (first !== undefined) {
      out.problems.push({ line: lineNo, message: `${name} is set twice (lines ${first} and ${lineNo})` });
      continue;
    }
    seen.set(name, lineNo);
    out.entries.push({ name, value, secret: /^secret\b/i.test(comment), line: lineNo });
    for (const from of looked) out.fromEnvironment.push({ name, from });
  }
  return out;
}

/** The index of the closing quote in `body` (a backslash escapes inside double quotes), or -1. */
function closing(body: string, quote: string): number {
  for (let i = 0; i < body.length; i++) {
    if (quote === '"' && body[i] === '\\') {
      i++;
      continue;
    }
    if (body[i] === quote) return i;
  }
  return -1;
}

/** A bare or double-quoted value's text: its escapes (double quotes) and `${NAME}` / `${NAME:-default}` resolved. */
function expand(text: string, escapes: boolean, lookup: (name: string) => string | undefined): string {
  return text.replace(escapes ? /\\(.)|\$\{([^}:]*)(?::-([^}]*))?\}/gs : /()\$\{([^}:]*)(?::-([^}]*))?\}/g,
    (whole, c: string | undefined, name: string, fallback: string | undefined) => {
      if (c !== undefined && c !== '') return DOUBLE_ESCAPES[c] ?? whole;
      const found = lookup(name);
      return found ?? fallback ?? ''; // as python-dotenv: a name set to '' stays ''
    });
}

/** A value quoted so every dotenv reader gets it back exactly. */
export function quoteDotenv(value: string): string {
  if (!/['\r\n]/.test(value)) return `'${value}'`;
  return `"${value.replace(/[\\"\n\r\t$]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\${c}`))}"`;
}

/** A .env text: header comment lines, `NAME='value'` lines sorted by name, then `# secret: NAME` lines. */
export function formatDotenv(header: readonly string[], env: Readonly<Record<string, string>>, secrets: readonly string[]): string {
  const lines = header.map((h) => `# ${h}`.trimEnd());
  for (const name of Object.keys(env).sort()) lines.push(`${name}=${quoteDotenv(env[name]!)}`);
  for (const name of [...secrets].sort()) lines.push(`# secret: ${name}`);
  return `${lines.join('\n')}\n`;
}

export interface FolderDotenv {
  /** The file exists (even if unreadable). */
  present: boolean;
  values: Record<string, string>;
  problems: { file: string; line: number; message: string }[];
  /** Values whose `${NAME}` the shell's environment filled (DotenvFile.fromEnvironment). */
  fromEnvironment: { name: string; from: string }[];
}

/** The largest dotenv file read: a `.env` linked to /dev/zero was read until Node's 2 GiB limit. */
export const MAX_DOTENV_BYTES = 1024 * 1024;

/**
 * `<dir>/.env` (or `file`, relative to `dir`: `.env.production`, the `../.env` the code names) for
 * `dev` and `deploy`: its values and its problems by line; an absent file is no values and no problems.
 *
 * The folder may be a hostile repository's (red team round 39). Read only: a regular file of at most
 * MAX_DOTENV_BYTES (not a FIFO, which hung the command, nor a device) whose real path, links
 * followed, is inside the folder's repository (dotenvTree). Before, `.env -> ~/.aws/credentials` (or
 * another project's `.env`) was read: `dev` gave its values to the repository's code, which its box
 * keeps from reading the file itself, and `deploy` named them and told to `env push` them.
 */
export async function readDotenv(dir: string, file: string = DOTENV_FILE): Promise<FolderDotenv> {
  const text = await dotenvText(join(dir, file), await dotenvTree(dir).catch(() => ({ root: resolve(dir) })));
  if (text === null) return { present: false, values: {}, problems: [], fromEnvironment: [] };
  if (typeof text !== 'string') return { present: true, values: {}, problems: [{ file, line: 0, message: text.refused }], fromEnvironment: [] };
  const parsed = parseDotenv(text);
  return {
    present: true,
    values: Object.fromEntries(parsed.entries.map((e) => [e.name, e.value])),
    problems: parsed.problems.map((p) => ({ file, ...p })),
    fromEnvironment: parsed.fromEnvironment,
  };
}

/**
 * A dotenv file's text; null when there is none; `refused` says why it was not read: not a regular
 * file of at most MAX_DOTENV_BYTES, or (with `tree`) its real path, links followed, outside `tree`.
 */
export function dotenvText(path: string, tree: FileTree | null): Promise<string | null | { refused: string }> {
  return smallFileText(path, MAX_DOTENV_BYTES, tree, 'a dotenv file is read only inside the folder\'s repository (copy the values in, or name the file with `env push --file`)');
}

/**
 * Where a folder's dotenv files may be, links followed (real paths): its repository, the nearest
 * folder up holding `.git` below the user's home. Without one, the folder, and the dotenv files
 * (`.env`, `.env.*`) right in its parent (FastAPI's full-stack template deploys `backend/` and reads
 * `../.env`) unless that parent is the home or above it.
 *
 * Not the whole parent, nor a repository at or above the home, nor one whose `.git` another user
 * owns (red team round 40): a project
 * unpacked without `.git` (an archive, `degit`, a generated template) at `~/evil` had the home as
 * its tree, so its `.env` linked to `../.aws/credentials` was read (round 39's rule passed it), and
 * under a home kept in git (dotfiles) every folder without a `.git` of its own was the home's.
 */
export async function dotenvTree(dir: string): Promise<FileTree> {
  const start = await realpath(dir);
  const home = await realpath(homedir()).catch(() => resolve(homedir()));
  for (let at = start; !isWithin(at, home); at = dirname(at)) {
    const git = await lstat(join(at, '.git')).catch(() => null);
    if (git === null) continue;
    // Another user's `.git` (one planted in /tmp above a clone there) is no repository of this
    // user's, as git's safe.directory says (CVE-2022-24765): the folder is taken as having none.
    // As git, the `.git` itself (lstat: a link another user planted to a folder of this user's
    // passed a stat; red team round 41) and the folder holding it.
    if (process.getuid !== undefined && !(git.uid === process.getuid() && (await stat(at)).uid === git.uid)) break;
    return { root: at };
  }
  const parent = dirname(start);
  if (parent === start || isWithin(parent, home)) return { root: start };
  return { root: start, also: (real) => dirname(real) === parent && isDotenvName(basename(real)) };
}

/** `.env` or `.env.<something>`: a dotenv file's name. */
function isDotenvName(name: string): boolean {
  return name === DOTENV_FILE || name.startsWith(`${DOTENV_FILE}.`);
}

/**
 * The folder's other dotenv files that an app may load (`.env.production`, `.env.local`:
 * pydantic-settings' `env_file=(".env", ".env.production")`, python-dotenv), none of them ever
 * uploaded (cli/files.ts): not the templates of values (`.env.example`, `.sample`, `.template`,
 * `.dist`), sorted.
 */
export async function otherDotenvFiles(dir: string): Promise<string[]> {
  let names: string[];
  try { names = await readdir(dir); } catch { return []; }
  return names.filter((n) => /^\.env\.[A-Za-z0-9_-]+$/.test(n) && !/^\.env\.(example|sample|template|tmpl|dist)$/i.test(n)).sort();
}
