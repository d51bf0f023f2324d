/**
 * Applying another process's change (docs/stores.md, "Config propagation"): the bus says what
 * changed, this re-reads it from the store (the source of truth) and updates this process's
 * registry, token index, code directories and pool, as the originating process did. A full
 * resync does the same for everything, after a (re)connect of the bus.
 */
import { versionTraits } from '../registry/store-registry.js';
import type { ConfigChange, ConfigListener } from '../store/index.js';
import type { ServiceContext } from './context.js';
import { dropFunction } from './function-drop.js';
import { instancesStale } from './functions.js';
import { loadFunctions } from './startup.js';
import { keepAllWarm, keepWarm } from './warm.js';
import { refreshWorkspace } from './workspaces.js';

/** The invoke tokens of `name` from the store, when a function of that name is held (it was created again). */
async function restoreInvokeTokens(ctx: ServiceContext, name: string): Promise<void> {
  if (ctx.registry.recordOf(name) === null) return;
  for (const token of await ctx.store.tokens.list({ kind: 'invoke', scope: name })) ctx.tokens.add(token);
}

/** One function, read again from the store. */
export async function refreshFunction(ctx: ServiceContext, name: string): Promise<void> {
  await ctx.locks.run(name, async () => {
    const record = await ctx.store.functions.get(name);
    if (record === null) {
      await dropFunction(ctx, name);
      return;
    }
    let held = ctx.registry.recordOf(name);
    if (held !== null && held.createdAt !== record.createdAt) {
      // Deleted and created again elsewhere (its revisions start over): the old one goes first.
      ctx.registry.remove(name);
      ctx.pool.drain(name);
      ctx.forgetSeries(name);
      ctx.hookRefusals?.forget(name);
      held = null;
    }
    if (held !== null && held.revision >= record.revision) return;
    const version = record.activeVersion === null ? null : await ctx.store.versions.get(name, record.activeVersion);
    if (version !== null) await ctx.code.ensure(version);
    ctx.registry.set(record, version?.entrypoint ?? null, versionTraits(version?.manifest));
    // As the originating process did: stale env/limits retire every instance, then the active version's group is kept live.
    if (held !== null && instancesStale(held, record)) ctx.pool.drain(name);
    if (record.status === 'paused' || version === null) {
      ctx.pool.endConnections?.(name, record.status === 'paused' ? 'FUNCTION_PAUSED' : 'FUNCTION_NOT_FOUND');
      ctx.pool.drain(name);
    } else ctx.pool.drain(name, String(version.version));
    keepWarm(ctx, name);
    ctx.codeCollector.soon();
    await ctx.cron?.refresh(name);
  });
}

/**
 * The token index, read again from the store (a rotation anywhere revokes the old secret here too).
 * A token this process issued or revoked while the list was being read may be missing from it
 * (or still live in it): replaced with that list, the index lost it. The first start's resync (the
 * bus's first connection) read the store as the admin token was issued, and the token this process
 * had just handed out was refused ADMIN_TOKEN_INVALID. The list is read again until no change was
 * made here meanwhile (settledRead).
 */
export async function refreshTokens(ctx: ServiceContext): Promise<void> {
  ctx.tokens.replaceAll(await settledRead(() => ctx.tokens.changes, () => ctx.store.tokens.list()));
}

/**
 * What `list` reads from the store, read again while `changes` (of the in-memory copy it is to
 * replace) moved during the read: a change this process made meanwhile may be missing from it.
 */
async function settledRead<T>(changes: () => number, list: () => Promise<T>): Promise<T> {
  for (let read = 1; ; read++) {
    const before = changes();
    const value = await list();
    if (changes() === before || read >= MAX_SETTLE_READS) return value;
  }
}

/** Reads of a resync while this process keeps changing what it reads (each change is one store write: a handful at most). */
const MAX_SETTLE_READS = 20;

