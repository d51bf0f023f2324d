/**
 * What the control plane's operations work with: the store, the in-memory views the gateway
 * reads (registry, token index), the pool (to drain), the code directories, the bundle workers,
 * and the gateway (to run a test invoke). The pool and the gateway are ports: the control plane
 * imports only their types (erased at build), and the composition root (platform/) injects them.
 */
import type { Invoker, PoolDrain } from '../../protocol/index.js';
import type { AsyncMetrics, AsyncRuns, HookRefusals } from '../async/index.js';
import type { BundleLimits, BundlePool } from '../bundles/index.js';
import type { DataBindings } from '../data/index.js';
import type { StoreRegistry } from '../registry/store-registry.js';
import type { WarmReporter } from '../runs/warm-reporter.js';
import type { ConfigBus, HotMetrics, RecordingRunSink, Store, WorkspaceQuotas } from '../store/index.js';
import type { AdmissionLimiter } from '../limits/index.js';
import type { WorkspaceRegistry } from '../tenancy/workspace-registry.js';
import type { LogFeed } from '../logs/index.js';
import type { CodeChecker } from './code-check.js';
import type { FileReads } from './file-reads.js';
import type { CodeDirs } from './code-dirs.js';
import type { DependencyBuilds } from '../deps/index.js';
import type { CronTriggers } from '../async/index.js';
import type { KeyedLock } from './locks.js';
import type { StagedUploads } from './staged-uploads.js';
import type { TokenIndex } from './tokens.js';

// Ports the control plane calls, implemented by the pool and the gateway: shared types (protocol/ports.ts).
export type { Invoker, PoolDrain } from '../../protocol/index.js';

export interface ServiceSettings {
  bundleLimits: BundleLimits;
  /** Largest sync request body (the gateway's maxBodyBytes). */
  syncPayloadBytes: number;
  /** Largest async request body (enforced by the async route of a later issue). */
  asyncPayloadBytes: number;
  runRetentionMs: number;
  /** The highest limits.maxInstances a function may have (FP_MAX_FUNCTION_INSTANCES). */
  maxFunctionInstances: number;
  /** The highest limits.memory (bytes) a function may have (FP_MAX_FUNCTION_MEMORY_BYTES). */
  maxFunctionMemoryBytes: number;
  /** The longest limits.timeout (ms) a function may have (FP_MAX_FUNCTION_TIMEOUT_MS). */
  maxFunctionTimeoutMs: number;
  /** The quotas a new workspace gets unless its create names others (FP_WORKSPACE_QUOTA_*). */
  defaultQuotas: WorkspaceQuotas;
  /** How long audit entries are kept (FP_AUDIT_RETENTION). */
  auditRetentionMs: number;
  /** FP_AUDIT_MAX_ENTRIES: the newest audit entries a workspace keeps (0: no bound but the retention). */
  auditMaxEntries: number;
  /** FP_API_WRITE_RATE: changes a minute (and burst) a workspace's tokens may make through the API (0: no limit). */
  apiWriteRate: number;
  /** The base URL clients reach the gateway at (`http://host:port`), known once it listens. */
  publicUrl(): string;
  /** FP_KEEP_VERSIONS: versions of a function kept on deploy (0: all; docs/adr/0098-deleting-versions.md). */
  keepVersions: number;
  /** FP_BASE_DOMAIN: a function also answers at `/` of `<key>.<baseDomain>` (null: host routing off). */
  baseDomain: string | null;
}

export interface ServiceContext {
  readonly store: Store;
  readonly registry: StoreRegistry;
  readonly tokens: TokenIndex;
  /** The workspaces and their quotas, in memory (the API's FP-Workspace check, admission, the pool's caps). */
  readonly workspaces: WorkspaceRegistry;
  /** Rate limits and calls per minute (the contract card's current use). */
  readonly limiter: AdmissionLimiter;
  readonly pool: PoolDrain;
  readonly code: CodeDirs;
  /** Per-version dependency builds and their sites (docs/dependencies.md). */
  readonly deps: DependencyBuilds;
  /** Removes the sites no version uses; asked to look soon after a function is deleted. */
  readonly depsCollector: { soon(): void };
  /** Contents no version uses (version-retention.ts). */
  readonly blobCollector: { soon(): void };
  /** Removes the code directories of versions no longer active once nothing runs from them; asked to look soon after a switch. */
  readonly codeCollector: { soon(): void };
  readonly bundles: BundlePool;
  readonly locks: KeyedLock;
  /** Uploaded contents no version uses yet, charged to their workspace's codeBytes (this process). */
  readonly staged: StagedUploads;
  /** Version files being read into API answers at once (file-reads.ts). */
  readonly fileReads: FileReads;
  /** The API's code check (validate.py under limits); null when the platform gave it no Python. */
  readonly codeCheck: CodeChecker | null;
  readonly runs: RecordingRunSink;
  /** Live counters and state (Redis in production, memory embedded): usage, paused, warm. */
  readonly metrics: HotMetrics;
  /** Removes a deleted function's Prometheus series from this process's registry (red team 6). */
  readonly forgetSeries: (name: string) => void;
  readonly warm: WarmReporter;
  /** Tells the other platform processes about changes (Redis pub/sub in production; nobody, embedded). */
  readonly bus: ConfigBus;
  /** Live logs of running calls (memory embedded, Redis streams in production); null: not served. */
  readonly logs: LogFeed | null;
  readonly invoker: Invoker;
  /** Async runs (queue, timeline, outputs); null when the process runs without a queue. */
  readonly async: AsyncRuns | null;
  /** The async wing's metrics (cancellations are counted by the API); absent without a queue. */
  readonly asyncMetrics?: AsyncMetrics;
  readonly settings: ServiceSettings;
  /** Webhook deliveries this process refused at their signature, per trigger, for `listTriggers`; absent without async runs. */
  readonly hookRefusals?: HookRefusals;
  /** The cron scheduler's trigger set; absent without async runs. */
  readonly cron?: CronTriggers;
  /** The Mongo data bindings (docs/data-binding.md); null: the platform has no database server. */
  readonly data: DataBindings | null;
  /** Without `data`: why (the start's words: FP_DATA=off, no FerretDB found, …); absent: not said. */
  readonly dataOffReason?: string;
  log(line: string): void;
}
