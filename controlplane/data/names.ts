/**
 * Names of bound databases (ADR 0021, "Names"). A database belongs to a workspace (ADR 0011); on
 * the backend it is `<workspace>_<database>`: workspace names are DNS labels (no `_`), so the
 * first `_` splits the name back unambiguously, and two workspaces' `shop` never meet. The
 * function sees the physical name (`context.db.name`, the URI's database): the proxy forwards
 * bytes unchanged and never rewrites names.
 */
import { BOUND_DATABASE_MARK } from '../../protocol/index.js';
import type { Credential } from './credentials.js';

export function physicalDatabase(workspace: string, database: string): string {
  return `${workspace}_${database}`;
}

/**
 * The URI a runtime gets (FP_MONGO_URI): PLAIN over the box's Unix socket (the password never
 * crosses a network), the bound database as the default one.
 */
export function bindingUri(socketPath: string, physical: string, credential: Credential): string {
  const host = encodeURIComponent(socketPath);
  return `mongodb://${encodeURIComponent(credential.user)}:${encodeURIComponent(credential.password)}@${host}/${physical}?authMechanism=PLAIN&authSource=%24external&directConnection=true`;
}

/**
 * A collection no function may name, as a command's collection or a pipeline stage's: the server's
 * own (`system.*`), a name with NUL, and the mark of a bound database (BOUND_DATABASE_MARK, in any
 * case: ADR 0184).
 */
export function isReservedCollection(name: string): boolean {
  return name.startsWith('system.') || name.includes('\0') || name.toLowerCase() === BOUND_DATABASE_MARK;
}
