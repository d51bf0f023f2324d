/**
 * The storage ports of the control plane. The embedded adapter (SQLite + files, ./sqlite) implements
 * them now; a production adapter (Redis + MongoDB) will implement the same interfaces and pass the
 * same conformance suite (test/conformance/store-suite.ts). Nothing outside an adapter may know
 * which one it has. Every method is async so a networked adapter fits; all timestamps are Unix ms.
 * Records handed out are copies: mutating them never changes what is stored.
 * Errors are StoreError with a stable `code` (./errors.ts). See docs/stores.md.
 */
import type {
  InvocationMode,
  ManifestLimits,
  ManifestRetry,
  RunRecord,
  RunStatus,
  RunSummary,
  RunTrigger,
  RuntimePreset,
} from '../../protocol/index.js';
import type { UsageHistory } from './metrics/history.js';

// ---------------------------------------------------------------------------------------------
// Functions

export type FunctionLimits = ManifestLimits;
/** The async retry policy (`retry` of the manifest, in ms); absent on records written before it existed: the defaults. */
export type FunctionRetry = ManifestRetry;
export type FunctionAuth = 'public' | 'token';
export type FunctionStatus = 'active' | 'paused';

/** The settings a user edits. */
export interface FunctionSettings {
  preset: RuntimePreset;
  invocation: InvocationMode;
  limits: FunctionLimits;
  env: Record<string, string>;
  /**
   * Secret env values, by name: clear here (in memory), sealed by the adapter before they are
   * written (AES-256-GCM under the store's Keyring; docs/secrets.md). Merged over `env` when the
   * runtime is specialized. The API shows their names only. Absent on create: none.
   */
  secrets?: Record<string, string>;
  auth: FunctionAuth;
  /** Absent: DEFAULT_RETRY_POLICY (records created before per-function retry). */
  retry?: FunctionRetry;
  /**
   * Internal: the webhook triggers' signing secrets, by trigger id, clear here and sealed at rest
   * like `secrets` (the HMAC needs the clear value, so it is decrypted on each read). Never
   * presented by the API; docs/triggers.md ("Where secrets live").
   */
  hookSecrets?: Record<string, HookSecret>;
}

/** One webhook trigger's secrets; `previous` is accepted until `previousValidUntil` (Unix ms). */
export interface HookSecret {
  current: string;
  previous?: string;
  previousValidUntil?: number;
}

export interface FunctionRecord extends FunctionSettings {
  /** Always present on a record (`{}` when none). */
  secrets: Record<string, string>;
  /** A DNS label (protocol FUNCTION_NAME); the API validates it before the store sees it. */
  name: string;
  /** Changed only through DeployStore.apply, so every change is in the deploy log. */
  status: FunctionStatus;
  activeVersion: number | null;
  /** Starts at 1 and grows by one on every change; writers pass the revision they read. */
  revision: number;
  createdAt: number;
  updatedAt: number;
}

