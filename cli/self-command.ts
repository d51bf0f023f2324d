/**
 * How to spell this CLI in a hint the user will paste (`Next: … validate`): `fastapi-platform`
 * only when that name is on PATH (`npm link`, a global install); `npx fastapi-platform` inside the
 * repository (its package.json declares the bin); elsewhere `node <repo>/bin/fastapi-platform.js`.
 * A newcomer after `npm start` has no `fastapi-platform` on PATH: the bare name answered
 * "command not found" (docs/adr/0040-runnable-hints.md).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join, relative, isAbsolute } from 'node:path';
import { PACKAGE_ROOT } from './config.js';

/** Pure apart from the PATH look-up: the command prefix a user can run from `cwd`. */
export function selfCommand(searchPath: string | undefined, cwd: string, root: string = PACKAGE_ROOT): string {
  for (const dir of (searchPath ?? '').split(delimiter)) {
    // npx and npm scripts put a package's node_modules/.bin on the PATH they run us with: the
    // user's shell has no such entry (`npx fastapi-platform init` printed a bare `fastapi-platform`).
    if (dir === '' || /[\\/]node_modules[\\/]\.bin[\\/]?$/.test(dir)) continue;
    try {
      accessSync(join(dir, 'fastapi-platform'), constants.X_OK);
      return 'fastapi-platform';
    } catch { /* not in this directory */ }
  }
  const rel = relative(root, cwd);
  if (!rel.startsWith('..') && !isAbsolute(rel)) return 'npx fastapi-platform';
  return `node ${shellWord(join(root, 'bin', 'fastapi-platform.js'))}`;
}

/** `text` as one word a POSIX shell reads back as it is: bare when plain, else single-quoted. */
export function shellWord(text: string): string {
  return /^[\w./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** `selfCommand` for a command's context (its PATH is the one the CLI was started with). */
export function selfCommandOf(ctx: { env: { runtimeEnv: Record<string, string | undefined> }; cwd: string }): string {
  return selfCommand(ctx.env.runtimeEnv['PATH'], ctx.cwd);
}

/**
 * `text` with each bare `fastapi-platform <command …>` (a usage line in an error, a command in a
 * note, the API's own hints) spelled `self`: the one rule for what the CLI prints on stderr (main.ts
 * `report`, Output.note). An already spelled one (`npx fastapi-platform …`, `…/bin/fastapi-platform.js`)
 * and a path (`~/.config/fastapi-platform/`) are left as they are.
 */
export function spelledAs(text: string, self: string): string {
  if (self === 'fastapi-platform') return text;
  return text.replace(/(?<![\w./-]|npx )fastapi-platform(?= [a-z<])/g, () => self);
}
