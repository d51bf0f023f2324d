/**
 * Fires cron triggers. Every scheduler process holds the same triggers and wakes for the same
 * ticks; before firing it claims the tick through the TickLock, so each tick fires exactly once
 * across processes (as long as the lock's store answers). Ticks missed while no scheduler ran,
 * or while this one stalled, are skipped, not caught up: see docs/triggers.md and ADR 0008; those
 * of an outage are counted at the next start from the lock's note and told as one (ADR 0238), as
 * are those a late wake skipped (a wall-clock step forward, a stopped process: chaos round 9).
 */
import { DEFAULT_TICK_LOCK_TTL_MS } from './locks.js';
import { parseSchedule, type Schedule } from './schedule.js';
import type { CronMetrics, CronTickOutcome, CronTrigger, MissedTicks, TickLock, TickNote, TriggerRef } from './types.js';

/**
 * The longest one timer sleeps before the wall clock is read again. Timers run on the monotonic
 * clock and ticks are wall-clock times: a wait computed once (hours to a nightly tick) did not see
 * the wall clock step forward meanwhile (an NTP step, `date -s`), woke that much after its tick
 * and skipped it as late, though the step had not crossed it (reliability round 7). Read every
 * 30 s, such a tick fires at most 30 s after its time, within `maxLateMs`.
 */
const RECHECK_MS = 30_000;
/** A trigger whose next tick took longer than this to find (the cron library's walk) lets other work run before the start arms the next. */
const SLOW_ARM_MS = 2;
/** At most this many lost ticks of one trigger are fired again at a start (an every-second trigger has 60 in `maxLateMs`). */
const MAX_RECOVERED = 60;
/**
 * A trigger set while running (a deploy, a config reload: every process of a cluster at once) fires
 * again only the lost ticks older than this: a live claimer settles its tick within it, and firing
 * its tick again would count it twice (the queue keeps one run by its idempotency key).
 */
const LIVE_CLAIM_GRACE_MS = 10_000;
/**
 * At most this many of one trigger's older ticks (past `maxLateMs`, within the claims' lifetime)
 * are asked after at a start, to be told as missed: an every-second trigger has 540 in 10 minutes.
 */
const MAX_MISSED_ASKED = 600;
/** A tick whose timer woke later than this is skipped, by default. */
export const DEFAULT_MAX_LATE_MS = 60_000;

export type FiredTrigger = Schedule['trigger'];

/** What `fire` did: queued the tick's run, or skipped it because the function is paused, or its limits refused it. */
export type FireResult = 'fired' | 'paused' | 'limited';

const NO_METRICS: CronMetrics = { tick() {} };

export interface CronSchedulerOptions {
  lock: TickLock;
  /** Starts the tick's run (normally `enqueueRun` with `cronJob`); awaited, errors go to `onError`. Nothing returned means `fired`. */
  fire(trigger: FiredTrigger, tickMs: number): Promise<FireResult | void> | FireResult | void;
  /** A failed lock or fire. The tick is not retried by this scheduler. */
  onError?(err: unknown, ref: TriggerRef, tickMs: number): void;
  /** A tick whose timer woke more than this late (a stalled process) is skipped. Default 60 000. */
  maxLateMs?: number;
  now?: () => number;
  /** Where every tick's outcome is counted (default: nowhere). */
  metrics?: CronMetrics;
  /**
   * A tick recovery gave up on (ADR 0264 amended): claimed and never settled, its claimer stopped,
   * and older than `maxLateMs` when a scheduler started, so not fired. Its claim is settled once this
   * resolves (told once); a rejection leaves it to the next start. Default: not told.
   */
  missed?(trigger: FiredTrigger, tickMs: number): Promise<void> | void;
  /**
   * Ticks nobody claimed (the platform was down), found by a start from the lock's lasting note
   * (ADR 0238): told once per trigger and start as one summary, after the note counted them (a
   * rejection goes to `onError`; the note keeps the count). Default: not told, not counted.
   */
  outage?(trigger: FiredTrigger, ticks: MissedTicks): Promise<void> | void;
  /** How long the lock remembers claims (default DEFAULT_TICK_LOCK_TTL_MS): how far back missed ticks are looked for. */
  claimTtlMs?: number;
}

interface Entry {
  schedule: Schedule;
  timer: NodeJS.Timeout | null;
}

const keyOf = (ref: TriggerRef): string => `${ref.function}\u0000${ref.triggerId}`;

/** `step`, run the first time only. */
const once = (step: () => void): (() => void) => {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    step();
  };
};

