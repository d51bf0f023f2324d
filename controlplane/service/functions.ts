/**
 * Functions: create, change settings, delete, rotate invoke tokens. Each change goes to the store
 * first, then — in the same turn — to the registry and token index the gateway reads, and the
 * pool drains instances whose settings went stale.
 */
import { ceilingIssues, envSizeProblem, nameOfKey, PlatformError } from '../../protocol/index.js';
import { runtimeEnv } from '../registry/store-registry.js';
import { isStoreError, REVOKED_TOKENS_KEPT, type DeleteOutcome, type FunctionRecord, type FunctionSettings } from '../store/index.js';
import type { ServiceContext } from './context.js';
import { dropFunction } from './function-drop.js';
import { startCheck } from './start-check.js';
import { keepWarm } from './warm.js';

export interface FunctionChange {
  record: FunctionRecord;
  /** The clear invoke token when this change issued one (shown once). */
  invokeToken: string | null;
  /** When that invoke token ends (its issuer's expiry, ADR 0074); null: never, or none issued. */
  invokeTokenExpiresAt: number | null;
}

/**
 * Who makes a change that may issue an invoke token: its expiry, if the token making the call has
 * one. A credential never outlives the token that made it (ADR 0069, 0074).
 */
export interface Issuer {
  expiresAt: number | null;
}

const DURABLE: Issuer = { expiresAt: null };

export async function getFunction(ctx: ServiceContext, name: string): Promise<FunctionRecord> {
  const record = await ctx.store.functions.get(name);
  // Named as its caller named it (the short name): a key's workspace part is the caller's own.
  if (record === null) throw new PlatformError('FUNCTION_NOT_FOUND', `no function named "${nameOfKey(name)}"`, { field: 'name', function: nameOfKey(name) });
  return record;
}

/** The platform's ceilings on a function's limits (the manifest schema has only static bounds). */
function checkCeilings(ctx: ServiceContext, settings: Partial<FunctionSettings>): void {
  const limits = settings.limits;
  if (limits === undefined) return;
  // The rule and its words are protocol/limit-ceilings.ts's: `validate` and POST /validate say the same.
  const [first] = ceilingIssues(limits, ctx.settings);
  if (first === undefined) return;
  const issue = { code: 'INVALID_FIELD', field: first.field, message: first.message };
  throw new PlatformError('INVALID_FIELD', `${issue.field}: ${issue.message}`, { field: issue.field, limit: first.limit, issues: [issue] });
}

/** A function's env and secrets together are bounded (protocol/env-size.ts): INVALID_FIELD `env` (or `secrets`) past it. */
function checkEnvSize(env: Readonly<Record<string, string>>, secrets: Readonly<Record<string, string>>, changed: 'env' | 'secrets'): void {
  const problem = envSizeProblem(env, secrets);
  if (problem === null) return;
  throw new PlatformError('INVALID_FIELD', `${changed}: ${problem}`, { field: changed, issues: [{ code: 'INVALID_FIELD', field: changed, message: problem }] });
}

export async function createFunction(ctx: ServiceContext, name: string, settings: FunctionSettings, issuer: Issuer = DURABLE): Promise<FunctionChange> {
  checkCeilings(ctx, settings);
  checkEnvSize(settings.env, settings.secrets ?? {}, settings.secrets !== undefined && Object.keys(settings.secrets).length > 0 ? 'secrets' : 'env');
  return ctx.locks.run(name, async () => {
    // A namesake whose delete's cleanup failed: finished first, its metrics and async runs too (ADR 0156).
    if ((await ctx.store.functions.finishDelete?.(name)) === true) await forgetFunction(ctx, name);
    const record = await ctx.store.functions.create(name, settings);
    // Leftovers of a deleted namesake (e.g. a crash during its delete) must not pass for version 1.
    await ctx.code.removeFunction(name);
    const invokeToken = settings.auth === 'token' ? await issueInvokeToken(ctx, name, issuer) : null;
    ctx.registry.set(record, null);
    announce(ctx, name, invokeToken !== null);
    return { record, invokeToken, invokeTokenExpiresAt: invokeToken === null ? null : issuer.expiresAt };
  });
}

