/**
 * Workspaces (docs/adr/0011-tenants.md): create, change quotas, delete, and what each quota's use
 * is now. Each change goes to the store first, then — in the same turn — to the in-memory
 * registry the gateway and the API read (and the pool's caps), then to the other processes.
 */
import { DEFAULT_WORKSPACE, PlatformError } from '../../protocol/index.js';
import type { WorkspaceQuotas, WorkspaceRecord } from '../store/index.js';
import type { ServiceContext } from './context.js';

export interface QuotaUse {
  functions: { limit: number | null; used: number };
  instances: { limit: number | null; used: number };
  invocationsPerMinute: { limit: number | null; used: number };
  codeBytes: { limit: number | null; used: number };
  logBytes: { limit: number | null; used: number };
}

/** Every quota of `workspace` with its use now (instances: this process; calls: this minute, every process). */
export async function quotaUse(ctx: ServiceContext, workspace: string): Promise<QuotaUse> {
  const quotas = ctx.workspaces.quotas(workspace);
  const [stored, minute] = await Promise.all([
    ctx.store.workspaces.usage(workspace),
    // A limiter that cannot answer (Redis down) shows no use rather than failing the card.
    ctx.limiter.minuteCount(workspace).catch(() => 0),
  ]);
  return {
    functions: { limit: quotas.functions, used: stored.functions },
    instances: { limit: quotas.instances, used: ctx.pool.workspaceInstances(workspace) },
    invocationsPerMinute: { limit: quotas.invocationsPerMinute, used: minute },
    codeBytes: { limit: quotas.codeBytes, used: stored.codeBytes },
    logBytes: { limit: quotas.logBytes, used: stored.logBytes },
  };
}

export async function createWorkspace(ctx: ServiceContext, name: string, quotas: Partial<WorkspaceQuotas>): Promise<WorkspaceRecord> {
  const record = await ctx.store.workspaces.create(name, { ...ctx.settings.defaultQuotas, ...quotas });
  ctx.workspaces.set(record);
  ctx.bus.publish({ kind: 'workspace', name });
  return record;
}

export async function updateWorkspace(ctx: ServiceContext, name: string, quotas: Partial<WorkspaceQuotas>): Promise<WorkspaceRecord> {
  const record = await ctx.store.workspaces.update(name, quotas);
  ctx.workspaces.set(record);
  ctx.bus.publish({ kind: 'workspace', name });
  return record;
}

/**
 * Deletes an empty workspace and its tokens. Empty: no function (the store refuses otherwise:
 * nothing changes then) and no database left on the data server. A database outlives the
 * functions that used it, and its name is `<workspace>_<database>`: a workspace created later
 * under the same name (another tenant) would bind it and read the first one's documents (red
 * team 5). Its owner drops them first (`DELETE /data/databases/{database}`); a server that cannot
 * be asked refuses the delete (DATA_BACKEND_UNAVAILABLE) rather than leave data unnamed.
 */
export async function deleteWorkspace(ctx: ServiceContext, name: string): Promise<void> {
  // Before the databases: `default` with a database was "not empty: drop them first", advice to
  // destroy data for a delete that is refused anyway (new-user round, 2026-12-04).
  if (name === DEFAULT_WORKSPACE) throw new PlatformError('WORKSPACE_PROTECTED', 'the default workspace cannot be deleted', { workspace: name });
  const left = ctx.data === null ? [] : await ctx.data.serverDatabases(name);
  if (left.length > 0) {
    throw new PlatformError('WORKSPACE_NOT_EMPTY', `workspace ${name} still has ${left.length} database(s) on the data server (${left.join(', ')}): drop them first (fastapi-platform data drop <database> -w ${name})`, { workspace: name, databases: left });
  }
  await ctx.store.workspaces.delete(name);
  ctx.workspaces.remove(name);
  ctx.tokens.removeWorkspace(name);
  ctx.bus.publish({ kind: 'workspace', name });
  ctx.bus.publish({ kind: 'tokens' });
}

/** Another process changed a workspace: read it again (gone: forget it). */
export async function refreshWorkspace(ctx: ServiceContext, name: string): Promise<void> {
  const record = await ctx.store.workspaces.get(name);
  if (record === null) ctx.workspaces.remove(name);
  else ctx.workspaces.set(record);
}
