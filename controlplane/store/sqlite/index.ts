/**
 * The embedded store: one state directory holding `platform.db` (SQLite in WAL mode, through
 * better-sqlite3's synchronous API) and `blobs/` (content-addressed files). No server to run;
 * everything survives a restart; deleting the directory resets the platform.
 * Why this shape: docs/adr/0003-embedded-store.md. Layout and retention: docs/stores.md.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { openIntactSqlite, SERVING_BUSY_TIMEOUT_MS, START_BUSY_TIMEOUT_MS } from './intact.js';
import type { Keyring } from '../../secrets/index.js';
import { DiskBlobStore } from '../disk-blobs.js';
import { StoreError } from '../errors.js';
import type { KeyUsage, Store } from '../types.js';
import type { SqliteContext } from './context.js';
import { sqliteDeployStore, sqliteFunctionStore } from './functions.js';
import { keyUsageAsFound, sqliteSecretKeys } from './keys.js';
import { migrate, SCHEMA_VERSION, schemaVersionOf } from './migrations.js';
import { sqliteRunStore } from './runs.js';
import { sqliteTokenStore } from './tokens.js';
import { sqliteUsageHistory } from './usage-history.js';
import { sqliteLiveUsage } from './live-usage.js';
import { sqliteVersionStore } from './versions.js';
import { sqliteDraftStore, sqliteTestCaseStore } from './workbench.js';
import { sqliteAuditStore, sqliteBlobGrants, sqliteWorkspaceStore } from './workspaces.js';

export const DB_FILE = 'platform.db';
export const BLOBS_DIR = 'blobs';

export interface SqliteStoreOptions {
  /** The state directory; created when missing. */
  stateDir: string;
  /** Seals secrets and keys token digests; its keys live outside the state directory (docs/secrets.md). */
  keyring: Keyring;
  /** The clock for createdAt/updatedAt/at fields (tests pass a fake one). Default Date.now. */
  now?: () => number;
  /**
   * SQLite `synchronous` in WAL mode. NORMAL (the default) survives a crash of the process; only a
   * power loss may drop the last commits. FULL also fsyncs every commit.
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a statement waits for another process's lock once the store is open. Default SERVING_BUSY_TIMEOUT_MS (./intact.ts); opening waits START_BUSY_TIMEOUT_MS. */
  busyTimeoutMs?: number;
  /**
   * Told when this open moved an existing platform.db to a newer schema (not a new file's): an
   * older build refuses the state directory from then on, so the start says so (upgrade round 2:
   * it said nothing, and the first a user heard of it was the older build's refusal).
   */
  onUpgraded?: (from: number, to: number) => void;
  /**
   * Run on what each key protects in an existing platform.db as found, before anything is written
   * to it (its migrations): a start it refuses (SECRETS_KEY_UNKNOWN) leaves the file as the older
   * build had it, so going back to that build works (ADR 0171).
   */
  checkBeforeWrite?: (usage: KeyUsage[]) => void;
}

export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  const stateDir = resolve(options.stateDir);
  // Owner only: the state holds run logs, token digests and sealed secrets (docs/security.md).
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const now = options.now ?? Date.now;
  const db = openIntactSqlite(join(stateDir, DB_FILE), { timeout: START_BUSY_TIMEOUT_MS });
  let closed = false;
  try {
    const found = schemaVersionOf(db);
    // A schema newer than this code is migrate's to refuse (STORE_SCHEMA_TOO_NEW): its tables are not read here.
    if (options.checkBeforeWrite !== undefined && found > 0 && found <= SCHEMA_VERSION) options.checkBeforeWrite(keyUsageAsFound(db, found));
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    const applied = migrate(db, now(), options.keyring);
    if (applied.length > 0 && applied[0]! > 1) options.onUpgraded?.(applied[0]! - 1, applied[applied.length - 1]!);
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? SERVING_BUSY_TIMEOUT_MS}`);
  } catch (err) {
    db.close();
    throw err;
  }
  const check = (): void => {
    if (closed) throw new StoreError('STORE_CLOSED', 'the store is closed');
  };
  const ctx: SqliteContext = { db, ring: options.keyring, now, check };
  let blobs: DiskBlobStore;
  try {
    blobs = await DiskBlobStore.open(join(stateDir, BLOBS_DIR), check);
  } catch (err) {
    db.close();
    throw err;
  }
  return {
    functions: sqliteFunctionStore(ctx),
    versions: sqliteVersionStore(ctx, blobs),
    deploys: sqliteDeployStore(ctx),
    runs: sqliteRunStore(ctx),
    tokens: sqliteTokenStore(ctx),
    keys: sqliteSecretKeys(ctx),
    drafts: sqliteDraftStore(ctx),
    testCases: sqliteTestCaseStore(ctx),
    usageHistory: sqliteUsageHistory(ctx),
    liveUsage: sqliteLiveUsage(ctx),
    workspaces: sqliteWorkspaceStore(ctx),
    audit: sqliteAuditStore(ctx),
    blobGrants: sqliteBlobGrants(ctx),
    blobs,
    async close() {
      if (closed) return;
      closed = true;
      // Closing the last connection checkpoints the WAL into platform.db.
      db.close();
    },
  };
}
