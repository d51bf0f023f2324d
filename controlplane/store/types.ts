/**
 * The storage ports of the control plane. The embedded adapter (SQLite + files, ./sqlite) implements
 * them now; a production adapter (Redis + MongoDB) will implement the same interfaces and pass the
 * same conformance suite (test/conformance/store-suite.ts). Nothing outside an adapter may know
 * which one it has. Every method is async so a networked adapter fits; all timestamps are Unix ms.
 * Records handed out are copies: mutating them never changes what is stored.
 * Errors are StoreError with a stable `code` (./errors.ts). See docs/stores.md.
 */
import type {
  ReadinessProblem,
  RequiredRole,
  Role,
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
import type { LiveUsageStore } from './metrics/live-state.js';

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
  /**
   * The function key (protocol/function-key.ts): `<name>` in `default`, `<name>.<workspace>`
   * elsewhere; the API builds it from a checked name and the caller's workspace.
   */
  name: string;
  /** Changed only through DeployStore.apply, so every change is in the deploy log. */
  status: FunctionStatus;
  activeVersion: number | null;
  /** Starts at 1 and grows by one on every change; writers pass the revision they read. */
  revision: number;
  createdAt: number;
  updatedAt: number;
}

/** What a function's delete left: null, or why its cleanup is pending (FunctionStore.delete). */
export interface DeleteOutcome {
  cleanupError: unknown;
}

/** What a delete expects of the function besides its revision (ADR 0181). */
export interface DeleteOptions {
  /**
   * The function has no version: FUNCTION_CHANGED (nothing deleted) when it has one, also one
   * uploaded through another process after the caller's own check (ADR 0181, amended).
   */
  ifNoVersions?: boolean;
}

export interface FunctionStore {
  /**
   * Throws FUNCTION_EXISTS if the key is taken, WORKSPACE_NOT_FOUND when the key's workspace does
   * not exist, QUOTA_EXCEEDED (`quota: 'functions'`, `limit`, `used`) when the workspace is at its
   * `functions` quota — exactly, also against concurrent creates (in every process). The new
   * function is `active` with no version.
   */
  create(name: string, settings: FunctionSettings): Promise<FunctionRecord>;
  get(name: string): Promise<FunctionRecord | null>;
  /** Every function (of one workspace, with `workspace`), by key. */
  list(filter?: { workspace?: string }): Promise<FunctionRecord[]>;
  /**
   * Changes settings if the stored revision is still `expectedRevision`, else REVISION_CONFLICT
   * (re-read and retry); FUNCTION_NOT_FOUND if it does not exist.
   */
  update(name: string, expectedRevision: number, patch: Partial<FunctionSettings>): Promise<FunctionRecord>;
  /**
   * Removes the function with its versions, deploy log, runs and invoke tokens (blobs stay, shared
   * by content, until `VersionStore.collectBlobs` finds no version using them).
   * REVISION_CONFLICT / FUNCTION_NOT_FOUND as for update.
   *
   * A store whose delete is not one transaction (production: a tombstone, then the cleanup) may
   * have its cleanup fail after the function is gone: the delete resolves all the same (the
   * function is gone, `get` is null), with the cleanup's error as `cleanupError`, and the cleanup
   * is pending until `finishDelete` runs it. A `create` of the name finishes it first (ADR 0156).
   */
  delete(name: string, expectedRevision: number, options?: DeleteOptions): Promise<DeleteOutcome>;
  /**
   * Finishes the cleanup of a delete of `name` that failed after the function was gone; true when
   * one was pending (it is finished now), false when none was (or the function is live). Absent:
   * the store's delete never leaves one.
   */
  finishDelete?(name: string): Promise<boolean>;
  /** The keys whose delete's cleanup is pending, by key. */
  pendingDeletes?(): Promise<string[]>;
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
  /** Executable where it was uploaded from: deployed with mode 0555 (else 0444). Absent: false. */
  executable?: boolean;
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
  /** The last deploy or rollback start check of it; null: never checked (docs/adr/0252-a-versions-start-result-is-kept.md). */
  startCheck: VersionStartCheck | null;
}

/**
 * What the last deploy or rollback to a version found when it started it: `ok`, or the refusal's
 * code (`DEPLOY_START_FAILED`, a dependency build's `DEPS_*`) and the message its caller got.
 */
export interface VersionStartCheck {
  ok: boolean;
  code: string | null;
  message: string | null;
  /** Unix ms. */
  at: number;
}