/**
 * Changes settings. `change` gets the current record (inside the function's lock) and returns the
 * patch, so a merge (limits, secrets and env values by name) is computed from the state it applies
 * to. When another process changed the function between this read and the store's write
 * (REVISION_CONFLICT), `change` runs again on the new state, its preconditions (`ifMatch`) checked
 * again: a change by name is not refused for another one made elsewhere (ADR 0159).
 */
export async function updateFunction(ctx: ServiceContext, name: string, change: (current: FunctionRecord) => Partial<FunctionSettings>, issuer: Issuer = DURABLE, check = false): Promise<FunctionChange> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await updateOnce(ctx, name, change, issuer, check);
    } catch (err) {
      if (attempt >= UPDATE_ATTEMPTS || !isStoreError(err, 'REVISION_CONFLICT')) throw err;
    }
  }
}

/** Reads, and so writes, a function's settings at most this often when other processes keep changing it. */
const UPDATE_ATTEMPTS = 3;

async function updateOnce(ctx: ServiceContext, name: string, change: (current: FunctionRecord) => Partial<FunctionSettings>, issuer: Issuer, check: boolean): Promise<FunctionChange> {
  return ctx.locks.run(name, async () => {
    const current = await getFunction(ctx, name);
    const patch = change(current);
    checkCeilings(ctx, patch);
    if (patch.env !== undefined || patch.secrets !== undefined) checkEnvSize(patch.env ?? current.env, patch.secrets ?? current.secrets, patch.secrets !== undefined ? 'secrets' : 'env');
    // With `check`: the serving version must start with what its instances would get (a value that
    // breaks its lifespan took the live function down, where `deploy` refuses the same: apps round).
    const undo = check ? await checkSettings(ctx, current, { ...current, ...patch }) : () => {};
    const record = await ctx.store.functions.update(name, current.revision, patch).catch((err: unknown) => {
      undo();
      throw err;
    });
    const needsToken = record.auth === 'token' && ctx.tokens.list('invoke', name).length === 0;
    const invokeToken = needsToken ? await issueInvokeToken(ctx, name, issuer) : null;
    ctx.registry.set(record, ctx.registry.entrypointOf(name));
    if (instancesStale(current, record)) {
      // Warm instances carry the old env/limits: they finish their calls and go; new calls get new
      // instances. The second call keeps the active version's group live (its minWarm applies).
      ctx.pool.drain(name);
      if (record.activeVersion !== null && record.status === 'active') ctx.pool.drain(name, String(record.activeVersion));
    }
    keepWarm(ctx, name); // a raised minWarm, or new instances for new settings
    announce(ctx, name, invokeToken !== null);
    return { record, invokeToken, invokeTokenExpiresAt: invokeToken === null ? null : issuer.expiresAt };
  });
}

/**
 * Deletes the function. Once the store has it gone (production: its tombstone is written), it
 * stops serving here at once and the other processes are told, even when the store's cleanup of
 * its data failed after that: the cleanup is then pending, and a later DELETE of the name, a
 * create of it or the sweep (`finishPendingDeletes`) finishes it (ADR 0156). Before, such a
 * failure answered 500 before any of this ran: the function was 404 for the API but kept serving,
 * and a second DELETE was 404 too, so nothing ever finished it (soak round, finding 1).
 */
export async function deleteFunction(ctx: ServiceContext, name: string, expect: DeletePreconditions = {}): Promise<void> {
  await ctx.locks.run(name, async () => {
    const current = await ctx.store.functions.get(name);
    if (current === null) {
      // Gone already; its delete's cleanup may be pending (it failed): this one finishes it.
      if (!((await ctx.store.functions.finishDelete?.(name)) ?? false)) await getFunction(ctx, name);
      await forgetFunction(ctx, name);
      return;
    }
    await checkDeletePreconditions(ctx, current, expect);
    // Conditional on the revision checked: another process's change (or delete and re-create) in
    // between is REVISION_CONFLICT from the store, never a delete of what it made; and on no version
    // when asked, also one uploaded through another process since the check above (ADR 0181).
    let outcome: DeleteOutcome;
    try {
      outcome = await ctx.store.functions.delete(name, current.revision, { ifNoVersions: expect.ifNoVersions === true });
    } catch (err) {
      if (!isStoreError(err, 'FUNCTION_CHANGED')) throw err;
      // The store took its delete back (production: a revision after its tombstone): re-read everywhere.
      announce(ctx, name, false);
      throw functionChanged((await ctx.store.functions.get(name)) ?? current, ['it has a version'], true);
    }
    const { cleanupError } = outcome;
    if (cleanupError !== null) ctx.log(`controlplane: function ${name} is deleted, but the removal of its data failed (a later DELETE, a create of the name or the sweep finishes it): ${String(cleanupError)}`);
    await forgetFunction(ctx, name);
  });
}

