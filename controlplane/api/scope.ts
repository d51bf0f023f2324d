/**
 * The scope of one API call (docs/adr/0011-tenants.md, "The API"): who calls, in which workspace,
 * and the one way short names become function keys. Every operation works through it: names in
 * paths and bodies become keys with `key()`, records found by id are checked with `owns()` (another
 * workspace's answers exactly as "not found"), lists are filtered by `workspace`.
 *
 * The workspace: a workspace token's own; for the root token, the one named by the `FP-Workspace`
 * header (default `default`). A workspace token naming another workspace gets 404
 * WORKSPACE_NOT_FOUND whether it exists or not; so does any value that is not a workspace name
 * (the value is never echoed raw: it is JSON-quoted and cut short).
 */
import { DEFAULT_WORKSPACE, functionKey, isWorkspaceName, nameOfKey, PlatformError, workspaceOfKey, type Pairs } from '../../protocol/index.js';
import type { AuditActor } from '../store/index.js';
import type { WorkspaceRegistry } from '../tenancy/workspace-registry.js';
import type { Principal } from './auth.js';

export const WORKSPACE_HEADER = 'fp-workspace';

export class Scope {
  constructor(
    readonly principal: Principal,
    /** The workspace this call acts in. */
    readonly workspace: string,
    /** The client's address (the audit log's "from where"). */
    readonly address: string,
  ) {}

  /** The root token: it may name any workspace and reach the install-wide routes. */
  get isRoot(): boolean {
    return this.principal.kind === 'admin';
  }

  /** The caller's label (what version and deploy histories record as who). */
  get label(): string {
    return this.principal.label;
  }

  /** The key of a checked short name in this workspace. */
  key(name: string): string {
    return functionKey(name, this.workspace);
  }

  /** True when a function key (a run's `function`, a token's scope) belongs to this workspace. */
  owns(key: string): boolean {
    return workspaceOfKey(key) === this.workspace;
  }

  /** A key as this workspace's callers see it: the short name. */
  short(key: string): string {
    return nameOfKey(key);
  }

  actor(): AuditActor {
    return { tokenId: this.principal.tokenId, label: this.principal.label, role: this.principal.role };
  }
}

/** Who calls a public operation (no token asked): acts in nothing. */
export const PUBLIC_SCOPE = new Scope({ tokenId: '', label: 'anonymous', kind: 'admin', role: 'viewer', workspace: null, expiresAt: null }, DEFAULT_WORKSPACE, '');

/** The call's scope, or 404 WORKSPACE_NOT_FOUND / 400 INVALID_FIELD (the header given twice). */
export function resolveScope(workspaces: WorkspaceRegistry, principal: Principal, headers: Pairs, address: string): Scope {
  const named = headers.filter(([key]) => key === WORKSPACE_HEADER).map(([, value]) => value.trim());
  if (named.length > 1) {
    throw new PlatformError('INVALID_FIELD', 'give the FP-Workspace header once', { field: 'headers.fp-workspace' });
  }
  const asked = named[0];
  const missing = (name: string): PlatformError =>
    new PlatformError('WORKSPACE_NOT_FOUND', `no workspace ${JSON.stringify(name.slice(0, 64))}`, { field: 'headers.fp-workspace' });
  if (principal.workspace !== null) {
    // A workspace token acts in its own workspace only; any other name is "not found", existing or not.
    if (asked !== undefined && asked !== '' && asked !== principal.workspace) throw missing(asked);
    if (!workspaces.has(principal.workspace)) throw missing(principal.workspace);
    return new Scope(principal, principal.workspace, address);
  }
  const workspace = asked === undefined || asked === '' ? DEFAULT_WORKSPACE : asked;
  if (!isWorkspaceName(workspace) || !workspaces.has(workspace)) throw missing(workspace);
  return new Scope(principal, workspace, address);
}
