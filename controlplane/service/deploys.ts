/**
 * Deploy, rollback, pause, resume. The order inside a function's lock is what makes "served within
 * a second" and "no call lost" hold:
 *   1. the version's files are written to their own directory (before anything points at them),
 *      and an instance of it is started: a version that does not load is refused (start-check.ts);
 *   2. the store records the change and its deploy-log entry in one step;
 *   3. the registry the gateway reads switches, in the same turn — the next call gets the new
 *      version;
 *   4. the pool drains the other versions: their instances finish the calls they hold, take no
 *      new ones, and are reaped. Calls already queued for an old version are still served.
 */
import { versionTraits } from '../registry/store-registry.js';
import { PlatformError } from '../../protocol/index.js';
import { DEPLOY_RECORDS_KEPT, isStoreError, type DeployEntry, type FunctionRecord } from '../store/index.js';
import type { ServiceContext } from './context.js';
import { getFunction } from './functions.js';
import { ensureHookSecrets } from '../async/index.js';
import { keptWithVersion, startCheck, type StartReport } from './start-check.js';
import { keepWarm } from './warm.js';
import { pruneAfterDeploy } from './version-retention.js';

export interface DeployResult {
  record: FunctionRecord;
  entry: DeployEntry;
  /** Deploy and rollback: what the start check found (absent: not asked for). */
  start?: StartReport;
  /** Deploy: the versions retention deleted (FP_KEEP_VERSIONS; docs/adr/0098-deleting-versions.md). */
  pruned?: number[];
}

export interface DeployInput {
  /** deploy: default the latest; rollback: default the one numbered below the active one. */
  version?: number;
  actor: string;
  note?: string;
  /** Deploy and rollback: start the version first and refuse it when it does not load (default true). */
  check?: boolean;
}

export function deployVersion(ctx: ServiceContext, name: string, input: DeployInput): Promise<DeployResult> {
  return switchVersion(ctx, name, 'deploy', input);
}

export function rollback(ctx: ServiceContext, name: string, input: DeployInput): Promise<DeployResult> {
  return switchVersion(ctx, name, 'rollback', input);
}

/**
 * A deploy or rollback naming its version whose write lost to another process's change of the
 * function (a settings change, a pause; REVISION_CONFLICT) is made again on the new state, its
 * start check with it: the version asked for is still the one wanted (ADR 0159). Without a version
 * ("the latest", "the one before the active one") it is not: what that means may have changed with
 * the other change; it stays the loser, REVISION_CONFLICT.
 */
async function switchVersion(ctx: ServiceContext, name: string, action: 'deploy' | 'rollback', input: DeployInput): Promise<DeployResult> {
  const again = input.version !== undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await switchOnce(ctx, name, action, input);
    } catch (err) {
      if (!again || attempt >= SWITCH_ATTEMPTS || !isStoreError(err, 'REVISION_CONFLICT')) throw err;
    }
  }
}

/** Reads, and so writes, of one deploy at most, while other processes keep changing the function. */
const SWITCH_ATTEMPTS = 3;

async function switchOnce(ctx: ServiceContext, name: string, action: 'deploy' | 'rollback', input: DeployInput): Promise<DeployResult> {
  return ctx.locks.run(name, async () => {
    const current = await getFunction(ctx, name);
    const target = input.version ?? (await defaultTarget(ctx, current, action));
    const version = await ctx.store.versions.get(name, target);
    if (version === null) {
      throw new PlatformError('VERSION_NOT_FOUND', `function "${name}" has no version ${target}`, { field: 'version', function: name, version: target });
    }
    // Never switch to a version whose dependencies are not installed: DEPS_NOT_READY or the build's
    // own code; the version must load before it serves: DEPLOY_START_FAILED otherwise, the active
    // one untouched. What was found is kept with the version (ADR 0252).
    const checked = await keptWithVersion(ctx, version, async () => {
      await ctx.deps.requireReady(version);
      await ctx.code.ensure(version);
      return input.check === false ? null : await startCheck(ctx, current, version);
    });
    const start = checked?.report;
    const { function: applied, entry } = await ctx.store.deploys.apply({
      function: name,
      action,
      version: target,
      actor: input.actor,
      ...(input.note !== undefined ? { note: input.note } : {}),
      expectedRevision: current.revision,
      keepRecords: DEPLOY_RECORDS_KEPT,
    }).catch((err: unknown) => {
      checked?.undo();
      throw err;
    });
    // A webhook trigger declared by this version gets its secret now (docs/triggers.md); if that
    // write fails the deploy stands, and the hooks route creates the secret on first use.
    const record = (await ensureHookSecrets(ctx.store, name, version.manifest).catch((err: unknown) => {
      ctx.log(`deploy: webhook secrets of ${name} not created yet: ${String(err)}`);
      return null;
    })) ?? applied;
    ctx.registry.set(record, version.entrypoint, versionTraits(version.manifest));
    ctx.pool.drain(name, String(target));
    keepWarm(ctx, name);
    ctx.codeCollector.soon(); // the version before: its directory goes once its instances have
    ctx.bus.publish({ kind: 'function', name });
    await ctx.cron?.refresh(name);
    // Retention on deploy only: a rollback is a way back, not the moment to forget versions.
    const pruned = action === 'deploy' ? await pruneAfterDeploy(ctx, record, await rollbackTarget(ctx, record)) : [];
    return { record, entry, ...(start !== undefined ? { start } : {}), ...(pruned.length > 0 ? { pruned } : {}) };
  });
}

