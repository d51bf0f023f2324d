/**
 * The files of a function folder as `deploy` uploads them: walked in a stable order, with the
 * default exclusions and `.platformignore`, checked against the server's bundle limits, hashed.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { describeBytes, nameProblem } from '../protocol/index.js';
import { smallFileBytes, smallFileText } from './small-file.js';

export interface BundleLimits {
  maxFiles: number;
  maxTotalBytes: number;
  maxFileBytes: number;
}

/** The server's limits (controlplane DEFAULT_BUNDLE_LIMITS; a unit test keeps them equal). */
export const BUNDLE_LIMITS: Readonly<BundleLimits> = Object.freeze({ maxFiles: 1000, maxTotalBytes: 50 * 1024 * 1024, maxFileBytes: 10 * 1024 * 1024 });

export const IGNORE_FILE = '.platformignore';

export interface LocalFile {
  /** Relative, `/`-separated. */
  path: string;
  size: number;
  /** Executable here (any x bit): deployed with mode 0555 so the function can run it. */
  executable?: boolean;
}

export interface FileProblem {
  file: string | null;
  message: string;
}

export interface Walk {
  files: LocalFile[];
  totalBytes: number;
  /** Limit breaches and unusable names; empty when the folder can be uploaded. */
  problems: FileProblem[];
  /** Skipped things worth mentioning (symlinked folders, unreadable entries). */
  warnings: FileProblem[];
}

/**
 * An editor's scratch file: a backup (`main.py~`: emacs, vim with `backup`), an emacs autosave
 * (`#main.py#`), vim's write test (`4913`) and swap files, JetBrains' safe-write files. `dev` does
 * not reload on them, and `deploy` leaves them out: emacs' first save of a session left `main.py~`
 * beside the code, and every reload and deploy uploaded it (new-user round 4). Dot-named ones
 * (`.main.py.swp`, `.#main.py`) are dotfiles, left out anyway.
 */
export function isEditorScratch(name: string): boolean {
  return name.endsWith('~') || /^#.*#$/.test(name) || name === '4913' || /\.(swp|swo|swx)$/.test(name) || /___jb_(tmp|old)___$/.test(name);
}

/** Default exclusions: caches, bytecode, dependencies folders, dotfiles (so .git and .venv), editors' scratch files. */
export function isIgnoredByDefault(name: string, isDir: boolean): boolean {
  if (name.startsWith('.')) return true;
  if (isDir) return name === '__pycache__' || name === 'node_modules';
  return name.endsWith('.pyc') || name.endsWith('.pyo') || isEditorScratch(name);
}

/**
 * Dotfiles and dot-folders that hold a machine's credentials: direnv's `.envrc`, `.netrc`, package
 * index logins, cloud, container and cluster logins, keys. `!.*` in the `.platformignore` of a
 * folder from elsewhere shipped the deploying machine's `.envrc` and `.netrc` into the function,
 * where its code reads them (red team of 2026-12-05, fourth round).
 */
const CREDENTIAL_NAMES = new Set([
  '.envrc', '.direnv', '.netrc', '.npmrc', '.yarnrc.yml', '.pypirc', '.git-credentials', '.pgpass', '.my.cnf',
  '.aws', '.azure', '.docker', '.gnupg', '.kube', '.ssh',
]);

/**
 * Never uploaded, whatever `.platformignore` says: `.env` files (local values and secrets: a
 * folder from elsewhere with `!.env` in its ignore file would ship the deploying machine's),
 * the credential files above and version-control folders.
 */
export function isNeverUploaded(name: string): boolean {
  return name === '.env' || name.startsWith('.env.') || CREDENTIAL_NAMES.has(name) || name === '.git' || name === '.hg' || name === '.svn';
}

/** What `.platformignore` says of a path: ignore it (true), upload it (false: a `!` pattern), or nothing (null). */
export type IgnoreVerdict = (path: string, isDir: boolean) => boolean | null;

