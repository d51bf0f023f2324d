/**
 * The `logBytes` quota (docs/adr/0011-tenants.md): run logs a workspace keeps. It never fails a
 * call: a run of a workspace at its quota is recorded without its log lines, with one marker line
 * saying why. The bytes kept are read from the store (what retention has not pruned yet) at most
 * every REFRESH_MS per workspace and counted forward with every batch written in between, so a
 * burst of runs cannot pass the quota by more than what one batch brings.
 */
import type { LogLine, RunRecord } from '../../protocol/index.js';
import { logBytesOf, type RunStore, type WorkspaceStore } from '../store/index.js';
import { workspaceOfKey } from '../../protocol/index.js';
import type { WorkspaceRegistry } from '../tenancy/workspace-registry.js';

const REFRESH_MS = 30_000;

export class LogBudget {
  private readonly used = new Map<string, { bytes: number; readAt: number }>();

  constructor(
    private readonly store: Pick<WorkspaceStore, 'usage'>,
    private readonly workspaces: WorkspaceRegistry,
    private readonly log: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** The run store with every batch passed through `apply` first. */
  wrap(runs: RunStore): RunStore {
    return { ...runs, record: async (batch, incarnations) => runs.record(await this.apply(batch), incarnations) };
  }

  /** The batch with the lines of runs past their workspace's logBytes quota replaced by a marker. */
  async apply(batch: readonly RunRecord[]): Promise<readonly RunRecord[]> {
    let out: RunRecord[] | null = null;
    for (let i = 0; i < batch.length; i++) {
      const run = batch[i]!;
      const workspace = workspaceOfKey(run.function);
      const limit = this.workspaces.quotas(workspace).logBytes;
      if (limit === null || run.logs.length === 0) continue;
      const used = await this.usedBy(workspace);
      const size = logBytesOf(run.logs);
      if (used.bytes + size <= limit) {
        used.bytes += size;
        continue;
      }
      out ??= [...batch];
      out[i] = { ...run, logs: [marker(workspace, limit, run.logs)] };
      used.bytes += logBytesOf(out[i]!.logs);
    }
    return out ?? batch;
  }

  private async usedBy(workspace: string): Promise<{ bytes: number; readAt: number }> {
    const held = this.used.get(workspace);
    if (held !== undefined && this.now() - held.readAt < REFRESH_MS) return held;
    let bytes = held?.bytes ?? 0;
    try {
      bytes = (await this.store.usage(workspace)).logBytes;
    } catch (err) {
      this.log(`controlplane: could not read the log bytes of workspace ${workspace} (counting on from the last reading): ${(err as Error).message}`);
    }
    const fresh = { bytes, readAt: this.now() };
    this.used.set(workspace, fresh);
    return fresh;
  }
}

function marker(workspace: string, limit: number, lines: readonly LogLine[]): LogLine {
  return {
    stream: 'platform',
    ts: lines[0]?.ts ?? Date.now(),
    msg: `[${lines.length} log line(s) not kept: workspace "${workspace}" is at its logBytes quota (${limit} bytes); the admin token raises it (\`workspaces set ${workspace} --log-bytes SIZE\`), or wait for retention to prune older runs]`,
  };
}
