/**
 * The function of the folder a command runs in: `name:` at the top level of its platform.yaml.
 * `logs`, `invoke`, `rollback`, `versions` and `env list|pull|push` take it when no name is given,
 * as `deploy` and `dev` take the folder (helper round, 2026-12-05: inside a function folder they
 * still asked for the name). A subfolder of a function's folder (`app/routers/`) counts as that
 * folder, as git finds its repository from any folder below it (new-user round 8: `logs` there
 * asked for the name, `deploy` said to `init .` a second function inside the first). A line, not
 * a YAML parse: this runs before any command module is loaded.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const NAME_LINE = /^name:[ \t]*["']?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)["']?[ \t]*(?:#.*)?$/m;

/** The nearest folder from `dir` upwards (itself first) that holds a platform.yaml, or null. */
export function functionFolderOf(dir: string): string | null {
  for (let at = dir; ; at = dirname(at)) {
    try {
      readFileSync(join(at, 'platform.yaml'));
      return at;
    } catch { /* not here: one folder up */ }
    if (dirname(at) === at) return null;
  }
}

/**
 * `../..`: the function folder above `dir` (not `dir` itself) as a path from `dir`, with the
 * function's name when its platform.yaml has one; null when no folder above holds a platform.yaml.
 */
export function functionFolderAbove(dir: string): { path: string; name: string | null } | null {
  const up = dirname(dir);
  const found = up === dir ? null : functionFolderOf(up);
  return found === null ? null : { path: relative(dir, found), name: nameIn(found) };
}

/** The `name` of the nearest platform.yaml from `dir` upwards, or null when there is none (or it names none). */
export function functionOfFolder(dir: string): string | null {
  const found = functionFolderOf(dir);
  return found === null ? null : nameIn(found);
}

function nameIn(folder: string): string | null {
  let text: string;
  try {
    text = readFileSync(join(folder, 'platform.yaml'), 'utf8');
  } catch {
    return null;
  }
  return NAME_LINE.exec(text)?.[1] ?? null;
}

/**
 * The folders directly inside `dir` that hold a platform.yaml (not dot-folders), sorted: a folder
 * of functions where one was meant (new-user round 9: `deploy` in the parent of `init my-fn`).
 */
export function functionFoldersIn(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  } catch {
    return [];
  }
  return entries.filter((name) => {
    try {
      readFileSync(join(dir, name, 'platform.yaml'));
      return true;
    } catch {
      return false;
    }
  }).sort();
}