async function defaultTarget(ctx: ServiceContext, fn: FunctionRecord, action: 'deploy' | 'rollback'): Promise<number> {
  if (action === 'deploy') {
    const latest = await ctx.store.versions.latest(fn.name);
    if (latest === null) {
      throw new PlatformError('VERSION_NOT_FOUND', `function "${fn.name}" has no versions yet; upload one first`, { field: 'version', function: fn.name });
    }
    return latest.version;
  }
  if (fn.activeVersion === null) {
    throw new PlatformError('FUNCTION_NOT_DEPLOYED', `function "${fn.name}" has no deployed version to roll back from`, { function: fn.name });
  }
  const target = await rollbackTarget(ctx, fn);
  if (target === null) {
    // "name a version to roll back to" sent people looking for one when version 1 was the only one.
    const latest = await ctx.store.versions.latest(fn.name);
    const first = fn.activeVersion <= 1 ? `version ${fn.activeVersion} of "${fn.name}" is the first` : `no version of "${fn.name}" before ${fn.activeVersion} is kept (they were deleted)`;
    const what = latest !== null && latest.version > fn.activeVersion
      ? `later versions exist (up to ${latest.version}): name the one to go to (\`{"version": ${latest.version}}\`; CLI: rollback ${fn.name} --to ${latest.version})`
      : 'it is the only version, so there is nothing to roll back to yet: deploy a new version first';
    throw new PlatformError('NO_PREVIOUS_VERSION', `${first}; ${what}`, { field: 'version', function: fn.name });
  }
  return target;
}

/**
 * Where a rollback without a version goes: the newest version below the active one that served
 * before, else the newest below it; only versions still stored (docs/adr/0098-deleting-versions.md);
 * null when there is none. A version never deployed (refused by its start check, or uploaded and
 * left) is passed over: a rollback went to it, and was refused or, with the check skipped, put code
 * live that had never run (helper round of 2026-12-04). Retention keeps this version.
 */
export async function rollbackTarget(ctx: ServiceContext, fn: FunctionRecord): Promise<number | null> {
  const active = fn.activeVersion;
  if (active === null) return null;
  const below = await ctx.store.versions.list(fn.name, { before: active, limit: 1000 });
  if (below.length === 0) return null;
  const stored = new Set(below.map((v) => v.version));
  const served = (await ctx.store.deploys.list(fn.name, { limit: 1000 })).map((e) => e.toVersion).filter((v): v is number => v !== null && stored.has(v));
  return served.length > 0 ? Math.max(...served) : below[0]!.version;
}

/** Pause: calls answer 503 FUNCTION_PAUSED at once and every instance drains (none stay warm). */
export async function pause(ctx: ServiceContext, name: string, input: Omit<DeployInput, 'version'>): Promise<DeployResult> {
  return setStatus(ctx, name, 'pause', input);
}

/** Resume: the active version is served again; instances start on the next call. */
export async function resume(ctx: ServiceContext, name: string, input: Omit<DeployInput, 'version'>): Promise<DeployResult> {
  return setStatus(ctx, name, 'resume', input);
}

async function setStatus(ctx: ServiceContext, name: string, action: 'pause' | 'resume', input: Omit<DeployInput, 'version'>): Promise<DeployResult> {
  return ctx.locks.run(name, async () => {
    const current = await getFunction(ctx, name);
    const { function: record, entry } = await ctx.store.deploys.apply({
      function: name,
      action,
      actor: input.actor,
      ...(input.note !== undefined ? { note: input.note } : {}),
      expectedRevision: current.revision,
      keepRecords: DEPLOY_RECORDS_KEPT,
    });
    ctx.registry.set(record, ctx.registry.entrypointOf(name));
    // Mirrored into the live metrics off the request: a dead Redis must not fail a pause.
    ctx.metrics.setPaused(name, action === 'pause').catch((err: unknown) => ctx.log(`controlplane: could not mirror ${action} of ${name} into metrics: ${String(err)}`));
    if (action === 'pause') {
      ctx.pool.endConnections?.(name, 'FUNCTION_PAUSED');
      ctx.pool.drain(name);
    }
    // Resume: un-retire the active version's (empty) group so its minWarm applies again.
    else if (record.activeVersion !== null) ctx.pool.drain(name, String(record.activeVersion));
    keepWarm(ctx, name);
    ctx.bus.publish({ kind: 'function', name });
    await ctx.cron?.refresh(name);
    return { record, entry };
  });
}
