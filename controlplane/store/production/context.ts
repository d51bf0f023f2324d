/**
 * What every collection module of the MongoDB adapter shares: the collections (typed by their
 * documents), the clock and the open check, plus the schema (indexes) created at open.
 * Everything here stays within what both MongoDB and FerretDB 1.24 (SQLite backend) support;
 * the gaps we work around are listed in docs/stores.md ("FerretDB gaps").
 */
import { randomBytes } from 'node:crypto';
import type { Binary, Collection, Db } from 'mongodb';
import type { LogLine, RunSummary } from '../../../protocol/index.js';
import type { Keyring } from '../../secrets/index.js';
import { StoreError } from '../errors.js';
import type { SealedHookSecret } from '../sealed.js';
import type { Role } from '../../../protocol/index.js';
import type { AcceptedRun, DeployEntry, DraftRecord, FileChanges, FileEntry, FunctionLimits, FunctionSettings, FunctionStatus, TestCase, TokenKind, VersionStartCheck, WorkspaceQuotas } from '../types.js';
import { numberAuditLeftovers, upgradeToV2, upgradeToV3, upgradeToV4 } from './upgrade.js';

/**
 * Bumped when documents change shape; a database written by a newer platform is refused.
 * 2: keyed token digests (`digest`, `keyId` instead of `hash`), sealed webhook secrets and `secrets`.
 * 3: workspaces (docs/adr/0011-tenants.md): `workspace` on functions, versions, runs and logs,
 *    function slots, workspace tokens, the audit log, content grants.
 * 4: `wseq` on audit entries (their number within their workspace, red team 6).
 */
export const SCHEMA_VERSION = 4;

/** `env` as a list: MongoDB/FerretDB refuse field names with `.` or a leading `$`, env names may have them. */
export interface EnvPair {
  k: string;
  v: string;
}

/**
 * One revision of a function: documents are only ever inserted (`_id` `<name>/<seq>`), never
 * updated, because a unique-`_id` insert is the one write FerretDB 1.24 makes atomic under
 * concurrency (its conditional updates are not; see docs/stores.md). The function's state is its
 * highest `seq`; a `deleted` revision is a tombstone. `seq` keeps growing across delete/re-create,
 * `base` is the seq a function was created at, so its revision is `seq - base + 1`.
 */
export interface FunctionDoc {
  _id: string;
  /** The function key. */
  name: string;
  /** The key's workspace (absent on documents from before schema 3: `default`). */
  workspace?: string;
  seq: number;
  base: number;
  deleted: boolean;
  /**
   * On a tombstone: false until the delete's cleanup (versions, runs, logs, tokens, the slot, …)
   * has finished; a cleanup that failed leaves it false for `finishDelete` (ADR 0156). Absent on
   * tombstones from before it (taken as finished) and on live revisions.
   */
  purged?: boolean;
  preset: FunctionSettings['preset'];
  invocation: FunctionSettings['invocation'];
  limits: FunctionLimits;
  env: EnvPair[];
  /** Secret env values, each `v` a Keyring envelope (../sealed.ts); absent on documents written before them. */
  secrets?: EnvPair[];
  auth: FunctionSettings['auth'];
  retry?: FunctionSettings['retry'];
  /** Webhook secrets, sealed (see FunctionSettings.hookSecrets); trigger ids are DNS labels, safe as keys. */
  hookSecrets?: Record<string, SealedHookSecret>;
  status: FunctionStatus;
  activeVersion: number | null;
  /** Seq of the last deploy entry; `lastDeploy` is that entry, carried forward (re-logged if its insert was lost). */
  deploySeq: number;
  lastDeploy: DeployEntry | null;
  createdAt: number;
  updatedAt: number;
}