/** Everything: workspaces, tokens, then every function (functions deleted meanwhile leave the registry). */
export async function resync(ctx: ServiceContext): Promise<void> {
  // A workspace made, changed or deleted here during the read is not undone by it (as tokens).
  ctx.workspaces.replaceAll(await settledRead(() => ctx.workspaces.changes, () => ctx.store.workspaces.list()));
  await refreshTokens(ctx);
  const names = new Set((await ctx.store.functions.list()).map((f) => f.name));
  for (const name of ctx.registry.names()) if (!names.has(name)) await refreshFunction(ctx, name);
  await loadFunctions(ctx.store, ctx.registry, ctx.code, ctx.log);
  for (const name of ctx.registry.names()) {
    const held = ctx.registry.resolve(name);
    if (!held.found) continue;
    if (held.paused || held.fn === null) {
      ctx.pool.endConnections?.(name, held.paused ? 'FUNCTION_PAUSED' : 'FUNCTION_NOT_FOUND');
      ctx.pool.drain(name);
    } else ctx.pool.drain(name, held.fn.version);
  }
  keepAllWarm(ctx);
  await ctx.cron?.refreshAll();
}

/** How often a process of a cluster compares what it holds with the store (ADR 0273). */
export const CONFIG_SWEEP_MS = 30_000;

/**
 * What a lost message would have said, found in the store (ADR 0273): the functions whose record
 * is newer than (or other than) the one held here, the ones gone, the workspaces and the tokens. A
 * process killed after its store write and before its publish (a deploy, a pause, a revoke) told
 * nobody, and one whose bus never reconnected served the old state until its restart.
 */
export async function sweepChanges(ctx: ServiceContext): Promise<void> {
  const records = await ctx.store.functions.list();
  const names = new Set(records.map((f) => f.name));
  for (const name of ctx.registry.names()) if (!names.has(name)) await refreshFunction(ctx, name);
  for (const record of records) {
    const held = ctx.registry.recordOf(record.name);
    if (held === null || held.createdAt !== record.createdAt || held.revision < record.revision) await refreshFunction(ctx, record.name);
  }
  ctx.workspaces.replaceAll(await settledRead(() => ctx.workspaces.changes, () => ctx.store.workspaces.list()));
  // Only what differs: a full replace would log the tokens it cannot use at every sweep.
  const live = await settledRead(() => ctx.tokens.changes, () => ctx.store.tokens.list());
  const ids = new Set(live.map((t) => t.id));
  for (const id of ctx.tokens.ids()) if (!ids.has(id)) ctx.tokens.remove(id);
  for (const record of live) if (ctx.tokens.byId(record.id) === undefined) ctx.tokens.add(record);
}

/**
 * The bus listener: changes are applied one at a time, in arrival order; a failed refresh (the
 * store is down) is logged and the next resync (or sweep) repairs it. `sweep` queues a
 * sweepChanges behind them, unless one is queued already.
 */
export function syncListener(ctx: ServiceContext): ConfigListener & { idle(): Promise<void>; sweep(): void } {
  let chain: Promise<void> = Promise.resolve();
  let sweeping = false;
  const enqueue = (what: string, step: () => Promise<void>): void => {
    chain = chain.then(step).catch((err: unknown) => ctx.log(`controlplane: could not apply ${what} from another process: ${String(err)}`));
  };
  return {
    changed(change: ConfigChange) {
      if (change.kind === 'tokens') enqueue('a token change', () => refreshTokens(ctx));
      else if (change.kind === 'workspace') enqueue(`a change of workspace ${change.name}`, () => refreshWorkspace(ctx, change.name));
      else {
        // A delete stops it here first, without the store; then the store is read (a create since then puts it back).
        if (change.gone === true) enqueue(`the delete of ${change.name}`, () => ctx.locks.run(change.name, () => dropFunction(ctx, change.name)));
        enqueue(`a change of ${change.name}`, () => refreshFunction(ctx, change.name));
        // ... with its invoke tokens, which the drop removed: a function created again under the
        // name before this delete's `gone` arrived answered 401 to its own token here (ADR 0159).
        if (change.gone === true) enqueue(`the invoke tokens of ${change.name}`, () => ctx.locks.run(change.name, () => restoreInvokeTokens(ctx, change.name)));
      }
    },
    resync() {
      enqueue('a full resync', () => resync(ctx));
    },
    sweep() {
      if (sweeping) return;
      sweeping = true;
      enqueue('the changes found in the store', () => sweepChanges(ctx).finally(() => (sweeping = false)));
    },
    idle: () => chain,
  };
}
