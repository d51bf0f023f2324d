/**
 * Cron triggers wired to the functions (docs/triggers.md): the scheduler holds the cron triggers
 * of every active function's active version manifest (deployed, not paused). `refresh` re-reads
 * one function from the store after a deploy, rollback, pause, resume or delete (here or, through
 * the config bus, elsewhere); ticks are claimed through the TickLock and queued by `fire`.
 */
import { PlatformError, triggersSchema } from '../../../protocol/index.js';
import type { Store } from '../../store/index.js';
import { missedTickRecord, outageRecord } from './missed.js';
import { CronScheduler, cronIdempotencyKey, DEFAULT_MAX_LATE_MS, isTriggerError, parseSchedule, type CronMetrics, type CronTrigger, type FireResult, type MissedTicks, type TickLock, type TickTarget, type TriggerRef } from './index.js';

/** Queues one tick as an async run (the body: the trigger's payload as JSON, or empty) at `at`; `paused` when it skipped it. */
export type FireTick = (fn: string, triggerId: string, tickMs: number, body: Uint8Array, idempotencyKey: string, at: TickTarget) => Promise<FireResult | void>;

const ROOT: TickTarget = { method: 'POST', path: '/' };

/** The cron triggers of a stored (raw) manifest; [] when it has none or they do not parse. */
export function cronTriggersOf(fn: string, manifest: unknown): CronTrigger[] {
  const raw = typeof manifest === 'object' && manifest !== null ? (manifest as { triggers?: unknown }).triggers : undefined;
  if (raw === undefined) return [];
  const parsed = triggersSchema.safeParse(raw);
  if (!parsed.success) return [];
  return parsed.data.flatMap((t) => t.type !== 'cron' ? [] : [{
    function: fn,
    triggerId: t.id,
    expression: t.schedule,
    ...(t.timezone !== undefined ? { timezone: t.timezone } : {}),
    payload: t.payload === undefined ? new Uint8Array(0) : Buffer.from(JSON.stringify(t.payload)),
    at: { method: t.method, path: t.path },
  }]);
}

/** Upload check: a manifest's triggers must parse and every schedule must be valid (400 INVALID_FIELD naming the field). */
export function checkManifestTriggers(fn: string, manifest: unknown): void {
  const raw = typeof manifest === 'object' && manifest !== null ? (manifest as { triggers?: unknown }).triggers : undefined;
  if (raw === undefined) return;
  const parsed = triggersSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    const field = `manifest.triggers${path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`;
    throw new PlatformError('INVALID_FIELD', `${field}: ${issue?.message ?? 'invalid'}`, { field });
  }
  for (const [i, trigger] of cronTriggersOf(fn, manifest).entries()) {
    try {
      parseSchedule(trigger);
    } catch (err) {
      if (!isTriggerError(err)) throw err;
      const which = err.details['field'] === 'timezone' ? 'timezone' : err.details['field'] === 'triggerId' ? 'id' : 'schedule';
      const index = parsed.data.findIndex((t) => t.type === 'cron' && t.id === trigger.triggerId);
      const field = `manifest.triggers[${index < 0 ? i : index}].${which}`;
      throw new PlatformError('INVALID_FIELD', `${field}: ${err.message} (${err.code})`, { field, cause: err.code });
    }
  }
}

const signature = (t: CronTrigger): string => JSON.stringify([t.expression, t.timezone ?? null, Buffer.from(t.payload ?? []).toString('base64'), t.at ?? ROOT]);

/** What reports a fault that repeats (controlplane/fault-log.ts FaultLog). */
export interface RepeatedFaults {
  report(kind: string, line: string, subject?: string): void;
}

/**
 * How a skipped tick is told: once per kind of failure an interval with `faults` (a trigger firing
 * every second, its tick lock in a Redis out of memory, logged a line a second per trigger:
 * reliability round 10), else a line each.
 */
export function skippedTicks(log: (line: string) => void, faults?: RepeatedFaults): (err: unknown, ref: TriggerRef, tickMs: number) => void {
  return (err, ref, tickMs) => {
    const line = `cron: tick ${new Date(tickMs).toISOString()} of ${ref.function}/${ref.triggerId} skipped: ${(err as Error).message}`;
    if (faults === undefined) log(line);
    else faults.report(`cron: ticks skipped: ${(err as Error).message}`, line, `${ref.function}/${ref.triggerId}`);
  };
}

export class CronTriggers {
  readonly #scheduler: CronScheduler;
  /** function → triggerId → signature of what is set. */
  readonly #held = new Map<string, Map<string, string>>();
  #chain: Promise<void> = Promise.resolve();

