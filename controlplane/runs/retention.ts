/**
 * Retention: runs (with their logs) older than `runRetentionMs` are pruned, once at start and
 * then every `intervalMs`; and, with `maxBytes`, the run store is held under a size cap, checked
 * every `sizeCheckMs` (default 10 s): past the cap runs go, whatever their age (the oldest of
 * whichever function holds the most bytes first: RunStore.pruneOldest), until the store is back
 * under 90 % of it (so a store at the cap is not pruned on every check). The
 * store prunes in small chunks and yields between them, so a large backlog does not stall
 * requests. Usage rollups (when the store keeps them) are pruned on the age schedule, after
 * HISTORY_RETENTION_MS (31 days), and audit entries after their own retention
 * (FP_AUDIT_RETENTION, docs/adr/0011-tenants.md). docs/stores.md, "Retention".
 */
import { HISTORY_RETENTION_MS, type AuditStore, type RunStore, type UsageHistory } from '../store/index.js';

export interface RetentionOptions {
  retentionMs: number;
  intervalMs: number;
  /** The size cap in bytes, as the store measures them (RunStore.bytes); absent: none. */
  maxBytes?: number;
  /** How often the size is checked. Default 10 000. */
  sizeCheckMs?: number;
  now?: () => number;
  log?: (line: string) => void;
  /**
   * Where a failed prune is told: once per kind of failure an interval (controlplane/fault-log.ts;
   * a store down for an hour failed the size check every 10 s, a line each). Absent: `log`, a line each.
   */
  faults?: { report(kind: string, line: string): void };
  /** Usage rollups to prune as well. */
  history?: UsageHistory;
  /** The audit log, pruned after its own retention. */
  audit?: { store: AuditStore; retentionMs: number };
}

/** A store over its cap is pruned to this share of it. */
const CAP_TARGET = 0.9;
/** Rounds of measure-and-prune per check (a store frees pages less than proportionally). */
const CAP_ROUNDS = 20;

export class RunRetention {
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<number> = Promise.resolve(0);
  private pending = 0;
  /** The size reading that the last prune by size left unchanged (a lagging reading), else null. */
  private stuckAt: number | null = null;

  constructor(private readonly runs: RunStore, private readonly options: RetentionOptions) {}

  start(): void {
    if (this.timers.length > 0) return;
    void this.pruneNow();
    const age = setInterval(() => void this.pruneNow(), this.options.intervalMs);
    age.unref();
    this.timers.push(age);
    if (this.options.maxBytes !== undefined) {
      const size = setInterval(() => void this.capNow(), this.options.sizeCheckMs ?? 10_000);
      size.unref();
      this.timers.push(size);
    }
  }

  /** Prunes by age, then by size; resolves with how many runs went. Never rejects. */
  pruneNow(): Promise<number> {
    return this.serial(async () => (await this.byAge()) + (await this.bySize()));
  }

  /** Holds the size cap now (after any prune in progress); resolves with how many runs went. Never rejects. */
  capNow(): Promise<number> {
    return this.serial(() => this.bySize());
  }

  /** One prune at a time; a check asked for while one waits joins it. */
  private serial(step: () => Promise<number>): Promise<number> {
    if (this.pending > 0) return this.running;
    this.pending++;
    this.running = this.running.then(async () => {
      this.pending--;
      try {
        return await step();
      } catch (err) {
        const line = `controlplane: pruning runs failed: ${(err as Error).message}`;
        if (this.options.faults !== undefined) this.options.faults.report(line, line);
        else this.options.log?.(line);
        return 0;
      }
    });
    return this.running;
  }

  private async byAge(): Promise<number> {
    const now = (this.options.now ?? Date.now)();
    await this.options.history?.prune(now - HISTORY_RETENTION_MS);
    if (this.options.audit !== undefined) await this.options.audit.store.prune(now - this.options.audit.retentionMs);
    return this.runs.prune(now - this.options.retentionMs);
  }

  private async bySize(): Promise<number> {
    const max = this.options.maxBytes;
    if (max === undefined) return 0;
    const target = Math.floor(max * CAP_TARGET);
    let total = 0;
    let before = Infinity;
    for (let round = 0; round < CAP_ROUNDS; round++) {
      const bytes = await this.runs.bytes();
      if (bytes <= (round === 0 ? max : target)) {
        this.stuckAt = null;
        break;
      }
      // A reading that did not go down after a prune lags the deletes (FerretDB on PostgreSQL: a
      // table's size is PostgreSQL's, which keeps the space of deleted rows for new ones and never
      // gives back that of the oldest, at the table's start): pruning on it again would take the
      // next share, round after round and check after check, down to no run at all (ops round 3:
      // every run of a 4 MiB store went in one check). Once it stuck, only what it grows by past
      // that is pruned: the runs kept stay about what fitted then.
      if (bytes >= before) {
        this.stuckAt = bytes;
        break;
      }
      const floor = round === 0 && this.stuckAt !== null ? this.stuckAt : target;
      if (bytes <= floor) break;
      before = bytes;
      const count = await this.runs.count();
      if (count === 0) break;
      // Runs are about the same size: drop the share of them that is over the target.
      const pruned = await this.runs.pruneOldest(Math.max(1, Math.ceil((count * (bytes - floor)) / bytes)));
      total += pruned;
      if (pruned === 0) break;
    }
    if (total > 0) this.options.log?.(`controlplane: the run store was over its ${max} byte cap: pruned the ${total} oldest runs`);
    return total;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.running;
  }
}