/** A version in a history listing: without the file list and manifest. */
export type VersionSummary = Omit<VersionRecord, 'files' | 'manifest'> & { fileCount: number; totalBytes: number };

export interface VersionStore {
  /**
   * Numbers the version (previous + 1) and computes `changes` atomically. FUNCTION_NOT_FOUND if the
   * function does not exist; BLOB_NOT_FOUND (details.path) if a file's content is not in the BlobStore;
   * QUOTA_EXCEEDED (`quota: 'codeBytes'`) when the workspace's stored versions would pass its
   * `codeBytes` quota (exact in one process; see docs/stores.md for concurrent uploads across processes).
   */
  create(input: NewVersion): Promise<VersionRecord>;
  get(fn: string, version: number): Promise<VersionRecord | null>;
  latest(fn: string): Promise<VersionRecord | null>;
  /** Newest first; `before` returns versions numbered below it (paging). */
  list(fn: string, options?: { limit?: number; before?: number }): Promise<VersionSummary[]>;
  /**
   * Deletes one version (docs/adr/0098-deleting-versions.md): its record goes, its number is never
   * given again, and its files' contents stay until `collectBlobs` finds no version using them.
   * VERSION_NOT_FOUND; VERSION_ACTIVE when it is the function's active version; VERSION_IN_USE
   * (`details.usedBy: 'draft'`) when the function's draft is based on it. Checked in one step with
   * the delete in the embedded store; see docs/stores.md for the production store.
   */
  delete(fn: string, version: number): Promise<void>;
  /**
   * Keeps what a start check of the version found, over the one before (the only thing of a version
   * that changes: ADR 0252); nothing when the version is gone.
   */
  setStartCheck(fn: string, version: number, check: VersionStartCheck): Promise<void>;
  /**
   * Retention: deletes every version but the `keep` newest, the active one, the draft's base and
   * those in `protect`; returns the numbers deleted, oldest first. `keep` 0: deletes nothing.
   */
  prune(fn: string, keep: number, protect?: readonly number[]): Promise<number[]>;
  /**
   * Deletes the stored contents no version of any function uses, and not put or touched since
   * `cutoff` (Unix ms), nor named in `keep`: see docs/adr/0099-collecting-contents.md for why an
   * upload racing this never ends up with a missing content.
   */
  collectBlobs(cutoff: number, keep?: ReadonlySet<string>): Promise<{ removed: number; bytes: number }>;
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
  /** The newest deploy records the function keeps, this one among them (older ones deleted); undefined: all (ADR 0103). */
  keepRecords?: number;
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
  /** Only runs of this workspace's functions. */
  workspace?: string;
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

/**
 * The incarnation of each function a batch of runs is of: the `createdAt` of the function its key
 * named when the batch was written (ADR 0190). A function's delete removes the runs and logs of
 * its own incarnation or older, and those without one (written before the stamp, or of a key the
 * writer did not know): a delete's cleanup still running when the name is created again leaves
 * the new function's runs.
 */
export type Incarnations = ReadonlyMap<string, number>;

/** A run record as the store gives it back: with its stamp of incarnation, when it has one. */
export type StoredRunRecord = RunRecord & { fnCreatedAt?: number };

export interface RunStore {
  /**
   * Writes a batch in one go; a (runId, attempt) seen before is replaced (so retries and state
   * changes are safe). Attempts of one run may arrive in any order.
   */
  record(runs: readonly RunRecord[], incarnations?: Incarnations): Promise<void>;
  /** One item per run: its newest attempt. */
  list(query?: RunQuery): Promise<RunPage>;
  /**
   * The run's newest attempt, with logs and error, and the incarnation it was written for
   * (`fnCreatedAt`, ADR 0190) where it was stamped: `GET /runs/{runId}` compares it (ADR 0235).
   */
  get(runId: string): Promise<StoredRunRecord | null>;
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
  /**
   * Deletes `count` run records with their logs, the oldest (by start time) of whichever functions
   * hold the most bytes first (controlplane/store/eviction.ts: one function's flood of large runs
   * costs its own history, not its neighbours'); returns how many went.
   */
  pruneOldest(count: number): Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// Tokens: stored only as keyed digests; the clear secret is returned once, at issue/rotate time

/** `admin`: the install's root token; `invoke`: one function's; `workspace`: one workspace, one role (ADR 0011). */
export type TokenKind = 'admin' | 'invoke' | 'workspace';

export interface TokenRecord {
  id: string;
  kind: TokenKind;
  /** The function key for `invoke` tokens, the workspace name for `workspace` tokens; null for `admin`. */
  scope: string | null;
  label: string;
  /** A workspace token's role; null for the other kinds. */
  role: Role | null;
  /** Unix ms after which the token answers TOKEN_EXPIRED; null: never. */
  expiresAt: number | null;
  /** When it last authenticated a call (written at most once a minute per token and process); null: never. */
  lastUsedAt: number | null;
  /** The label of the token that created it ('' when the platform did). */
  createdBy: string;
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

export interface NewToken {
  kind: TokenKind;
  scope?: string | null;
  label?: string;
  /** Required for `workspace` tokens, ignored otherwise. */
  role?: Role | null;
  expiresAt?: number | null;
  createdBy?: string;
}

export interface RevokeOptions {
  /**
   * The newest revoked tokens (by creation) of the token's kind and scope that stay, this one
   * among them: older revoked rows are deleted (ADR 0103). Undefined: all stay.
   */
  keepRevoked?: number;
}

export interface TokenStore {
  issue(input: NewToken): Promise<IssuedToken>;
  /** The live token with this secret, of this kind (and scope, for invoke tokens), or null. */
  verify(secret: string, kind: TokenKind, scope?: string | null): Promise<TokenRecord | null>;
  /** Revokes the token and issues its replacement (same kind, scope, label) in one step. TOKEN_NOT_FOUND if missing or revoked. */
  rotate(id: string, options?: RevokeOptions): Promise<IssuedToken>;
  /** TOKEN_NOT_FOUND if missing or already revoked. */
  revoke(id: string, options?: RevokeOptions): Promise<void>;
  /**
   * Rewrites a live token's digest under the keyring's current key, given its secret (after a key
   * rotation, on the token's next use). Null when the token is gone, revoked, or `secret` is not
   * its secret; the record unchanged when it is already under the current key.
   */
  rekey(id: string, secret: string): Promise<TokenRecord | null>;
  /**
   * Newest first; revoked ones only with `includeRevoked`, and then at most `revokedLimit` of them
   * (the newest) when it is given: nothing deletes revoked tokens (red team round 7).
   */
  list(filter?: { kind?: TokenKind; scope?: string | null; includeRevoked?: boolean; revokedLimit?: number }): Promise<TokenRecord[]>;
  /** Records the last use of live tokens (a later time only ever moves `lastUsedAt` forward). */
  touch(uses: readonly { id: string; at: number }[]): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Workspaces (docs/adr/0011-tenants.md): names with quotas; `default` always exists

/** Each null: no limit. */
export interface WorkspaceQuotas {
  functions: number | null;
  /** Concurrent runtime instances of the workspace's functions (per platform process). */
  instances: number | null;
  invocationsPerMinute: number | null;
  /** Total size of the workspace's stored versions (deleted ones no longer count). */
  codeBytes: number | null;
  /** Run log lines kept (past it, new runs are recorded without their lines). */
  logBytes: number | null;
}

export const QUOTA_NAMES = ['functions', 'instances', 'invocationsPerMinute', 'codeBytes', 'logBytes'] as const satisfies readonly (keyof WorkspaceQuotas)[];
export const NO_QUOTAS: Readonly<WorkspaceQuotas> = Object.freeze({ functions: null, instances: null, invocationsPerMinute: null, codeBytes: null, logBytes: null });

export interface WorkspaceRecord {
  /** A DNS label of 1-30 characters (protocol WORKSPACE_NAME). */
  name: string;
  quotas: WorkspaceQuotas;
  createdAt: number;
  updatedAt: number;
}

/** What a workspace holds now (the stored part of its quotas' use). */
export interface WorkspaceUsage {
  functions: number;
  codeBytes: number;
  logBytes: number;
}

export interface WorkspaceStore {
  /** WORKSPACE_EXISTS when the name is taken. */
  create(name: string, quotas: WorkspaceQuotas): Promise<WorkspaceRecord>;
  get(name: string): Promise<WorkspaceRecord | null>;
  /** By name. */
  list(): Promise<WorkspaceRecord[]>;
  /** Changes the quotas given (null removes one). WORKSPACE_NOT_FOUND. */
  update(name: string, quotas: Partial<WorkspaceQuotas>): Promise<WorkspaceRecord>;
  /**
   * Deletes an empty workspace with its workspace tokens and content grants, in one step against
   * concurrent function creates: WORKSPACE_PROTECTED (`default`), WORKSPACE_NOT_FOUND,
   * WORKSPACE_NOT_EMPTY (it has functions; nothing is changed). Its audit entries stay.
   */
  delete(name: string): Promise<void>;
  usage(name: string): Promise<WorkspaceUsage>;
}

// ---------------------------------------------------------------------------------------------
// Audit log: every change, who made it, from where (docs/adr/0011-tenants.md, "Audit log")

export interface AuditActor {
  tokenId: string;
  label: string;
  /** A workspace token's role, or `root` for the install's admin token. */
  role: RequiredRole;
}

export interface NewAuditEntry {
  at: number;
  actor: AuditActor;
  /** The client's address as the socket saw it. */
  address: string;
  /** The workspace the change concerns; null for install-wide changes (the root token's rotation). */
  workspace: string | null;
  /** `function.create`, `deploy`, `token.revoke`, … (docs/api.md, "Audit log"). */
  action: string;
  /** What changed: a function's short name, a token id, a workspace name. */
  target: string;
  /** What the change was, without secret values (names of secrets, versions, quotas). */
  detail: Record<string, unknown>;
}

export interface AuditEntry extends NewAuditEntry {
  /** 1, 2, 3…: the order entries were written in, across every process (and every workspace). */
  seq: number;
  /**
   * 1, 2, 3… within the entry's workspace (install-wide entries count among themselves): what a
   * workspace is shown as `seq`, so the gaps of the global one tell it nothing about other
   * workspaces' changes (red team 6).
   */
  workspaceSeq: number;
}

export interface AuditQuery {
  /** One workspace's entries; undefined: every entry (the root token's `scope=all`). */
  workspace?: string;
  action?: string;
  /** A token id. */
  actor?: string;
  since?: number;
  until?: number;
  /** Default 50, at most 1000. */
  limit?: number;
  /**
   * From a previous page of the same kind (one workspace's, or every entry); opaque.
   * RUN_CURSOR_INVALID when it is not one. A workspace's pages go by `workspaceSeq`.
   */
  cursor?: string;
}

export interface AuditStore {
  /**
   * Appends one entry after every entry appended before it (anywhere). With `keep`, the entry's
   * workspace (or the install-wide entries) holds at most about `keep` entries: once it holds
   * `keep + auditTrimSlack(keep)`, its oldest are deleted, and one `audit.trim` entry takes
   * their place: the newest `keep` stay, that entry among them (docs/adr/0103-api-writes-bounded.md).
   */
  append(entry: NewAuditEntry, options?: { keep?: number }): Promise<AuditEntry>;
  /** Newest first. */
  list(query?: AuditQuery): Promise<{ items: AuditEntry[]; nextCursor: string | null }>;
  /** Deletes entries written before `cutoff`; returns how many. */
  prune(cutoff: number): Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// Content grants: which workspace may see which stored content (blobs are shared by sha256)

export interface BlobGrants {
  /** Records that `workspace` holds these contents (it uploaded them, or a version of it uses them). */
  grant(workspace: string, sha256s: readonly string[]): Promise<void>;
  /** Which of these contents `workspace` holds. */
  granted(workspace: string, sha256s: readonly string[]): Promise<Set<string>>;
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
   * `write`: the content is written even when it is already there, in the same steps, so the
   * answer takes as long as a new content's: a workspace's upload of what only another workspace
   * holds must not tell it that someone stored those bytes.
   */
  put(data: Uint8Array, expectedSha256?: string, options?: { write?: boolean }): Promise<{ sha256: string; size: number; created: boolean }>;
  get(sha256: string): Promise<Buffer | null>;
  /**
   * Marks these contents as used now (a version is being made of them: content not touched for the
   * collection's grace period is what `sweep` may delete); returns those not stored, each once.
   */
  touch(sha256s: readonly string[]): Promise<string[]>;
  /**
   * Deletes each stored content for which `inUse` is false that was last put or touched before
   * `cutoff`; a put or touch racing the delete of a content either keeps it or finds it gone (and
   * a put writes it again), never a content half there.
   */
  sweep(cutoff: number, inUse: (sha256: string) => boolean): Promise<{ removed: number; bytes: number }>;
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
// The console's working state: drafts and saved test requests (docs/console.md)

/** One edited file of a draft: its full text (UTF-8). */
export interface DraftFile {
  path: string;
  content: string;
}

/** Unsaved edits over a version: files changed or added (full text) and paths removed. */
export interface DraftInput {
  /** The version the edits start from; null before the first upload. */
  baseVersion: number | null;
  /** Sorted by path, unique. */
  files: DraftFile[];
  /** Paths of the base version left out, sorted. */
  removed: string[];
  updatedBy: string;
}

export interface DraftRecord extends DraftInput {
  function: string;
  /** 1 on the first save, one more on every save. */
  revision: number;
  updatedAt: number;
}

export interface DraftStore {
  get(fn: string): Promise<DraftRecord | null>;
  /**
   * Replaces the function's draft. FUNCTION_NOT_FOUND if the function does not exist. With
   * `ifRevision` (the revision the writer read, 0 for none) it replaces only a draft at that
   * revision, atomically, else DRAFT_CONFLICT (details: the stored `revision`, 0 for none);
   * without it the last write wins.
   */
  put(fn: string, draft: DraftInput, ifRevision?: number): Promise<DraftRecord>;
  /** False when there was none; with `ifRevision`, when there was none at that revision (a newer one is kept). */
  delete(fn: string, ifRevision?: number): Promise<boolean>;
}

export const TEST_CASE_MODES = ['sync', 'async'] as const;
export type TestCaseMode = (typeof TEST_CASE_MODES)[number];

/** A named request saved with a function, re-run from the console's Invoke tab. */
export interface TestCase {
  function: string;
  name: string;
  mode: TestCaseMode;
  /** The test invoke's body (`POST …/invoke`), validated by the API before it is stored. */
  request: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface TestCaseStore {
  /** By name. */
  list(fn: string): Promise<TestCase[]>;
  /** Creates or replaces. FUNCTION_NOT_FOUND if the function does not exist. */
  put(fn: string, name: string, input: { mode: TestCaseMode; request: Record<string, unknown> }): Promise<TestCase>;
  /** False when there was none. */
  delete(fn: string, name: string): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// The aggregate

/**
 * A run accepted (202) and not yet ended, as the async store beside Redis keeps it (production:
 * MongoDB's `async_accepted`; ADR 0225): what re-queues it, with its id, when Redis lost its data.
 */
export interface AcceptedRun {
  runId: string;
  function: string;
  acceptedAt: number;
  replayOf: string | null;
  trigger: 'async' | 'cron' | 'webhook';
  bornAt?: number;
  /** The job's payload (the request envelope), as the queue holds it. */
  payload: Buffer;
  idempotencyKey?: string;
  fingerprint?: string;
  /** The attempt it waits for (1 until a retry was scheduled). */
  attempt: number;
  notBefore?: number;
  /** When a dispatcher took its current attempt (null: waiting in the queue). */
  claimedAt: number | null;
}

/** The acceptance records (ADR 0225): written before a 202, removed when the run ends. */
export interface AcceptanceRecords {
  add(run: AcceptedRun): Promise<void>;
  remove(runId: string): Promise<void>;
  /** Its attempt was taken (at) or, null, handed back for a retry `attempt` due at `notBefore`. */
  mark(runId: string, claimedAt: number | null, retry?: { attempt: number; notBefore: number }): Promise<void>;
  /** Every record, oldest accepted first. */
  list(): Promise<AcceptedRun[]>;
}

export interface Store {
  readonly functions: FunctionStore;
  readonly versions: VersionStore;
  readonly deploys: DeployStore;
  readonly runs: RunStore;
  readonly tokens: TokenStore;
  readonly blobs: BlobStore;
  readonly keys: SecretKeys;
  /** Removed with their function. */
  readonly drafts: DraftStore;
  readonly testCases: TestCaseStore;
  readonly workspaces: WorkspaceStore;
  readonly audit: AuditStore;
  readonly blobGrants: BlobGrants;
  /** Production: the async runs accepted and not yet ended, kept beside Redis (ADR 0225). Absent embedded (one SQLite transaction accepts a run). */
  readonly acceptances?: AcceptanceRecords;
  /** Hourly usage rollups for the long windows (7 d, 30 d); optional so a store may go without. */
  readonly usageHistory?: UsageHistory;
  /** Where the embedded default keeps its in-memory live usage across restarts (metrics/live-state.ts); absent in production (Redis keeps it). */
  readonly liveUsage?: LiveUsageStore;
  /** The platform this database belongs to (production: made at its first start, kept in it); the Redis prefix is claimed with it (docs/adr/0130). Absent embedded. */
  readonly identity?: string;
  /** Production: whether the store answers as its callers met it, for /readyz (production/health.ts, ADR 0210). Absent embedded (the state disk's problem covers it). */
  readonly health?: { problem(): ReadinessProblem | null };
  /** Flushes and releases everything; later calls throw STORE_CLOSED. Idempotent. */
  close(): Promise<void>;
}