/** What a conditional delete expects of the function (ADR 0181); each absent one is not checked. */
export interface DeletePreconditions {
  ifRevision?: number | undefined;
  ifCreatedAt?: number | undefined;
  ifNoVersions?: boolean | undefined;
}

/**
 * 409 FUNCTION_CHANGED unless `current` is the function the caller read: at its revision, created
 * when it was, without a version. A client that checked the function and then deleted it (the
 * CLI's undo of a refused first deploy, ADR 0170) deleted a teammate's create or deploy of the same
 * name made in between (ADR 0181).
 */
async function checkDeletePreconditions(ctx: ServiceContext, current: FunctionRecord, expect: DeletePreconditions): Promise<void> {
  const differs: string[] = [];
  if (expect.ifRevision !== undefined && current.revision !== expect.ifRevision) differs.push(`it is at revision ${current.revision}, not ${expect.ifRevision}`);
  if (expect.ifCreatedAt !== undefined && current.createdAt !== expect.ifCreatedAt) differs.push(`it was created at ${new Date(current.createdAt).toISOString()}, not ${new Date(expect.ifCreatedAt).toISOString()} (deleted and created again)`);
  const versions = expect.ifNoVersions === true ? (await ctx.store.versions.list(current.name, { limit: 1 })).length : 0;
  if (versions > 0) differs.push('it has a version');
  if (differs.length === 0) return;
  throw functionChanged(current, differs, versions > 0);
}

/** 409 FUNCTION_CHANGED: the function is not as the deleting caller read it (`differs`: how). */
function functionChanged(current: FunctionRecord, differs: string[], hasVersions: boolean): PlatformError {
  const fn = nameOfKey(current.name);
  return new PlatformError('FUNCTION_CHANGED', `the function "${fn}" is not as you read it (${differs.join('; ')}); nothing was deleted`, {
    function: fn, revision: current.revision, createdAt: current.createdAt, hasVersions: hasVersions || current.activeVersion !== null,
  });
}

/** How often the platform finishes deletes whose store cleanup failed (and once at start). */
export const PENDING_DELETES_SWEEP_MS = 5 * 60_000;

/**
 * Finishes every delete whose store cleanup is pending (ADR 0156), each under its function's
 * lock; the number finished. A failure leaves the rest for the next sweep.
 */
export async function finishPendingDeletes(ctx: ServiceContext): Promise<number> {
  const names = (await ctx.store.functions.pendingDeletes?.()) ?? [];
  let finished = 0;
  for (const name of names) {
    await ctx.locks.run(name, async () => {
      if (!((await ctx.store.functions.finishDelete?.(name)) ?? false)) return;
      await forgetFunction(ctx, name);
      finished++;
    });
  }
  return finished;
}

/**
 * What this process holds of a deleted function goes (it stops serving before the first await),
 * the other processes are told (`gone`: they stop it before their store read), and its shared
 * series, rollups and async listing are dropped.
 */
