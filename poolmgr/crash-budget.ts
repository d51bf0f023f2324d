/**
 * The start budget after crashes (docs/adr/0158-a-start-budget-after-crashes.md): an instance that
 * ends by anything but the platform's own shutdown (an exit, a signal, the OOM killer, a timeout
 * kill, a failed load, a broken protocol) spends one start of its version's budget and one of its
 * workspace's. A version with no such end since its budget was last full is not watched at all;
 * one that has crashed starts a new instance only while both budgets hold a whole start, and its
 * calls wait (or are refused with FUNCTION_CRASH_LOOP) otherwise. Each budget is a token bucket:
 * `burst` starts, refilled at `perMinute`; the workspace's is WORKSPACE_FACTOR times a version's.
 * A new version (a deploy) has a budget of its own, full; the workspace's is not reset by it.
 *
 * Why a debt and not a reservation: starts are not charged, crashes are. Instances that started
 * while the budget held a start may all crash (maxInstances of them at once), and the level goes
 * below zero by as many: the rate over time stays `perMinute`, and the next start waits for the debt.
 */
import type { InvocationError } from './types.js';

/**
 * A budget found full is forgotten once its last end is this old: until then its version is still
 * watched (it takes no generic runtime, and its starts reserve the budget once it ran dry).
 */
export const FORGET_AFTER_MS = 60_000;
/**
 * The shortest call timeout whose kill, reached while the call's streamed body was still going out,
 * is taken as its client's pace and spends no start budget (ADR 0158's amendment; ADR 0167): the
 * default `limits.timeout`. A shorter one counts: "still going out" is true of any stream its
 * function has not ended, and a function that sent one piece and hung under a 300 ms timeout was
 * started again at every call, the budget never holding it (red team round 30). At 30 s an
 * instance churns at most once per 30 s: the platform's 64 instances together ~2 a second, one
 * workspace's budget rate.
 */
export const CLIENT_PACED_MIN_TIMEOUT_MS = 30_000;
/** The workspace's budget is this many times a version's: a tenant with a few broken functions is not held by one. */
export const WORKSPACE_FACTOR = 4;

export interface CrashBudgetConfig {
  /** Ends a version may have back to back before its next instance waits (0: no budget, never held). */
  burst: number;
  /** Starts the budget gains back a minute (spread evenly). */
  perMinute: number;
}

/** Defaults: a function that crashes now and then never meets them (docs/platform.md, `crashStartBurst`). */
export const DEFAULT_CRASH_BUDGET: Readonly<CrashBudgetConfig> = Object.freeze({ burst: 10, perMinute: 30 });

class Bucket {
  /** Starts left at `at` (may be below zero: a debt). */
  level: number;
  at: number;
  /** Ends counted since the bucket was made (it is forgotten once full again). */
  crashes = 0;
  /** The last end's error, for the refusal's message, and when it came. */
  last: InvocationError | null = null;
  lastAt = 0;
  /** The budget ran dry since the bucket was made (starts in flight count from then on). */
  spent = false;

  constructor(readonly burst: number, readonly perMs: number, now: number) {
    this.level = burst;
    this.at = now;
  }

  refill(now: number): void {
    this.level = Math.min(this.burst, this.level + (now - this.at) * this.perMs);
    this.at = now;
  }

  /**
   * Time until the bucket holds a whole start beside `reserved` ones (0: it does). Starts in flight
   * are reserved only once the budget ran dry: within it, nothing changes for the function.
   */
  waitMs(reserved: number): number {
    const need = 1 + (this.spent ? reserved : 0) - this.level;
    return need <= 0 ? 0 : need / this.perMs;
  }
}

/** What a refusal tells (FUNCTION_CRASH_LOOP's details and message). */
export interface CrashHold {
  /** Time until a start is allowed. */
  waitMs: number;
  /** 'function' or 'workspace': whose budget is spent (the one with the longer wait). */
  budget: 'function' | 'workspace';
  /** Ends counted in the version's budget, and the last one's error. */
  crashes: number;
  last: InvocationError | null;
}

