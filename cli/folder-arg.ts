/**
 * The error for a `[dir]` argument of `validate`, `deploy` or `dev` that is no folder (new-user
 * round 9): in a function's folder, its function's name given as for `invoke` (`deploy my-fn`
 * inside `my-fn/`) says to leave it out; a near miss of a function folder beside it names it. It
 * said only "<path> is not a folder" for both.
 */
import { basename, dirname, resolve } from 'node:path';
import { usageError, type CliError } from './errors.js';
import { functionFoldersIn, functionOfFolder } from './folder-function.js';
import { didYouMean } from './near-words.js';

export function notAFolder(command: 'validate' | 'deploy' | 'dev', shown: string, dir: string, cwd: string): CliError {
  const name = basename(dir);
  const here = resolve(dirname(dir)) === resolve(cwd) ? functionOfFolder(cwd) : null;
  if (here !== null && name === here) {
    return usageError(`${shown} is not a folder: ${command} takes a function's folder, not its name; this folder holds function "${here}": run \`${command}\` without the name`);
  }
  const near = didYouMean(name, functionFoldersIn(dirname(dir)));
  return usageError(`${shown} is not a folder: give the function's folder (the one with platform.yaml)${near}`);
}
