/**
 * Data bindings through the API (docs/data-binding.md): which database a function uses, which
 * functions use each database, and credential rotation. The binding itself is declared by the
 * active version's manifest; credentials never leave the platform.
 */
import { nameOfKey, PlatformError } from '../../protocol/index.js';
import { physicalDatabase } from '../data/index.js';
import type { ServiceContext } from './context.js';
import { getFunction } from './functions.js';

export interface BindingView {
  workspace: string;
  database: string;
  /** The database's name on the server (what `context.db.name` says). */
  physical: string;
  create: boolean;
}

/** The function's binding (null: none); FUNCTION_NOT_FOUND for an unknown function. */
export async function bindingOf(ctx: ServiceContext, name: string): Promise<BindingView | null> {
  await getFunction(ctx, name);
  const spec = ctx.registry.bindingOf(name);
  const bound = ctx.data?.bindingOf(name) ?? null;
  if (spec === null || bound === null) return null;
  return { workspace: bound.workspace, database: bound.database, physical: bound.physical, create: spec.create };
}

export interface DatabaseView {
  workspace: string;
  database: string;
  physical: string;
  /** The functions bound to it (short names); none: its data outlived them (drop it with `data drop`). */
  functions: string[];
}

/**
 * The workspace's databases, each with the functions using it (by short name), by name: the bound
 * ones and those on the server that no function uses any more. DATA_BACKEND_UNAVAILABLE when the
 * server cannot be asked.
 */
export async function databases(ctx: ServiceContext, workspace: string): Promise<DatabaseView[]> {
  const byPhysical = new Map<string, DatabaseView>();
  if (ctx.data === null) return [];
  for (const database of await ctx.data.serverDatabases(workspace)) {
    const physical = physicalDatabase(workspace, database);
    byPhysical.set(physical, { workspace, database, physical, functions: [] });
  }
  for (const bound of ctx.data.list()) {
    if (bound.workspace !== workspace) continue;
    const entry = byPhysical.get(bound.physical) ?? { workspace: bound.workspace, database: bound.database, physical: bound.physical, functions: [] };
    entry.functions.push(nameOfKey(bound.function));
    byPhysical.set(bound.physical, entry);
  }
  return [...byPhysical.values()].sort((a, b) => a.physical.localeCompare(b.physical));
}

/**
 * Drops a database of the workspace and all its data, when its owner asks: never while a function
 * is bound to it (DATA_DATABASE_IN_USE). Deleting functions never does this (docs/data-binding.md).
 */
export async function dropDatabase(ctx: ServiceContext, workspace: string, database: string): Promise<{ physical: string }> {
  if (ctx.data === null) throw new PlatformError('DATA_BACKEND_NOT_CONFIGURED', 'this platform has no database server for data bindings');
  return ctx.data.drop(workspace, database);
}

/**
 * New credentials for the function's binding: its instances retire (their calls finish) and new
 * ones get the new credential; the old one works `graceMs` more, then every command on it is
 * refused (DATA_CREDENTIALS_REVOKED). Returns the bound database's name in its workspace.
 */
export async function rotateDataCredentials(ctx: ServiceContext, name: string, graceMs: number): Promise<string> {
  return ctx.locks.run(name, async () => {
    const record = await getFunction(ctx, name);
    const spec = ctx.registry.bindingOf(name);
    if (spec === null || ctx.data === null || !ctx.data.rotate(name, graceMs)) {
      throw new PlatformError('DATA_BINDING_NOT_FOUND', `function "${nameOfKey(name)}" has no data binding`, { function: nameOfKey(name) });
    }
    // The registry builds the runtime env again: it now carries the new credential.
    ctx.registry.set(record, ctx.registry.entrypointOf(name));
    ctx.pool.drain(name);
    if (record.activeVersion !== null && record.status === 'active') ctx.pool.drain(name, String(record.activeVersion));
    return ctx.data.bindingOf(name)?.database ?? spec.database;
  });
}