export interface VersionDoc {
  /** `<function>/<version>`: unique, so two creates can never take the same number. */
  _id: string;
  function: string;
  /** The function key's workspace (for the workspace's codeBytes). */
  workspace?: string;
  version: number;
  entrypoint: string;
  files: FileEntry[];
  /** JSON text: a manifest may hold keys MongoDB refuses as field names. */
  manifest: string;
  changes: FileChanges;
  fileCount: number;
  totalBytes: number;
  createdAt: number;
  createdBy: string;
  note: string;
  /** The last deploy or rollback start check of it (ADR 0252); absent: never checked. */
  startCheck?: VersionStartCheck;
  /**
   * When it was deleted (docs/adr/0098-deleting-versions.md): a deleted version stays as this
   * marker (files and manifest dropped, 0 bytes) so its `_id`, and so its number, is never taken again.
   */
  deletedAt?: number;
  /**
   * The incarnation of the function it belongs to: its function document's `base` when written
   * (absent on documents from before ADR 0159). The cleanup of a deleted function removes only
   * those of its incarnation or older, so a late cleanup (a paused process, the sweep) leaves alone
   * a function created again under the name meanwhile.
   */
  gen?: number;
}

export interface DeployDoc extends DeployEntry {
  /** `<function>/<seq>` */
  _id: string;
  /** As VersionDoc's. */
  gen?: number;
}

export interface RunDoc extends RunSummary {
  /** `runId` for attempt 1, `runId#n` for attempt n (controlplane/store/production/runs.ts). */
  _id: string;
  /** Set on every attempt but the run's newest (lists skip them). */
  superseded?: boolean;
  /** The function key's workspace. */
  workspace?: string;
  /** What the record takes past RECORD_BYTES (eviction.ts `extraRecordBytes`), for the size cap's plan; absent: nothing (or written before red team round 34). */
  extraBytes?: number;
  /** The incarnation of its function (its `createdAt`) when written (ADR 0190); absent: written before, or unknown to the writer. */
  fnCreatedAt?: number;
}

export interface LogDoc {
  /** The run id. */
  _id: string;
  function: string;
  /** The function key's workspace, and what the lines count against its logBytes (absent before schema 3: not counted). */
  workspace?: string;
  bytes?: number;
  startedAt: number;
  lines: LogLine[];
  /** Retention: a TTL index removes the document after this time (or `prune`/the sweeper, on FerretDB). */
  expireAt: Date;
  /** As its run's (ADR 0190). */
  fnCreatedAt?: number;
}

export interface TokenDoc {
  _id: string;
  kind: TokenKind;
  scope: string | null;
  label: string;
  /** Keyring.tokenDigest of the secret under `keyId` (hex). Absent only on a schema-1 document not upgraded. */
  digest?: string;
  /** Null or absent: matches nothing. */
  keyId?: string | null;
  /** Schema 1: the plain sha256 (hex); removed by the upgrade to schema 2. */
  hash?: string;
  createdAt: number;
  /** Tie-break for tokens created in the same millisecond (newest first). */
  seq: number;
  revokedAt: number | null;
  /** Workspace tokens (schema 3). */
  role?: Role | null;
  expiresAt?: number | null;
  lastUsedAt?: number | null;
  createdBy?: string;
  /** An invoke token's: as VersionDoc's. */
  gen?: number;
}

/**
 * One revision of a workspace, inserted like a function's (`_id` `<name>/<seq>`, never updated):
 * its latest `seq` is its state, a `deleted` one a tombstone.
 */
export interface WorkspaceDoc {
  _id: string;
  name: string;
  seq: number;
  deleted: boolean;
  quotas: WorkspaceQuotas;
  createdAt: number;
  updatedAt: number;
}

/**
 * A function's place in its workspace (`_id` `<workspace>#<n>`): claimed, lowest free number first,
 * before the function's document is written, released when it is deleted. The unique `_id` makes
 * the `functions` quota exact across processes (see ./workspaces.ts).
 */
export interface SlotDoc {
  _id: string;
  workspace: string;
  slot: number;
  function: string;
  at: number;
  /** As VersionDoc's: the incarnation that claimed it. */
  gen?: number;
}

export interface AuditDoc {
  /** The entry's `seq`: the next number, taken by a unique insert (the order across processes). */
  _id: number;
  /** The number within the entry's workspace (null: install-wide, counted among themselves). */
  wseq: number;
  at: number;
  actor: { tokenId: string; label: string; role: string };
  address: string;
  workspace: string | null;
  action: string;
  target: string;
  /** JSON text: details may hold keys MongoDB refuses as field names. */
  detail: string;
}