async function forgetFunction(ctx: ServiceContext, name: string): Promise<void> {
  const dropped = dropFunction(ctx, name);
  ctx.bus.publish({ kind: 'function', name, gone: true });
  // Its /metrics series too, held or not: a function created later under this key starts from zero (red team 6).
  ctx.forgetSeries(name);
  ctx.metrics.forget(name).catch((err: unknown) => ctx.log(`controlplane: could not forget the metrics of ${name}: ${String(err)}`));
  // The 7d/30d rollups too: a function created later under this key must not show these calls (red team 5).
  ctx.store.usageHistory?.forget(name).catch((err: unknown) => ctx.log(`controlplane: could not forget the usage rollups of ${name}: ${String(err)}`));
  // Its async runs leave the listing by state (ADR 0068); each run's own record expires with the retention.
  ctx.async?.runs.forgetFunction(name).catch((err: unknown) => ctx.log(`controlplane: could not drop the async run listing of ${name}: ${String(err)}`));
  await dropped;
  // Its dependency sites, unless another version uses them.
  ctx.depsCollector.soon();
}

/** Issues a new invoke token for the function (ending with `issuer`'s); every older one stops working at once. */
export async function rotateInvokeToken(ctx: ServiceContext, name: string, issuer: Issuer = DURABLE): Promise<string> {
  return ctx.locks.run(name, async () => {
    await getFunction(ctx, name);
    const secret = await issueInvokeToken(ctx, name, issuer);
    ctx.bus.publish({ kind: 'tokens' });
    return secret;
  });
}

/**
 * A new invoke token with the issuer's expiry (red team 10: before, an expiring deployer token
 * rotated in a token without one, which kept invoking the function after its issuer's end). Not
 * the store's `rotate`, which copies the old token's expiry: a durable token rotating an expiring
 * one's must get a durable one. Then every older invoke token of the function is revoked, read
 * after the new one exists: of two rotations at once (two processes), the newer token stays.
 */
async function issueInvokeToken(ctx: ServiceContext, name: string, issuer: Issuer): Promise<string> {
  const issued = await ctx.store.tokens.issue({ kind: 'invoke', scope: name, label: name, expiresAt: issuer.expiresAt });
  const mine = issued.record;
  const older = (await ctx.store.tokens.list({ kind: 'invoke', scope: name }))
    .filter((t) => t.createdAt < mine.createdAt || (t.createdAt === mine.createdAt && t.id < mine.id));
  for (const old of older) {
    try {
      await ctx.store.tokens.revoke(old.id, { keepRevoked: REVOKED_TOKENS_KEPT });
    } catch (err) {
      // Revoked meanwhile (another process's rotation): already what is wanted.
      if (!isStoreError(err, 'TOKEN_NOT_FOUND')) throw err;
    }
    ctx.tokens.remove(old.id);
  }
  ctx.tokens.add(mine);
  return issued.secret;
}

/** Tells the other platform processes (production) to re-read the function, and the tokens if they changed. */
function announce(ctx: ServiceContext, name: string, tokensChanged: boolean): void {
  ctx.bus.publish({ kind: 'function', name });
  if (tokensChanged) ctx.bus.publish({ kind: 'tokens' });
}

/**
 * Starts the active version with `candidate`'s env, secrets and limits when they differ from what
 * its instances have; DEPLOY_START_FAILED when it does not load (nothing changed then). Nothing to
 * start (no active version, paused) or no such difference: no check.
 */
async function checkSettings(ctx: ServiceContext, current: FunctionRecord, candidate: FunctionRecord): Promise<() => void> {
  const none = (): void => {};
  if (current.activeVersion === null || current.status !== 'active' || !instancesStale(current, candidate)) return none;
  const version = await ctx.store.versions.get(current.name, current.activeVersion);
  if (version === null) return none;
  return (await startCheck(ctx, candidate, version, { settings: true })).undo;
}

/**
 * Settings a running instance was specialized with (the rest, e.g. maxInstances, apply live):
 * limits and the env it got (`env` with `secrets` over it), so a changed secret reaches the next
 * cold start without a redeploy.
 */
export function instancesStale(before: FunctionRecord, after: FunctionRecord): boolean {
  const a = before.limits;
  const b = after.limits;
  return a.memoryBytes !== b.memoryBytes || a.timeoutMs !== b.timeoutMs || a.concurrency !== b.concurrency
    || JSON.stringify(sorted(runtimeEnv(before))) !== JSON.stringify(sorted(runtimeEnv(after)));
}

function sorted(env: Record<string, string>): [string, string][] {
  return Object.entries(env).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
}
