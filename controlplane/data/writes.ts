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

export class WriteLedger {
  private readonly runs = new Map<string, Map<string, CollectionWrites>>();

  /** Keeps at most `maxRuns` runs not yet taken; the oldest is dropped beyond. */
  constructor(private readonly maxRuns = 10_000) {}

  record(functionKey: string, runId: string, database: string, collection: string, counts: Partial<Pick<CollectionWrites, 'inserted' | 'updated' | 'deleted' | 'upserted'>>): void {
    const key = `${functionKey}\0${runId}`;
    let run = this.runs.get(key);
    if (run === undefined) {
      if (this.runs.size >= this.maxRuns) this.runs.delete(this.runs.keys().next().value!);
      run = new Map();
      this.runs.set(key, run);
    }
    const ns = `${database}.${collection}`;
    let entry = run.get(ns);
    if (entry === undefined) {
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
    const key = `${functionKey}\0${runId}`;
    const run = this.runs.get(key);
    this.runs.delete(key);
    return run === undefined ? [] : [...run.values()].sort((a, b) => `${a.database}.${a.collection}`.localeCompare(`${b.database}.${b.collection}`));
  }

  /** Looks without forgetting. */
  peek(functionKey: string, runId: string): CollectionWrites[] {
    const run = this.runs.get(`${functionKey}\0${runId}`);
    return run === undefined ? [] : [...run.values()];
  }
}
