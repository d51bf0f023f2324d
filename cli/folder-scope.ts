/**
 * `runs` and `usage` without a name: inside a function's folder (or below it), that function's, as
 * `logs`, `invoke` and `versions` take it (cli/folder-function.ts); `--all` lists every function of
 * the workspace, as they do outside a function's folder (new-user round 9: `runs` in `my-fn/`
 * listed the runs of `hello`, the example, and `usage` every function).
 */
import type { Context } from './context.js';
import { CliError, EXIT, usageError } from './errors.js';
import { functionOfFolder } from './folder-function.js';

/** Whose `command` lists: `name` as given, else the folder's function, else the workspace's (undefined). */
export function listedFunction(ctx: Context, command: 'runs' | 'usage', name: string | undefined, all: boolean): { name: string | undefined; fromFolder: boolean } {
  if (all && name !== undefined) throw usageError(`--all is every function of the workspace: ${command} ${name} (one function) or ${command} --all, not both`);
  const here = all || name !== undefined ? null : functionOfFolder(ctx.cwd);
  return here === null ? { name, fromFolder: false } : { name: here, fromFolder: true };
}

/** Said on stderr once the folder's function's listing is printed (not before an error: it would read as its cause). */
export function noteFolderScope(ctx: Context, command: 'runs' | 'usage', listed: { name: string | undefined; fromFolder: boolean } | null): void {
  if (listed?.fromFolder === true) ctx.out.note(`(${command} of ${listed.name}, the function of this folder; --all: every function of the workspace)`);
}

/**
 * The error for a folder's function that is not in the workspace (not deployed yet, or another
 * workspace's), for every command that took the name from the folder: `logs`, `versions` there said
 * "no function named …; the `functions` command lists …", as for a typo (new-user round 9).
 */
export function notDeployedError(name: string, listing?: 'runs' | 'usage'): CliError {
  return new CliError(EXIT.API, 'FUNCTION_NOT_FOUND', `this folder's function "${name}" is not deployed in this workspace: \`deploy\` creates it (--workspace picks another workspace${listing !== undefined ? `; ${listing} --all: every function of this one` : ''})`, { function: name, fromFolder: true });
}

/** A FUNCTION_NOT_FOUND of the folder's function when the command was not given a name (main.ts); else null. */
export function folderNotDeployed(ctx: Context, positionals: readonly string[], err: CliError): CliError | null {
  if (err.code !== 'FUNCTION_NOT_FOUND' || err.details.fromFolder === true) return null;
  const here = functionOfFolder(ctx.cwd);
  if (here === null || positionals.includes(here) || !err.message.includes(`"${here}"`)) return null;
  return notDeployedError(here);
}