  /** `faults`: where a skipped tick is told (one line per kind of failure an interval, controlplane/fault-log.ts); default `log`, one line each. */
  constructor(private readonly store: Store, private readonly lock: TickLock, fire: FireTick, private readonly log: (line: string) => void, metrics?: CronMetrics, faults?: RepeatedFaults, private readonly maxLateMs = DEFAULT_MAX_LATE_MS) {
    this.#scheduler = new CronScheduler({
      lock,
      maxLateMs,
      ...(metrics !== undefined ? { metrics } : {}),
      fire: (t, tickMs) => fire(t.function, t.triggerId, tickMs, t.payload, cronIdempotencyKey(t, tickMs), t.at ?? ROOT),
      missed: (t, tickMs) => this.#recordMissed(t, tickMs),
      outage: (t, ticks) => this.#recordOutage(t, ticks),
      onError: skippedTicks(log, faults),
    });
  }

  /**
   * A tick recovery gave up on, kept as a failed run record (`CRON_TICK_MISSED`) of its function as
   * it is now (its active version, its incarnation: ADR 0190), so `runs` and the console show it.
   */
  async #recordMissed(t: CronTrigger, tickMs: number): Promise<void> {
    const record = await this.store.functions.get(t.function);
    if (record === null) return; // deleted since: nobody to tell
    const run = missedTickRecord(t.function, t.triggerId, tickMs, String(record.activeVersion ?? ''), t.at ?? ROOT, this.maxLateMs);
    await this.store.runs.record([run], new Map([[t.function, record.createdAt]]));
    this.log(`cron: tick ${new Date(tickMs).toISOString()} of ${t.function}/${t.triggerId} missed: claimed by a process that stopped before queueing it, found past maxLateMs; recorded as run ${run.runId} (CRON_TICK_MISSED)`);
  }

  /** The ticks of an outage (nobody claimed them), kept as one CRON_TICK_MISSED run record per trigger (ADR 0238). */
  async #recordOutage(t: CronTrigger, ticks: MissedTicks): Promise<void> {
    const record = await this.store.functions.get(t.function);
    if (record === null) return;
    const run = outageRecord(t.function, t.triggerId, ticks, String(record.activeVersion ?? ''), t.at ?? ROOT);
    await this.store.runs.record([run], new Map([[t.function, record.createdAt]]));
    this.log(`cron: ${ticks.count}${ticks.more ? '+' : ''} ticks of ${t.function}/${t.triggerId} from ${new Date(ticks.firstMs).toISOString()} to ${new Date(ticks.lastMs).toISOString()} missed: ${ticks.cause === 'late' ? 'the timer woke after them (a wall-clock step forward, a stopped process)' : 'no process ran to claim them'}; recorded as run ${run.runId} (CRON_TICK_MISSED)`);
  }

  /**
   * What `listTriggers` shows of a trigger's missed ticks (ADR 0238): the last one recorded and how
   * many since its last fired tick; null when the lock keeps no note (never claimed, or a lock
   * without notes) or cannot answer now (the listing still answers).
   */
  async missedOf(ref: TriggerRef): Promise<{ lastAt: number | null; sinceLastFired: number } | null> {
    try {
      const note = await this.lock.note?.(ref);
      return note ? { lastAt: note.lastMissedMs, sinceLastFired: note.missedSinceFired } : null;
    } catch {
      return null;
    }
  }

  /** Re-reads one function's triggers from the store; never rejects (failures are logged). */
  refresh(name: string): Promise<void> {
    return this.#serial(`refresh the cron triggers of ${name}`, () => this.#refresh(name));
  }

  /**
   * A deleted function's triggers go, without a store read (its delete's cleanup may be what failed:
   * ADR 0156), and the tick lock's notes and claims of them: a function created again with the name
   * had the old one's missed ticks in its listing, and its first start counted the old one's last
   * tick on as missed (loose ends round 14).
   */
  forget(name: string): Promise<void> {
    return this.#serial(`drop the cron triggers of ${name}`, async () => {
      await this.#apply(name, []);
      await this.lock.forgetFunction?.(name);
    });
  }

  /** Every function, and none of the ones that are gone (after start and a bus resync). */
  refreshAll(): Promise<void> {
    return this.#serial('refresh the cron triggers', async () => {
      const names = new Set((await this.store.functions.list()).map((f) => f.name));
      for (const name of [...this.#held.keys()]) if (!names.has(name)) await this.#apply(name, []);
      for (const name of names) await this.#refresh(name);
    });
  }

  start(): void {
    this.#scheduler.start();
  }

  /** Stops firing (ticks being queued finish). The lock stays open: its owner closes it. */
  stop(): Promise<void> {
    return this.#scheduler.stop();
  }

  #serial(what: string, step: () => Promise<void>): Promise<void> {
    this.#chain = this.#chain.then(step).catch((err: unknown) => this.log(`cron: could not ${what}: ${String(err)}`));
    return this.#chain;
  }

  async #refresh(name: string): Promise<void> {
    const record = await this.store.functions.get(name);
    if (record === null || record.status === 'paused' || record.activeVersion === null) return this.#apply(name, []);
    const version = await this.store.versions.get(name, record.activeVersion);
    await this.#apply(name, version === null ? [] : cronTriggersOf(name, version.manifest));
  }

  /**
   * Sets what changed, one trigger a turn of the event loop: arming one asks the cron library for
   * its next tick (~15 ms a new schedule, a 29 February one more), and a deploy of 32 held every
   * tenant's calls for all of them at once (loose ends 1).
   */
  async #apply(name: string, triggers: CronTrigger[]): Promise<void> {
    const held = this.#held.get(name) ?? new Map<string, string>();
    const wanted = new Set(triggers.map((t) => t.triggerId));
    for (const id of held.keys()) {
      if (wanted.has(id)) continue;
      this.#scheduler.remove({ function: name, triggerId: id });
      held.delete(id);
    }
    for (const t of triggers) {
      const sig = signature(t);
      if (held.get(t.triggerId) === sig) continue; // unchanged: keep its timer
      try {
        this.#scheduler.set(t);
        held.set(t.triggerId, sig);
      } catch (err) {
        this.log(`cron: trigger ${t.triggerId} of ${name} not scheduled: ${(err as Error).message}`);
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (held.size > 0) this.#held.set(name, held);
    else this.#held.delete(name);
  }
}
