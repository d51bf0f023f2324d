/**
 * Watching a function folder for `dev`: every change to a file that can matter (code, data,
 * platform.yaml, .platformignore, .env) is reported once the folder has been quiet for a moment,
 * so an editor's save (a temporary file, then a rename) is one change. Caches, bytecode, version
 * control and editor scratch files are not changes.
 */
import { lstatSync, readdirSync, watch, type Dirent, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { isEditorScratch } from '../files.js';

/** Dotfiles that change what `dev` serves. Any other dotfile or dot-folder is ignored, as the bundle ignores it. */
const WATCHED_DOTFILES = new Set(['.env', '.platformignore']);
const IGNORED_DIRS = new Set(['__pycache__', 'node_modules']);

/** Whether a change to `path` (relative, `/` or the platform's separator) can change what is served. */
export function isRelevantChange(path: string): boolean {
  const parts = path.split(/[\\/]/).filter((p) => p !== '');
  const name = parts.pop();
  if (name === undefined) return false;
  if (parts.some((p) => p.startsWith('.') || IGNORED_DIRS.has(p))) return false;
  if (name.startsWith('.')) return parts.length === 0 && WATCHED_DOTFILES.has(name);
  if (IGNORED_DIRS.has(name)) return false;
  // Bytecode, temporary files, and editors' scratch files (which deploy leaves out too: cli/files.ts).
  return !/\.(pyc|pyo|tmp)$/.test(name) && !isEditorScratch(name);
}

export interface FolderWatch {
  close(): void;
}

export interface WatchOptions {
  /** Quiet time after the last change before `onChange` (ms). */
  settleMs: number;
  /** The relevant paths changed since the last call, sorted (relative, `/`-separated). */
  onChange: (paths: string[]) => void;
  onError: (err: Error) => void;
}

/**
 * Watches `dir` and every folder under it that can hold bundle files, one directory watch each
 * (folders created later are added as they appear). Not `fs.watch`'s `recursive` option: on
 * Linux, Node 20 watches each file by inode there, and loses a file an editor saves by writing a
 * new file and renaming it over the old one (vim, sed -i, many IDEs).
 */
export function watchFolder(dir: string, options: WatchOptions): FolderWatch {
  const watchers = new Map<string, FSWatcher>();
  let changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const fire = (): void => {
    timer = undefined;
    const paths = [...changed].sort();
    changed = new Set();
    options.onChange(paths);
  };
  const note = (path: string): void => {
    changed.add(path);
    clearTimeout(timer);
    timer = setTimeout(fire, options.settleMs);
  };

  /** Watches the folder `rel` ('' for the root) and the folders below it. */
  const add = (rel: string): void => {
    if (closed || watchers.has(rel)) return;
    const abs = rel === '' ? dir : join(dir, rel);
    let watcher: FSWatcher;
    try {
      watcher = watch(abs, (_event, file) => onEvent(rel, file === null ? null : String(file)));
    } catch (err) {
      // Gone already, or not a folder: nothing to watch. The root must be watchable.
      if (rel === '') options.onError(err as Error);
      return;
    }
    watcher.on('error', () => forget(rel));
    watchers.set(rel, watcher);
    let entries: Dirent[] = [];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory() && isRelevantChange(`${child}/x`)) add(child);
    }
  };

  /** Stops watching `rel` and the folders below it (it was removed or renamed away). */
  const forget = (rel: string): void => {
    for (const [path, watcher] of watchers) {
      if (path !== rel && !path.startsWith(`${rel}/`)) continue;
      watcher.close();
      watchers.delete(path);
    }
  };

  const onEvent = (rel: string, file: string | null): void => {
    if (closed) return;
    // Without a name (some platforms, some events) anything in the folder may have changed.
    const path = file === null ? (rel === '' ? '.' : rel) : rel === '' ? file : `${rel}/${file}`;
    if (file !== null && !isRelevantChange(path)) return;
    if (file !== null) {
      // A folder that appeared gets its watch; one that went away loses it.
      let isDir = false;
      try {
        // Not followed: a link to a folder is not part of the bundle (cli/files.ts), nor watched.
        isDir = lstatSync(join(dir, path)).isDirectory();
      } catch {
        if (rel !== path && watchers.has(path)) forget(path);
      }
      if (isDir && isRelevantChange(`${path}/x`)) add(path);
    }
    note(path);
  };

  add('');
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
