/**
 * The workspaces as every hot path sees them (docs/adr/0011-tenants.md): an in-memory map loaded
 * from the store at start and changed right after each store change (and, for another process's
 * change, after the config bus says so), like the function registry. The gateway's admission reads
 * a workspace's `invocationsPerMinute` here, the API checks `FP-Workspace` here, and every change
 * of an `instances` quota reaches the pool at once.
 */
import { DEFAULT_WORKSPACE, type PoolDrain } from '../../protocol/index.js';
import { NO_QUOTAS, type WorkspaceQuotas, type WorkspaceRecord } from '../store/index.js';

export class WorkspaceRegistry {
  private readonly byName = new Map<string, WorkspaceRecord>();

  constructor(private readonly pool: Pick<PoolDrain, 'setWorkspaceInstances'>) {}

  get(name: string): WorkspaceRecord | null {
    return this.byName.get(name) ?? null;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The quotas of a workspace (none for one not held: its functions are refused elsewhere). */
  quotas(name: string): Readonly<WorkspaceQuotas> {
    return this.byName.get(name)?.quotas ?? NO_QUOTAS;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Counts the changes made (sets, removes): a resync compares it around its read of the store. */
  get changes(): number {
    return this.changeCount;
  }

  private changeCount = 0;

  set(record: WorkspaceRecord): void {
    this.changeCount++;
    this.byName.set(record.name, record);
    this.pool.setWorkspaceInstances(record.name, record.quotas.instances);
  }

  remove(name: string): void {
    if (name === DEFAULT_WORKSPACE) return;
    this.changeCount++;
    this.byName.delete(name);
    this.pool.setWorkspaceInstances(name, null);
  }

  replaceAll(records: readonly WorkspaceRecord[]): void {
    const keep = new Set(records.map((r) => r.name));
    for (const name of this.byName.keys()) if (!keep.has(name)) this.remove(name);
    for (const record of records) this.set(record);
  }
}