/**
 * `.platformignore` patterns, gitignore-like but smaller: `#` comments, blank lines, `*` and `?`
 * within a name, `**` across folders, a trailing `/` for folders only, a `/` elsewhere anchors
 * the pattern at the folder root; otherwise it matches a name at any depth. A `!` in front
 * uploads what it matches after all: what an earlier pattern or the defaults exclude (a dotfile,
 * `.well-known/`), the last matching line deciding, as in gitignore; a file under a folder that is
 * excluded stays excluded (the folder is not read), and `.env` files and `.git` are never uploaded.
 */
export function compileIgnore(text: string): IgnoreVerdict {
  const rules = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const pattern = negated ? line.slice(1) : line;
      const dirOnly = pattern.endsWith('/');
      const body = pattern.replace(/^\/+|\/+$/g, '');
      const anchored = pattern.replace(/\/+$/, '').includes('/');
      return { negated, dirOnly, anchored, regex: globMatcher(body) };
    });
  return (path, isDir) => {
    for (let i = rules.length - 1; i >= 0; i--) {
      const r = rules[i]!;
      if (r.dirOnly && !isDir) continue;
      const subject = r.anchored ? path : path.slice(path.lastIndexOf('/') + 1);
      if (r.regex.test(subject)) return !r.negated;
    }
    return null;
  };
}

/** Whether the walk leaves `name` (at `path`) out: `.platformignore`'s verdict, else the defaults. */
export function leftOut(ignored: IgnoreVerdict, path: string, name: string, isDir: boolean): boolean {
  if (isNeverUploaded(name)) return true;
  return ignored(path, isDir) ?? isIgnoredByDefault(name, isDir);
}

/**
 * A glob as a small automaton, matched in time linear in the name for each of its nodes (red team
 * 8: as a backtracking RegExp, a folder's `.fpignore` line `*a*a*a*a*a*a*a*a*b` and a file named
 * with 70 `a`s kept `deploy` busy for minutes). `*` and `?` stay within a name, `**` spans
 * folders, `**` + `/` matches zero or more whole folders.
 */
interface GlobNode {
  /** Next nodes reached without reading a character (always later nodes). */
  eps: number[];
  /** Reads one character and stays (stars). */
  loop: ((c: string) => boolean) | null;
  /** Reads one character and moves on to `to`. */
  step: ((c: string) => boolean) | null;
  to: number;
}

function globMatcher(glob: string): { test(subject: string): boolean } {
  const nodes: GlobNode[] = [];
  const notSlash = (c: string): boolean => c !== '/';
  const any = (): boolean => true;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    const at = nodes.length;
    if (c === '*' && glob[i + 1] === '*') {
      if (glob[i + 2] === '/') {
        // (?:.*/)? : skip it, or read anything and then a '/'.
        nodes.push({ eps: [at + 1, at + 3], loop: null, step: null, to: 0 });
        nodes.push({ eps: [at + 2], loop: any, step: null, to: 0 });
        nodes.push({ eps: [], loop: null, step: (x) => x === '/', to: at + 3 });
        i += 2;
      } else {
        nodes.push({ eps: [at + 1], loop: any, step: null, to: 0 });
        i += 1;
      }
    } else if (c === '*') nodes.push({ eps: [at + 1], loop: notSlash, step: null, to: 0 });
    else if (c === '?') nodes.push({ eps: [], loop: null, step: notSlash, to: at + 1 });
    else nodes.push({ eps: [], loop: null, step: (x) => x === c, to: at + 1 });
  }
  const end = nodes.length;
  const close = (active: Uint8Array): void => {
    for (let j = 0; j < end; j++) if (active[j]) for (const e of nodes[j]!.eps) active[e] = 1;
  };
  return {
    test(subject: string): boolean {
      let active = new Uint8Array(end + 1);
      active[0] = 1;
      close(active);
      for (let k = 0; k < subject.length; k++) {
        const ch = subject[k]!; // UTF-16 units, as the pattern's (and as the RegExp read them)
        const next = new Uint8Array(end + 1);
        let any = false;
        for (let j = 0; j < end; j++) {
          if (!active[j]) continue;
          const n = nodes[j]!;
          if (n.loop?.(ch)) {
            next[j] = 1;
            any = true;
          }
          if (n.step?.(ch)) {
            next[n.to] = 1;
            any = true;
          }
        }
        if (!any) return false;
        close(next);
        active = next;
      }
      return active[end] === 1;
    },
  };
}

