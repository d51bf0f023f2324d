/**
 * Runs tied to their writes: what the proxy saw each run write, per collection, until the run's
 * record takes it (docs/data-binding.md, "Runs and writes"). A write counts for a run when it
 * carries the run's tag (`comment: "fp:run=<runId>"`, which `context.db` adds) and comes through
 * a binding of the run's own function, so a function cannot put writes into another's runs.
 */
import type { RunWrite } from '../../protocol/index.js';

export type CollectionWrites = RunWrite;

/** The tag `context.db` puts on every write it makes during a run. */
export const RUN_TAG_PREFIX = 'fp:run=';
const RUN_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The run id in a write's comment, or null (untagged or not ours). */
export function runIdOfComment(comment: unknown): string | null {
  if (typeof comment !== 'string' || !comment.startsWith(RUN_TAG_PREFIX)) return null;
  const id = comment.slice(RUN_TAG_PREFIX.length);
  return RUN_ID.test(id) ? id : null;
}

/**
 * Bounds of the ledger. A function chooses the run ids in its comments (any id matching RUN_ID)
 * and the collections it writes, so each bound holds against a hostile one (red team 3): its fake
 * run ids no longer push other functions' pending runs out, and no run grows without end.
 */
export interface LedgerLimits {
  /** Runs not yet taken, all functions together (the one holding the most loses its oldest first). */
  maxRuns: number;
  /** Runs not yet taken of one function (its oldest goes first). */
  maxRunsPerFunction: number;
  /** Collections listed per run; writes to more are not listed. */
  maxCollectionsPerRun: number;
}

export const DEFAULT_LEDGER_LIMITS: LedgerLimits = Object.freeze({ maxRuns: 10_000, maxRunsPerFunction: 1000, maxCollectionsPerRun: 100 });

export class WriteLedger {
  /** functionKey -> runId -> `database.collection` -> counts; insertion order is age. */
  private readonly functions = new Map<string, Map<string, Map<string, CollectionWrites>>>();
  private runCount = 0;
  private readonly limits: LedgerLimits;

  constructor(limits: Partial<LedgerLimits> = {}) {
    this.limits = { ...DEFAULT_LEDGER_LIMITS, ...limits };
  }

  record(functionKey: string, runId: string, database: string, collection: string, counts: Partial<Pick<CollectionWrites, 'inserted' | 'updated' | 'deleted' | 'upserted'>>): void {
    let runs = this.functions.get(functionKey);
    if (runs === undefined) {
      runs = new Map();
      this.functions.set(functionKey, runs);
    }
    let run = runs.get(runId);
    if (run === undefined) {
      if (runs.size >= this.limits.maxRunsPerFunction) this.dropOldest(functionKey, runs);
      else if (this.runCount >= this.limits.maxRuns) this.dropFromHeaviest();
      run = new Map();
      runs.set(runId, run);
      this.runCount++;
    }
    const ns = `${database}.${collection}`;
    let entry = run.get(ns);
    if (entry === undefined) {
      if (run.size >= this.limits.maxCollectionsPerRun) return;
      entry = { database, collection, inserted: 0, updated: 0, deleted: 0, upserted: 0 };
      run.set(ns, entry);
    }
    entry.inserted += counts.inserted ?? 0;
    entry.updated += counts.updated ?? 0;
    entry.deleted += counts.deleted ?? 0;
    entry.upserted += counts.upserted ?? 0;
  }

  /** What the run wrote, sorted by collection; forgets it. */
  take(functionKey: string, runId: string): CollectionWrites[] {
    const runs = this.functions.get(functionKey);
    const run = runs?.get(runId);
    if (runs === undefined || run === undefined) return [];
    runs.delete(runId);
    this.runCount--;
    if (runs.size === 0) this.functions.delete(functionKey);
    return [...run.values()].sort((a, b) => `${a.database}.${a.collection}`.localeCompare(`${b.database}.${b.collection}`));
  }

  /** Looks without forgetting. */
  peek(functionKey: string, runId: string): CollectionWrites[] {
    const run = this.functions.get(functionKey)?.get(runId);
    return run === undefined ? [] : [...run.values()];
  }

  /** Runs not yet taken (all functions). */
  get size(): number {
    return this.runCount;
  }

  private dropOldest(functionKey: string, runs: Map<string, Map<string, CollectionWrites>>): void {
    const oldest = runs.keys().next();
    if (oldest.done === true) return;
    runs.delete(oldest.value);
    this.runCount--;
    if (runs.size === 0) this.functions.delete(functionKey);
  }

  /** At the global bound: the function with the most pending runs loses its oldest. */
  private dropFromHeaviest(): void {
    let heaviest: [string, Map<string, Map<string, CollectionWrites>>] | null = null;
    for (const entry of this.functions) if (heaviest === null || entry[1].size > heaviest[1].size) heaviest = entry;
    if (heaviest !== null) this.dropOldest(heaviest[0], heaviest[1]);
  }
}