/** `<workspace>/<sha256>`: the workspace holds this content. */
export interface GrantDoc {
  _id: string;
  workspace: string;
}

export interface BlobDoc {
  /** sha256, lower-case hex. Written after all its chunks, so its presence means the blob is whole. */
  _id: string;
  size: number;
  chunks: number;
  /**
   * Names this copy's chunks (`<sha256>:<gen>:<index>`); absent on blobs written before contents
   * could be deleted (`<sha256>:<index>`). A put after a collection writes new chunks, so the
   * collector deleting the old ones never takes the new copy's.
   */
  gen?: string;
  /** When it was last put or touched (Unix ms); absent: never since the collector existed. */
  touchedAt?: number;
}

export interface ChunkDoc {
  /** `<sha256>:<index>` */
  _id: string;
  data: Binary;
}

/** One batch's contribution to one function-hour (see ./usage-history.ts); `_id` `<function>/<hour>/<batchId>`. */
export interface UsageRollupDoc {
  _id: string;
  function: string;
  /** floor(startedAt / 1 h). */
  hour: number;
  count: number;
  errors: number;
  cold: number;
  sumMs: number;
  /** Counts per latency bucket (controlplane/store/metrics/histogram.ts). */
  latency: number[];
  /** The cold runs' latency and init-time buckets, and scale-to-zero events; absent in documents written before them. */
  coldLatency?: number[];
  init?: number[];
  scaleToZero?: number;
}

/** The console's draft of a function (./workbench.ts); `_id` the function name. */
export interface DraftDoc extends DraftRecord {
  _id: string;
  /** The `base` of the function's revision chain it belongs to. */
  fnBase: number;
}

/** A saved test request (./workbench.ts); `_id` `<function>/<name>`. */
export interface TestCaseDoc extends Omit<TestCase, 'request'> {
  _id: string;
  fnBase: number;
  /** JSON text. */
  request: string;
}

export interface MetaDoc {
  _id: string;
  version: number;
  at: number;
}

/** An async run accepted and not yet ended (`async_accepted`, ./acceptances.ts; ADR 0225). */
export interface AcceptedDoc extends Omit<AcceptedRun, 'runId' | 'payload'> {
  _id: string;
  payload: Binary;
}

export interface Collections {
  functions: Collection<FunctionDoc>;
  versions: Collection<VersionDoc>;
  deploys: Collection<DeployDoc>;
  runs: Collection<RunDoc>;
  logs: Collection<LogDoc>;
  tokens: Collection<TokenDoc>;
  blobs: Collection<BlobDoc>;
  chunks: Collection<ChunkDoc>;
  meta: Collection<MetaDoc>;
  usageRollups: Collection<UsageRollupDoc>;
  drafts: Collection<DraftDoc>;
  testCases: Collection<TestCaseDoc>;
  workspaces: Collection<WorkspaceDoc>;
  slots: Collection<SlotDoc>;
  audit: Collection<AuditDoc>;
  grants: Collection<GrantDoc>;
  accepted: Collection<AcceptedDoc>;
}

export interface MongoContext {
  readonly db: Db;
  readonly col: Collections;
  /**
   * The same collections through a client of their own whose commands may run for
   * MAINTENANCE_SOCKET_TIMEOUT_MS: the retention prunes' server-side deletes over a big backlog
   * (a day of runs on FerretDB/PostgreSQL took over the 30 s every other command gets; ADR 0210).
   */
  readonly long: Collections;
  /** Seals secret fields and keys token digests (docs/secrets.md). */
  readonly ring: Keyring;
  /** How long logs are kept (their `expireAt` is startedAt + this). */
  readonly logRetentionMs: number;
  now(): number;
  /** Throws STORE_CLOSED once the store is closed. */
  check(): void;
  /** Tests only: run between steps, where a fault is injected (a server stopped there). */
  readonly testHooks?: MongoTestHooks;
}