export class CronScheduler {
  readonly #options: CronSchedulerOptions;
  readonly #now: () => number;
  readonly #maxLateMs: number;
  readonly #metrics: CronMetrics;
  readonly #entries = new Map<string, Entry>();
  readonly #inFlight = new Set<Promise<void>>();
  #running = false;
  /** Which start is arming (a stop and a start again end the earlier one's arming). */
  #starts = 0;
  /** Waits a stop ends at once (`#pause`). */
  readonly #sleepers = new Set<() => void>();

  constructor(options: CronSchedulerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#maxLateMs = options.maxLateMs ?? DEFAULT_MAX_LATE_MS;
    this.#metrics = options.metrics ?? NO_METRICS;
  }

  /** Adds a trigger or replaces the one with the same function and id. Throws a TriggerError for a bad one. */
  set(trigger: CronTrigger): void {
    const schedule = parseSchedule(trigger, this.#now());
    this.#drop(keyOf(trigger));
    const entry: Entry = { schedule, timer: null };
    this.#entries.set(keyOf(trigger), entry);
    if (!this.#running) return;
    const now = this.#now();
    // Not scheduled until now (new, resumed, redeployed): its ticks before are no outage's at the next start.
    const ref = { function: trigger.function, triggerId: trigger.triggerId };
    this.#track((async () => void await this.#options.lock.noteArmed?.(ref, now).catch((err: unknown) => this.#options.onError?.(err, ref, now)))());
    this.#recover(entry, now, LIVE_CLAIM_GRACE_MS);
    this.#arm(entry, now);
  }

  /** Stops a trigger; false when it was not set. A tick already firing completes. */
  remove(ref: TriggerRef): boolean {
    return this.#drop(keyOf(ref));
  }

  /** Makes `triggers` the whole set. All are checked first: one bad trigger changes nothing. */
  replaceAll(triggers: readonly CronTrigger[]): void {
    const now = this.#now();
    for (const t of triggers) parseSchedule(t, now);
    const wanted = new Set(triggers.map(keyOf));
    for (const key of [...this.#entries.keys()]) if (!wanted.has(key)) this.#drop(key);
    for (const t of triggers) this.set(t);
  }

  list(): FiredTrigger[] {
    return [...this.#entries.values()].map((e) => e.schedule.trigger);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#armAll(this.#now(), ++this.#starts);
  }

  /**
   * Arms every trigger set, from `now` (the start's): one whose tick was slow to find lets other
   * work run before the next. Near a clock change a tick was the cron library's walk (5-40 ms, ADR
   * 0104; found on the calendar since loose ends round 2, this stays a bound), and a platform's start armed every tenant's triggers in one turn of the event loop:
   * 64 such held every call 1-2 s at each start (red team round 37). Stops when stopped or
   * started again; a trigger set meanwhile was armed by `set`.
   */
  async #armAll(now: number, start: number): Promise<void> {
    for (const entry of [...this.#entries.values()]) {
      if (!this.#running || start !== this.#starts) return;
      if (entry.timer !== null || this.#entries.get(keyOf(entry.schedule.trigger)) !== entry) continue;
      const asked = performance.now();
      // Armed once its outage is counted (at once when there is none to count): a claim of its own
      // before moved the note the count's compare-and-set expects, and the outage went untold (an
      // every-second trigger whose ticks took longer than its second to find). A tick due meanwhile
      // fires late, within `maxLateMs`. Armed later, each in a turn of its own: finding a tick may be
      // slow (below), and these come back together.
      let later = false;
      this.#recover(entry, now, 0, true, () => {
        if (later) setImmediate(() => this.#armIfCurrent(entry, now));
        else this.#arm(entry, now);
      });
      later = true;
      if (performance.now() - asked > SLOW_ARM_MS) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Stops all timers and waits for ticks being fired. Triggers stay set; `start` resumes. */
  async stop(): Promise<void> {
    this.#running = false;
    for (const wake of [...this.#sleepers]) wake();
    for (const entry of this.#entries.values()) this.#clear(entry);
    await Promise.allSettled([...this.#inFlight]);
  }

  #drop(key: string): boolean {
    const entry = this.#entries.get(key);
    if (!entry) return false;
    this.#clear(entry);
    this.#entries.delete(key);
    return true;
  }

  #clear(entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
  }

  /** Waits for the first tick after `afterMs`. */
  #arm(entry: Entry, afterMs: number): void {
    this.#wait(entry, entry.schedule.next(afterMs));
  }

  #wait(entry: Entry, tickMs: number): void {
    const delay = Math.min(Math.max(tickMs - this.#now(), 0), RECHECK_MS);
    entry.timer = setTimeout(() => this.#wake(entry, tickMs), delay);
    entry.timer.unref(); // the server keeps the process alive, not the schedule
  }

  #wake(entry: Entry, tickMs: number): void {
    entry.timer = null;
    if (!this.#running || this.#entries.get(keyOf(entry.schedule.trigger)) !== entry) return;
    const now = this.#now();
    if (now < tickMs) {
      // A capped wait (RECHECK_MS), or a timer a millisecond early: the same tick is still the next.
      // A wall clock stepped back since the tick was computed makes an earlier tick the next: waited
      // for as it was, an every-2-seconds trigger fired nothing for the hour a step took back
      // (chaos round 1). Ticks fired before the step are not fired again: the tick lock holds them.
      return this.#wait(entry, Math.min(tickMs, entry.schedule.next(now)));
    }
    const trigger = entry.schedule.trigger;
    if (now - tickMs <= this.#maxLateMs) this.#track(this.#fire(trigger, tickMs));
    else if (!this.#late(entry, tickMs, now)) this.#count(trigger, 'skipped_late');
    // From now, not from the tick: ticks that passed while we were late are skipped.
    this.#arm(entry, Math.max(tickMs, now));
  }

  /**
   * Fires again the ticks of the last `maxLateMs` that were claimed and never settled: their
   * claimer was killed (or its enqueue failed) between the claim and the queue, and no other
   * scheduler fires a claimed tick (ADR 0264). A claimer still alive queues the same idempotency
   * key, so the queue keeps one run. Ticks nobody claimed stay skipped (the platform was down).
   */
  #recover(entry: Entry, now: number, graceMs: number, lookBack = false, counted: () => void = () => {}): void {
    const { lock } = this.#options;
    const outage = lookBack && lock.unsettled !== undefined && this.#options.outage !== undefined && lock.note !== undefined && lock.noteMissed !== undefined;
    if (!outage) counted();
    if (lock.unsettled === undefined) return;
    const since = now - this.#maxLateMs;
    const ticks: number[] = [];
    for (let t = entry.schedule.next(since - 1); t < now - graceMs && ticks.length < MAX_RECOVERED; t = entry.schedule.next(t)) ticks.push(t);
    const missed = lookBack && this.#options.missed !== undefined;
    if (ticks.length === 0 && !missed && !outage) return;
    const trigger = entry.schedule.trigger;
    this.#track((async () => {
      if (outage) await this.#outage(entry, now, once(counted));
      // At a start, older ones too, the lock still remembering their claims: told as missed, not
      // fired (ADR 0264 amended). Found a few at a time: an every-second trigger's 540 ticks took
      // the cron library ~200 ms here, which no other call should wait for.
      const old = missed ? await this.#ticksBetween(entry, now - (this.#options.claimTtlMs ?? DEFAULT_TICK_LOCK_TTL_MS), since) : [];
      if (ticks.length === 0 && old.length === 0) return;
      let lost: number[];
      try {
        lost = await lock.unsettled!(trigger, [...old, ...ticks]);
      } catch {
        return; // the lock's store cannot answer: its claims are no better known than before
      }
      for (const tickMs of lost) {
        if (!this.#running) return;
        if (tickMs < since) await this.#giveUp(trigger, tickMs);
        else await this.#queue(trigger, tickMs);
      }
    })());
  }

  /**
   * Counts the ticks nobody claimed since the lock's note last saw one (the platform was down) up to
   * LIVE_CLAIM_GRACE_MS before the start (a live process claims later ones), at most
   * MAX_MISSED_ASKED; the note takes the count first, so of two processes starting at once one
   * tells it (ADR 0238). No note: the trigger was never claimed here (new), nothing to count.
   * Past the bound the note still moves to the outage's last tick (`#lastBefore`): the ticks past the
   * 600th are not enumerated, the summary says "or more", and none is counted again at a later start.
   * The ticks of the grace itself are claimed here once it has passed (`#lateTicks`): one nobody
   * else claimed in it is missed too, told in the same summary (loose ends round 14).
   */
  async #outage(entry: Entry, now: number, counted: () => void): Promise<void> {
    const { lock } = this.#options;
    const trigger = entry.schedule.trigger;
    const ref = { function: trigger.function, triggerId: trigger.triggerId };
    try {
      const note = await lock.note!(ref);
      if (note === null) return;
      const end = now - LIVE_CLAIM_GRACE_MS;
      const ticks = await this.#ticksBetween(entry, note.lastTickMs + 1, end);
      if (!this.#running) return;
      let summary: MissedTicks | null = null;
      if (ticks.length > 0) {
        const more = ticks.length >= MAX_MISSED_ASKED;
        const lastMs = more ? this.#lastBefore(entry, ticks[ticks.length - 1]!, end) : ticks[ticks.length - 1]!;
        const found: MissedTicks = { firstMs: ticks[0]!, lastMs, count: ticks.length, more, cause: 'down' };
        if (await lock.noteMissed!(ref, found.lastMs, found.count, note.lastTickMs)) {
          for (let i = 0; i < found.count; i++) this.#count(ref, 'missed');
          summary = found;
        }
      }
      counted();
      const late = await this.#lateTicks(entry, Math.max(note.lastTickMs + 1, end), now);
      if (late.length > 0) {
        const lastMs = late[late.length - 1]!;
        await lock.noteMissed!(ref, lastMs, late.length);
        for (let i = 0; i < late.length; i++) this.#count(ref, 'missed');
        summary = summary === null ? { firstMs: late[0]!, lastMs, count: late.length, more: false, cause: 'down' } : { ...summary, lastMs, count: summary.count + late.length };
      }
      if (summary !== null) await this.#options.outage!(trigger, summary);
    } catch (err) {
      this.#options.onError?.(err, ref, now);
    } finally {
      counted(); // no note, one that could not be read, a stop: armed all the same (if still wanted)
    }
  }

  /**
   * A timer that woke more than `maxLateMs` after its tick: the wall clock stepped forward past it
   * (NTP, `date -s`, a VM resumed), or the process or its machine was stopped. The ticks from it to
   * now are skipped (no catch-up burst, ADR 0008) and told as one summary, as an outage's are
   * (chaos round 9: they passed without a trace while the process ran; a restart found nothing to
   * tell, the note had not moved). Ticks another process of a cluster claimed meanwhile are before
   * the note's last and not counted; those of the last LIVE_CLAIM_GRACE_MS are left to such a
   * process, as at a start (the tick waited for is always counted). False: the lock keeps no note or nobody is told (counted as
   * `skipped_late`, as before).
   */
  #late(entry: Entry, tickMs: number, now: number): boolean {
    const { lock } = this.#options;
    if (this.#options.outage === undefined || lock.note === undefined || lock.noteMissed === undefined) return false;
    this.#track(this.#tellMissed(entry, now, (note) => Math.max(tickMs, note === null ? tickMs : note.lastTickMs + 1), Math.max(tickMs + 1, now - LIVE_CLAIM_GRACE_MS), 'late'));
    return true;
  }

  /** Tells the ticks from `fromOf(note)` to before `to` as one summary, once across processes: the note takes the count first (compare-and-set on its last tick). */
  async #tellMissed(entry: Entry, now: number, fromOf: (note: TickNote | null) => number | null, to: number, cause: MissedTicks['cause']): Promise<void> {
    const { lock } = this.#options;
    const trigger = entry.schedule.trigger;
    const ref = { function: trigger.function, triggerId: trigger.triggerId };
    try {
      const note = await lock.note!(ref);
      const from = fromOf(note);
      if (from === null) return;
      const ticks = await this.#ticksBetween(entry, from, to);
      if (ticks.length === 0 || !this.#running) return;
      const summary: MissedTicks = { firstMs: ticks[0]!, lastMs: ticks[ticks.length - 1]!, count: ticks.length, more: ticks.length >= MAX_MISSED_ASKED, cause };
      if (!await lock.noteMissed!(ref, summary.lastMs, summary.count, note?.lastTickMs)) return;
      for (let i = 0; i < summary.count; i++) this.#count(ref, 'missed');
      await this.#options.outage!(trigger, summary);
    } catch (err) {
      this.#options.onError?.(err, ref, now);
    }
  }

  /** Arms `entry` from `now` unless it was armed meanwhile (a start again), dropped, or the scheduler stopped. */
  #armIfCurrent(entry: Entry, now: number): void {
    if (this.#running && entry.timer === null && this.#entries.get(keyOf(entry.schedule.trigger)) === entry) this.#arm(entry, now);
  }

  /**
   * Of the ticks from `from` to before `to` (the start's grace, at most its length of them), the ones
   * nobody claimed by the time the grace had passed after the last of them: claimed (and settled)
   * here then, so a process that stalled longer does not fire one this start counts as missed, and
   * two starting processes count each once. None when the scheduler stops first.
   */
  async #lateTicks(entry: Entry, from: number, to: number): Promise<number[]> {
    const ticks = await this.#ticksBetween(entry, from, to);
    if (ticks.length === 0) return [];
    await this.#pause(ticks[ticks.length - 1]! + LIVE_CLAIM_GRACE_MS - this.#now());
    const trigger = entry.schedule.trigger;
    const ref = { function: trigger.function, triggerId: trigger.triggerId };
    const missed: number[] = [];
    for (const tickMs of ticks) {
      if (!this.#running) return [];
      if (!await this.#options.lock.acquire(ref, tickMs)) continue; // claimed in the grace: it fired (or was recovered)
      await this.#options.lock.settle?.(ref, tickMs);
      missed.push(tickMs);
    }
    return missed;
  }

  /**
   * The last tick before `end`, `known` being one: halving the span each step (about 40 steps for
   * years), not a walk through every tick (an every-second trigger down a day has 86 400).
   */
  #lastBefore(entry: Entry, known: number, end: number): number {
    let last = known;
    let hi = end; // no tick in [hi, end)
    while (entry.schedule.next(last) < end) {
      const mid = Math.floor((last + hi) / 2);
      const t = entry.schedule.next(mid);
      if (t < end) last = t;
      else hi = mid;
    }
    return last;
  }

  /** Resolves after `ms`, or at once when the scheduler stops. */
  #pause(ms: number): Promise<void> {
    if (ms <= 0 || !this.#running) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      this.#sleepers.add(wake);
    });
  }

  /** The ticks from `from` to before `to` (at most MAX_MISSED_ASKED), letting other work run when finding them is slow. */
  async #ticksBetween(entry: Entry, from: number, to: number): Promise<number[]> {
    const found: number[] = [];
    let asked = performance.now();
    for (let t = entry.schedule.next(from - 1); t < to && found.length < MAX_MISSED_ASKED && this.#running; t = entry.schedule.next(t)) {
      found.push(t);
      if (performance.now() - asked > SLOW_ARM_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        asked = performance.now();
      }
    }
    return found;
  }

  /** Tells a lost tick too old to fire (its run would be more than `maxLateMs` late), then settles its claim so it is told once. */
  async #giveUp(trigger: FiredTrigger, tickMs: number): Promise<void> {
    const ref = { function: trigger.function, triggerId: trigger.triggerId };
    try {
      await this.#options.missed!(trigger, tickMs);
    } catch (err) {
      this.#options.onError?.(err, ref, tickMs);
      return;
    }
    this.#count(ref, 'missed');
    await this.#options.lock.settle?.(ref, tickMs).catch(() => {});
    await this.#options.lock.noteMissed?.(ref, tickMs, 1).catch(() => false);
  }

  async #fire(trigger: FiredTrigger, tickMs: number): Promise<void> {
    const ref = { function: trigger.function, triggerId: trigger.triggerId };
    let claimed: boolean;
    try {
      claimed = await this.#options.lock.acquire(trigger, tickMs);
    } catch (err) {
      this.#count(ref, 'failed_lock');
      this.#options.onError?.(err, ref, tickMs);
      return;
    }
    if (!claimed) return this.#count(ref, 'skipped_locked');
    await this.#queue(trigger, tickMs);
  }

  /** Queues a claimed tick, then settles its claim (a failed settle only means a restart may queue it again, deduplicated). */
  async #queue(trigger: FiredTrigger, tickMs: number): Promise<void> {
    const ref = { function: trigger.function, triggerId: trigger.triggerId };
    let outcome: CronTickOutcome;
    try {
      const result = await this.#options.fire(trigger, tickMs);
      outcome = result === 'paused' ? 'skipped_paused' : result === 'limited' ? 'skipped_limited' : 'fired';
      this.#count(ref, outcome);
    } catch (err) {
      this.#count(ref, 'failed_enqueue');
      this.#options.onError?.(err, ref, tickMs);
      return;
    }
    await this.#options.lock.settle?.(ref, tickMs).catch(() => {});
    if (outcome === 'fired') await this.#options.lock.noteFired?.(ref, tickMs).catch(() => {});
  }

  #count(ref: TriggerRef, outcome: CronTickOutcome): void {
    try {
      this.#metrics.tick(ref, outcome);
    } catch {
      // a broken metrics hook must not stop the schedule
    }
  }

  #track(p: Promise<void>): void {
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }
}
