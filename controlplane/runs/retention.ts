/**
 * Retention: runs (with their logs) older than `runRetentionMs` are pruned, once at start and
 * then every `intervalMs`. The store prunes in small chunks and yields between them, so a large
 * backlog does not stall requests. Usage rollups (when the store keeps them) are pruned on the
 * same schedule, after HISTORY_RETENTION_MS (31 days), and audit entries after their own retention
 * (FP_AUDIT_RETENTION, docs/adr/0011-tenants.md).
 */
import { HISTORY_RETENTION_MS, type AuditStore, type RunStore, type UsageHistory } from '../store/index.js';

export interface RetentionOptions {
  retentionMs: number;
  intervalMs: number;
  now?: () => number;
  log?: (line: string) => void;
  /** Usage rollups to prune as well. */
  history?: UsageHistory;
  /** The audit log, pruned after its own retention. */
  audit?: { store: AuditStore; retentionMs: number };
}

export class RunRetention {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(private readonly runs: RunStore, private readonly options: RetentionOptions) {}

  start(): void {
    if (this.timer) return;
    void this.pruneNow();
    this.timer = setInterval(() => void this.pruneNow(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Prunes now (or joins a prune in progress); resolves with how many runs went. Never rejects. */
  pruneNow(): Promise<number> {
    if (this.running) return this.running;
    const running = this.prune().finally(() => {
      if (this.running === running) this.running = null;
    });
    this.running = running;
    return running;
  }

  private async prune(): Promise<number> {
    try {
      const now = (this.options.now ?? Date.now)();
      await this.options.history?.prune(now - HISTORY_RETENTION_MS);
      if (this.options.audit !== undefined) await this.options.audit.store.prune(now - this.options.audit.retentionMs);
      return await this.runs.prune(now - this.options.retentionMs);
    } catch (err) {
      this.options.log?.(`controlplane: pruning runs failed: ${(err as Error).message}`);
      return 0;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