/** Points between a write's steps where a test stops a server (MongoStoreOptions.testHooks). */
export interface MongoTestHooks {
  /** A function's delete, after its tombstone is written and before its cleanup (ADR 0156). */
  afterTombstone?(name: string): Promise<void>;
  /** A settings change (`FunctionStore.update`) or a deploy (`DeployStore.apply`), after its read and before its write (ADR 0159). */
  beforeUpdateWrite?(name: string): Promise<void>;
  /** A delete's cleanup (or the sweep's, or a create's of an earlier function), before its first removal (ADR 0159). */
  beforePurgeSteps?(name: string): Promise<void>;
  /** A version's upload (`VersionStore.create`), after its read of the function and before it writes the version (ADR 0181). */
  beforeVersionWrite?(name: string): Promise<void>;
  /** A first start, after it wrote its schema record and before it looks for a data binding's mark again (ADR 0184). */
  afterSchemaWrite?(database: string): Promise<void>;
}

/**
 * What belongs to incarnation `upTo` of a function or an older one (`gen` ≤ it, or no `gen`:
 * written before ADR 0159): what a cleanup of that incarnation may remove.
 */
export function ofIncarnation(upTo: number, field: 'gen' | 'fnBase' | 'fnCreatedAt' = 'gen'): Record<string, unknown> {
  return { $or: [{ [field]: { $exists: false } }, { [field]: { $lte: upTo } }] };
}

export function collections(db: Db): Collections {
  return {
    functions: db.collection<FunctionDoc>('functions'),
    versions: db.collection<VersionDoc>('versions'),
    deploys: db.collection<DeployDoc>('deploys'),
    runs: db.collection<RunDoc>('runs'),
    logs: db.collection<LogDoc>('logs'),
    tokens: db.collection<TokenDoc>('tokens'),
    blobs: db.collection<BlobDoc>('blobs'),
    chunks: db.collection<ChunkDoc>('blob_chunks'),
    meta: db.collection<MetaDoc>('meta'),
    usageRollups: db.collection<UsageRollupDoc>('usage_rollups'),
    drafts: db.collection<DraftDoc>('drafts'),
    testCases: db.collection<TestCaseDoc>('test_cases'),
    workspaces: db.collection<WorkspaceDoc>('workspaces'),
    slots: db.collection<SlotDoc>('function_slots'),
    audit: db.collection<AuditDoc>('audit'),
    grants: db.collection<GrantDoc>('blob_grants'),
    accepted: db.collection<AcceptedDoc>('async_accepted'),
  };
}

/** MongoDB's duplicate key error (also FerretDB's), matched by code. */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

function isNotImplemented(err: unknown): boolean {
  // 238 NotImplemented: what FerretDB answers for index options it lacks (TTL among them).
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 238;
}

/**
 * Creates the indexes (idempotent) and checks the schema version. Returns whether the server
 * enforces log retention itself (a TTL index); when false the adapter sweeps expired logs.
 */