export interface FunctionStore {
  /** Throws FUNCTION_EXISTS if the name is taken. The new function is `active` with no version. */
  create(name: string, settings: FunctionSettings): Promise<FunctionRecord>;
  get(name: string): Promise<FunctionRecord | null>;
  /** Every function, by name. */
  list(): Promise<FunctionRecord[]>;
  /**
   * Changes settings if the stored revision is still `expectedRevision`, else REVISION_CONFLICT
   * (re-read and retry); FUNCTION_NOT_FOUND if it does not exist.
   */
  update(name: string, expectedRevision: number, patch: Partial<FunctionSettings>): Promise<FunctionRecord>;
  /**
   * Removes the function with its versions, deploy log, runs and invoke tokens (blobs stay: they
   * are shared by content). REVISION_CONFLICT / FUNCTION_NOT_FOUND as for update.
   */
  delete(name: string, expectedRevision: number): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Versions

/** One file of a version; its content is the blob with this sha256. */
export interface FileEntry {
  /** Normalised, relative, `/`-separated (controlplane/bundles/paths.ts). */
  path: string;
  /** Lower-case hex. */
  sha256: string;
  size: number;
}

/** File paths that differ from the previous version, each list sorted. */
export interface FileChanges {
  added: string[];
  modified: string[];
  removed: string[];
}

export interface NewVersion {
  function: string;
  /** `module:attr`. */
  entrypoint: string;
  files: FileEntry[];
  /** The parsed manifest (any JSON value). */
  manifest: unknown;
  /** Who uploaded it (a token label or user name). */
  createdBy: string;
  note?: string;
}

/** Immutable once created: no port method changes a version. */
export interface VersionRecord {
  function: string;
  /** 1, 2, 3… per function, assigned by the store. */
  version: number;
  entrypoint: string;
  /** Sorted by path. */
  files: FileEntry[];
  manifest: unknown;
  createdAt: number;
  createdBy: string;
  note: string;
  /** Against the version numbered one less (everything `added` for version 1). */
  changes: FileChanges;
}

/** A version in a history listing: without the file list and manifest. */
export type VersionSummary = Omit<VersionRecord, 'files' | 'manifest'> & { fileCount: number; totalBytes: number };

export interface VersionStore {
  /**
   * Numbers the version (previous + 1) and computes `changes` atomically. FUNCTION_NOT_FOUND if the
   * function does not exist; BLOB_NOT_FOUND (details.path) if a file's content is not in the BlobStore.
   */
  create(input: NewVersion): Promise<VersionRecord>;
  get(fn: string, version: number): Promise<VersionRecord | null>;
  latest(fn: string): Promise<VersionRecord | null>;
  /** Newest first; `before` returns versions numbered below it (paging). */
  list(fn: string, options?: { limit?: number; before?: number }): Promise<VersionSummary[]>;
}

// ---------------------------------------------------------------------------------------------
// Deploys: the only way status and activeVersion change, and the log of who did it

export const DEPLOY_ACTIONS = ['deploy', 'rollback', 'pause', 'resume'] as const;
export type DeployAction = (typeof DEPLOY_ACTIONS)[number];

export interface DeployRequest {
  function: string;
  action: DeployAction;
  /** Required for `deploy` and `rollback`; ignored for `pause` and `resume`. */
  version?: number;
  actor: string;
  note?: string;
  /** When given, REVISION_CONFLICT unless the function is still at this revision. */
  expectedRevision?: number;
}

export interface DeployEntry {
  function: string;
  /** 1, 2, 3… per function, in the order the changes were applied. */
  seq: number;
  action: DeployAction;
  fromVersion: number | null;
  toVersion: number | null;
  /** The function's status after the change. */
  status: FunctionStatus;
  actor: string;
  note: string;
  at: number;
}

export interface DeployStore {
  /**
   * Applies the change and appends its log entry in one step. FUNCTION_NOT_FOUND, VERSION_NOT_FOUND
   * (deploy/rollback to a version that does not exist), REVISION_CONFLICT.
   */
  apply(request: DeployRequest): Promise<{ function: FunctionRecord; entry: DeployEntry }>;
  /** Newest first. */
  list(fn: string, options?: { limit?: number; beforeSeq?: number }): Promise<DeployEntry[]>;
}

// ---------------------------------------------------------------------------------------------
// Runs

export interface RunQuery {
  function?: string;
  status?: RunStatus;
  trigger?: RunTrigger;
  /** startedAt >= since */
  since?: number;
  /** startedAt < until */
  until?: number;
  /** Default 50, at most 1000. */
  limit?: number;
  /** From a previous page's `nextCursor`; opaque. RUN_CURSOR_INVALID if it is not one. */
  cursor?: string;
}

export interface RunPage {
  /** Newest first (startedAt, then runId, descending). */
  items: RunSummary[];
  /** Null on the last page. */
  nextCursor: string | null;
}

export interface RunStore {
  /**
   * Writes a batch in one go; a (runId, attempt) seen before is replaced (so retries and state
   * changes are safe). Attempts of one run may arrive in any order.
   */
  record(runs: readonly RunRecord[]): Promise<void>;
  /** One item per run: its newest attempt. */
  list(query?: RunQuery): Promise<RunPage>;
  /** The run's newest attempt, with logs and error. */
  get(runId: string): Promise<RunRecord | null>;
  /** Every attempt of the run, oldest first, with logs and errors ([] when none). */
  attempts(runId: string): Promise<RunRecord[]>;
  /** Deletes runs (and their logs) that started before `cutoff`; returns how many. */
  prune(cutoff: number): Promise<number>;
  /**
   * Bytes the runs take as the store measures them (docs/stores.md, "Retention"): SQLite, the
   * database's pages in use; MongoDB, the data and index sizes of `runs` and `logs`.
   */
  bytes(): Promise<number>;
  /** Stored run records (attempts), for sizing a prune; may be an estimate. */
  count(): Promise<number>;
  /** Deletes the `count` oldest run records (by start time) with their logs; returns how many went. */
  pruneOldest(count: number): Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// Tokens: stored only as keyed digests; the clear secret is returned once, at issue/rotate time

export type TokenKind = 'admin' | 'invoke';

export interface TokenRecord {
  id: string;
  kind: TokenKind;
  /** The function name for `invoke` tokens; null for `admin`. */
  scope: string | null;
  label: string;
  /**
   * The key the digest is made with (a Keyring id); null for a row without one (written before
   * keyed digests, or planted): such a row matches no secret.
   */
  keyId: string | null;
  /** HMAC-SHA256 under `keyId`'s token key of the secret's sha256 (hex); useless to call with. */
  digest: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface IssuedToken {
  /** The clear secret. Shown once; the store keeps only its hash. */
  secret: string;
  record: TokenRecord;
}

export interface TokenStore {
  issue(input: { kind: TokenKind; scope?: string | null; label?: string }): Promise<IssuedToken>;
  /** The live token with this secret, of this kind (and scope, for invoke tokens), or null. */
  verify(secret: string, kind: TokenKind, scope?: string | null): Promise<TokenRecord | null>;
  /** Revokes the token and issues its replacement (same kind, scope, label) in one step. TOKEN_NOT_FOUND if missing or revoked. */
  rotate(id: string): Promise<IssuedToken>;
  /** TOKEN_NOT_FOUND if missing or already revoked. */
  revoke(id: string): Promise<void>;
  /**
   * Rewrites a live token's digest under the keyring's current key, given its secret (after a key
   * rotation, on the token's next use). Null when the token is gone, revoked, or `secret` is not
   * its secret; the record unchanged when it is already under the current key.
   */
  rekey(id: string, secret: string): Promise<TokenRecord | null>;
  /** Newest first; revoked ones only with `includeRevoked`. */
  list(filter?: { kind?: TokenKind; scope?: string | null; includeRevoked?: boolean }): Promise<TokenRecord[]>;
}

// ---------------------------------------------------------------------------------------------
// Blobs: file contents by sha256

export interface BlobStore {
  has(sha256: string): Promise<boolean>;
  /** Size in bytes, or null when absent. */
  size(sha256: string): Promise<number | null>;
  /**
   * Stores `data` under its sha256. With `expectedSha256`, BLOB_HASH_MISMATCH (and nothing stored)
   * if the content hashes differently. `created` is false when the blob was already there.
   */
  put(data: Uint8Array, expectedSha256?: string): Promise<{ sha256: string; size: number; created: boolean }>;
  get(sha256: string): Promise<Buffer | null>;
  /**
   * A local file holding the blob, to hard-link from, or null when this adapter keeps blobs
   * elsewhere (callers then use `get`). The file must never be written to.
   */
  localPath(sha256: string): Promise<string | null>;
}

// ---------------------------------------------------------------------------------------------
// Keys: what the encrypted fields and token digests depend on (docs/secrets.md, "Rotation")

/** How much a key id still protects: sealed fields and live token digests. */
export interface KeyUsage {
  /** Null: live token rows without a key id (never accepted). */
  keyId: string | null;
  fields: number;
  tokens: number;
}

export interface SecretKeys {
  /**
   * Re-seals every sealed field that is not under the keyring's current key (secrets, webhook
   * secrets) and drops sealed values nothing reads any more (old MongoDB revisions). Returns how
   * many fields it rewrote. Token digests cannot be redone without their secrets: `rekey`.
   */
  reencrypt(): Promise<number>;
  /** Every key id that sealed fields or live token digests name, by id. */
  usage(): Promise<KeyUsage[]>;
}

// ---------------------------------------------------------------------------------------------
// The aggregate

export interface Store {
  readonly functions: FunctionStore;
  readonly versions: VersionStore;
  readonly deploys: DeployStore;
  readonly runs: RunStore;
  readonly tokens: TokenStore;
  readonly blobs: BlobStore;
  readonly keys: SecretKeys;
  /** Hourly usage rollups for the long windows (7 d, 30 d); optional so a store may go without. */
  readonly usageHistory?: UsageHistory;
  /** Flushes and releases everything; later calls throw STORE_CLOSED. Idempotent. */
  close(): Promise<void>;
}