export class CrashBudgets {
  private readonly versions = new Map<string, Bucket>();
  private readonly workspaces = new Map<string, Bucket>();
  /** Functions (by name, every version) with an end lately, and when the last was. */
  private readonly functions = new Map<string, number>();
  private readonly perMs: number;

  constructor(private readonly config: CrashBudgetConfig, private readonly now: () => number = () => performance.now()) {
    this.perMs = Math.max(config.perMinute, 0.001) / 60_000;
  }

  get enabled(): boolean {
    return this.config.burst > 0;
  }

  /** An instance of `key` (a version of function `name`, of `workspace`) ended by no doing of the platform's. */
  crashed(key: string, name: string, workspace: string, error: InvocationError): void {
    if (!this.enabled) return;
    const now = this.now();
    this.functions.set(name, now);
    for (const bucket of [this.bucket(this.versions, key, 1, now), this.bucket(this.workspaces, workspace, WORKSPACE_FACTOR, now)]) {
      bucket.refill(now);
      bucket.level -= 1;
      if (bucket.level < 1) bucket.spent = true;
      bucket.crashes++;
      bucket.last = error;
      bucket.lastAt = now;
    }
  }

  /**
   * True when `key` ended lately (it has a budget: one not yet found full again by `prune`): its
   * starts may wait, and they take no generic runtime. The cheap test before `hold`.
   */
  watched(key: string): boolean {
    return this.versions.has(key);
  }

  /**
   * True when a version of function `name` ended lately (FORGET_AFTER_MS): a new version of it
   * has a full budget of its own but is still held by its workspace's, once that is spent. Without
   * this, each deploy of a new version bought a wave of starts (up to maxInstances at once) past a
   * spent workspace budget.
   */
  nameWatched(name: string): boolean {
    return this.functions.has(name);
  }

  /**
   * True when `key`'s budget ran dry since it was made (it is past its budget, or was lately): its
   * instances fork runtimes of their own and leave the generic ones to the other functions.
   */
  spent(key: string): boolean {
    return this.versions.get(key)?.spent === true;
  }

  /**
   * Null when a new instance of `key` may start now, beside the `starting` ones it has (each may
   * end too: a queue of calls pumped at once would start as many as maxInstances on one start of
   * budget); else how long until one may, and why.
   */
  hold(key: string, name: string, workspace: string, starting = 0): CrashHold | null {
    const v = this.versions.get(key);
    if (v === undefined && !this.functions.has(name)) return null;
    const now = this.now();
    v?.refill(now);
    const w = this.workspaces.get(workspace);
    w?.refill(now);
    const vWait = v?.waitMs(starting) ?? 0;
    const wWait = w?.waitMs(starting) ?? 0;
    if (vWait === 0 && wWait === 0) return null;
    const why = v ?? w!;
    return { waitMs: Math.max(vWait, wWait), budget: vWait >= wWait ? 'function' : 'workspace', crashes: why.crashes, last: why.last };
  }

  /** Forgets the budgets that are full again and whose last end is FORGET_AFTER_MS old (then nothing changes for their versions). */
  prune(): void {
    const now = this.now();
    for (const [name, at] of this.functions) if (now - at >= FORGET_AFTER_MS) this.functions.delete(name);
    for (const map of [this.versions, this.workspaces]) {
      for (const [key, bucket] of map) {
        bucket.refill(now);
        if (bucket.level >= bucket.burst && now - bucket.lastAt >= FORGET_AFTER_MS) map.delete(key);
      }
    }
  }

  private bucket(map: Map<string, Bucket>, key: string, factor: number, now: number): Bucket {
    let bucket = map.get(key);
    if (bucket === undefined) map.set(key, bucket = new Bucket(this.config.burst * factor, this.perMs * factor, now));
    return bucket;
  }
}