/** Why the server would refuse this relative path (the rules of protocol/file-names.ts, name by name), or null. */
function badName(path: string): string | null {
  for (const [i, segment] of path.split('/').entries()) {
    const why = nameProblem(segment, i === 0);
    if (why !== null) return why;
  }
  return null;
}

/** The largest `.platformignore` read. */
export const MAX_IGNORE_BYTES = 1024 * 1024;

/**
 * Walks `dir` (sorted, so hashes and listings are stable). Stops counting a little past the file
 * limit so that running it in a huge folder by mistake stays quick.
 */
export async function walkFunctionDir(dir: string, limits: BundleLimits = BUNDLE_LIMITS): Promise<Walk> {
  const walk: Walk = { files: [], totalBytes: 0, problems: [], warnings: [] };
  const root = await realpath(dir);
  // Read as a small regular file inside the folder: a clone's link to /dev/zero was read up to 2 GiB
  // at every deploy, validate and dev reload, a FIFO hung them (red team round 39). Not read: a
  // problem, never an empty list (what it leaves out would be uploaded).
  const ignoreRead = await smallFileText(join(dir, IGNORE_FILE), MAX_IGNORE_BYTES, root, 'copy it into the folder');
  if (ignoreRead !== null && typeof ignoreRead !== 'string') walk.problems.push({ file: IGNORE_FILE, message: ignoreRead.refused });
  const ignored = compileIgnore(typeof ignoreRead === 'string' ? ignoreRead : '');
  let truncated = false;
  /** Where a symbolic link leads, when that is outside the folder (or cannot be told). */
  const outside = async (full: string): Promise<string | null> => {
    const target = await realpath(full).catch(() => null);
    return target !== null && target.startsWith(root + sep) ? null : (target ?? full);
  };

  const visit = async (rel: string): Promise<void> => {
    // Names as bytes: a name that is not UTF-8 (`caf\xe9.txt` from a Latin-1 system) made as text
    // a path that does not exist (U+FFFD), and the walk ended in ENOENT with a stack (new-user round).
    const raw = await readdir(rel ? join(dir, rel) : dir, { withFileTypes: true, encoding: 'buffer' });
    const entries = raw.map((entry) => ({ entry, name: entry.name.toString('utf8') }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const { entry, name } of entries) {
      if (walk.files.length > limits.maxFiles) {
        truncated = true;
        return;
      }
      const path = rel ? `${rel}/${name}` : name;
      if (!Buffer.from(name, 'utf8').equals(entry.name)) {
        const isDir = entry.isDirectory();
        if (leftOut(ignored, path, name, isDir)) continue; // `caf*` matches it (as U+FFFD)
        const shown = `${rel ? `${rel}/` : ''}${escapeName(entry.name)}`;
        walk.problems.push({ file: shown, message: `the name is not UTF-8; the platform refuses it: rename it, or exclude it in ${IGNORE_FILE}` });
        continue;
      }
      const full = join(dir, path);
      const link = entry.isSymbolicLink();
      const info = link ? await stat(full).catch(() => null) : await lstat(full);
      if (info === null) {
        walk.warnings.push({ file: path, message: 'skipped: a broken symbolic link' });
        continue;
      }
      const isDir = info.isDirectory();
      if (leftOut(ignored, path, name, isDir)) continue;
      // A virtual environment under another name than .venv (`venv/`, `env/`): its packages belong
      // in requirements.txt, and uploading it sent an interpreter and site-packages (helper round).
      if (isDir && !link && (await stat(join(full, 'pyvenv.cfg')).then((s) => s.isFile(), () => false))) {
        walk.warnings.push({ file: path, message: 'skipped: a Python virtual environment (pyvenv.cfg); declare its packages in requirements.txt' });
        continue;
      }
      if (isDir) {
        if (link) walk.warnings.push({ file: path, message: 'skipped: a symbolic link to a folder' });
        else await visit(path);
        continue;
      }
      if (!info.isFile()) {
        walk.warnings.push({ file: path, message: 'skipped: not a regular file' });
        continue;
      }
      // A link a folder holds (a clone, a pull request in CI) to a file outside it would upload
      // that file: the deploying user's credentials file, or /proc/self/environ with FP_TOKEN and
      // every CI secret, which the function then serves (red team 3). Only links within the folder.
      const away = link ? await outside(full) : null;
      if (away !== null) {
        walk.problems.push({ file: path, message: `is a symbolic link to ${away}, outside the folder; the platform would upload that file: copy it in if you mean to deploy it` });
        continue;
      }
      const why = badName(path);
      if (why) walk.problems.push({ file: path, message: `the path ${why}; the platform refuses it` });
      if (info.size > limits.maxFileBytes) {
        walk.problems.push({ file: path, message: `is ${describeBytes(info.size)}; the limit per file is ${describeBytes(limits.maxFileBytes)}: exclude it in ${IGNORE_FILE}, or keep large data out of the bundle (the data binding, or fetched at start)` });
      }
      walk.files.push({ path, size: info.size, ...((info.mode & 0o111) !== 0 ? { executable: true } : {}) });
      walk.totalBytes += info.size;
    }
  };
  await visit('');

  if (truncated || walk.files.length > limits.maxFiles) {
    walk.problems.push({ file: null, message: `more than ${limits.maxFiles} files to upload (the limit${crowdedFolder(walk.files)}); exclude some in ${IGNORE_FILE}` });
  } else if (walk.totalBytes > limits.maxTotalBytes) {
    walk.problems.push({ file: null, message: `the files add up to ${describeBytes(walk.totalBytes)}; the limit is ${describeBytes(limits.maxTotalBytes)}: exclude what the function does not need in ${IGNORE_FILE}` });
  }
  if (walk.files.length === 0) walk.problems.push({ file: null, message: 'there are no files to upload' });
  return walk;
}

/**
 * The top folder holding most of the files walked, as `; frontend/ holds 990 of the first 1001`
 * ('' when it holds less than half): a monorepo deployed from its root counted its frontend's
 * sources (node_modules left out) past the limit, and the problem named no folder (apps round 12).
 */
function crowdedFolder(files: readonly { path: string }[]): string {
  const counts = new Map<string, number>();
  for (const { path } of files) {
    const slash = path.indexOf('/');
    if (slash > 0) counts.set(path.slice(0, slash), (counts.get(path.slice(0, slash)) ?? 0) + 1);
  }
  const [top, n] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
  return n * 2 > files.length ? `; ${top}/ holds ${n} of the first ${files.length}` : '';
}

/** A file name's bytes as text, each byte that is not part of a UTF-8 character as `\xNN`. */
function escapeName(name: Buffer): string {
  let out = '';
  let i = 0;
  while (i < name.length) {
    const b = name[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    const piece = len > 0 ? name.subarray(i, i + len) : null;
    if (piece !== null && piece.length === len && Buffer.from(piece.toString('utf8'), 'utf8').equals(piece)) {
      out += piece.toString('utf8');
      i += len;
    } else {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i += 1;
    }
  }
  return out;
}

export interface HashedFile extends LocalFile {
  sha256: string;
}

/**
 * Reads and hashes every file (sha256, lower-case hex). Read as the walk saw it: inside the folder,
 * links followed, and a regular file (cli/small-file.ts): a folder on a file's way swapped for a link
 * after the walk (by someone else writing in the folder) hashed, then uploaded, a file from anywhere
 * (red team round 40; the upload's hash check on the server keeps it to what was hashed here).
 */
export async function hashFiles(dir: string, files: readonly LocalFile[]): Promise<HashedFile[]> {
  const out: HashedFile[] = [];
  const root = await realpath(dir);
  for (const f of files) {
    const content = await smallFileBytes(join(dir, f.path), Number.MAX_SAFE_INTEGER, root, 'not uploaded');
    if (!(content instanceof Uint8Array)) throw new Error(`${f.path} ${content === null ? 'is gone since the folder was read' : content.refused}: nothing was deployed`);
    out.push({ path: f.path, size: content.length, sha256: createHash('sha256').update(content).digest('hex'), ...(f.executable === true ? { executable: true } : {}) });
  }
  return out;
}