export async function ensureSchema(col: Collections, now: number, ring: Keyring): Promise<{ ttl: boolean }> {
  const meta = await col.meta.findOne({ _id: 'schema' });
  if (meta !== null && meta.version > SCHEMA_VERSION) {
    throw new StoreError('STORE_SCHEMA_TOO_NEW', `the database has schema ${meta.version}, newer than this platform's ${SCHEMA_VERSION}; run the newer build, restore the backup taken before the upgrade (docs/platform.md "Upgrading"), or use another database`, { found: meta.version, supported: SCHEMA_VERSION });
  }
  // Before the indexes: the upgrade drops schema 1's unique index on the token `hash`.
  if (meta !== null && meta.version < 2) await upgradeToV2(col, ring);
  // Every database has the default workspace; one from before workspaces gets its functions' slots and fields.
  await upgradeToV3(col, now, meta !== null && meta.version < 3);
  if (meta !== null && meta.version < 4) await upgradeToV4(col);
  // Entries an older process appended after the move to 4 (a rolling upgrade): numbered now.
  else if (meta !== null) await numberAuditLeftovers(col);
  await Promise.all([
    col.functions.createIndex({ name: 1, seq: -1 }, { name: 'by_name' }),
    col.versions.createIndex({ function: 1, version: -1 }, { name: 'by_function' }),
    col.deploys.createIndex({ function: 1, seq: -1 }, { name: 'by_function' }),
    col.runs.createIndex({ startedAt: -1, _id: -1 }, { name: 'by_time' }),
    col.runs.createIndex({ function: 1, startedAt: -1, _id: -1 }, { name: 'by_function_time' }),
    col.runs.createIndex({ status: 1, startedAt: -1, _id: -1 }, { name: 'by_status_time' }),
    col.runs.createIndex({ runId: 1, attempt: 1 }, { name: 'by_run' }),
    col.logs.createIndex({ function: 1 }, { name: 'by_function' }),
    col.logs.createIndex({ startedAt: 1 }, { name: 'by_start' }),
    col.tokens.createIndex({ digest: 1 }, { name: 'by_digest' }),
    col.tokens.createIndex({ kind: 1, scope: 1 }, { name: 'by_scope' }),
    col.usageRollups.createIndex({ function: 1, hour: 1 }, { name: 'by_function_hour' }),
    col.usageRollups.createIndex({ hour: 1 }, { name: 'by_hour' }),
    col.testCases.createIndex({ function: 1 }, { name: 'by_function' }),
    col.functions.createIndex({ workspace: 1, name: 1 }, { name: 'by_workspace' }),
    col.versions.createIndex({ workspace: 1 }, { name: 'by_workspace' }),
    col.runs.createIndex({ workspace: 1, startedAt: -1, _id: -1 }, { name: 'by_workspace_time' }),
    col.logs.createIndex({ workspace: 1 }, { name: 'by_workspace' }),
    col.workspaces.createIndex({ name: 1, seq: -1 }, { name: 'by_name' }),
    col.slots.createIndex({ workspace: 1, slot: 1 }, { name: 'by_workspace' }),
    col.slots.createIndex({ function: 1 }, { name: 'by_function' }),
    col.audit.createIndex({ workspace: 1, _id: -1 }, { name: 'by_workspace' }),
    col.audit.createIndex({ workspace: 1, wseq: -1 }, { name: 'by_workspace_wseq' }),
    col.audit.createIndex({ at: 1 }, { name: 'by_time' }),
  ]);
  let ttl = true;
  try {
    await col.logs.createIndex({ expireAt: 1 }, { name: 'retention', expireAfterSeconds: 0 });
  } catch (err) {
    if (!isNotImplemented(err)) throw err;
    ttl = false;
    await col.logs.createIndex({ expireAt: 1 }, { name: 'retention_sweep' });
  }
  // An insert, not an upsert: FerretDB's concurrent upserts of one _id can fail with E11000.
  try {
    await col.meta.insertOne({ _id: 'schema', version: SCHEMA_VERSION, at: now });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    // Written by an older platform: its upgrades ran above; record the new version.
    if (meta !== null && meta.version < SCHEMA_VERSION) await col.meta.updateOne({ _id: 'schema' }, { $set: { version: SCHEMA_VERSION, at: now } });
  }
  return { ttl };
}

/** The `meta` document that names the platform a database belongs to (made once, never changed). */
interface IdentityDoc {
  _id: 'platform';
  id: string;
  at: number;
}

/**
 * The platform's id: made at the first start on a database and kept in it (`meta`, `_id:
 * 'platform'`), so every process on that database, a restart, and a restore of its dump read the
 * same one. Redis's prefix is claimed with it (redis-owner.ts, docs/adr/0130).
 */
export async function platformIdentity(db: Db, now: number): Promise<string> {
  const meta = db.collection<IdentityDoc>('meta');
  const found = await meta.findOne({ _id: 'platform' });
  if (found !== null) return found.id;
  // An insert, not an upsert (FerretDB's concurrent upserts of one _id can fail): of two processes
  // starting at once one writes, the other reads what it wrote.
  const id = randomBytes(16).toString('hex');
  try {
    await meta.insertOne({ _id: 'platform', id, at: now });
    return id;
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const written = await meta.findOne({ _id: 'platform' });
    if (written === null) throw err;
    return written.id;
  }
}
