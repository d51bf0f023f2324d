/**
 * Versioned schema of platform.db. Migrations are appended, never edited: each runs once, in its
 * own transaction, and `schema_version` records it. A database newer than this code is refused
 * rather than guessed at. See docs/stores.md ("Embedded layout").
 */
import type { Database } from 'better-sqlite3';
import type { Keyring } from '../../secrets/index.js';
import { StoreError } from '../errors.js';
import { sealLegacyHooks } from '../sealed.js';
import type { StoredSettings } from './functions.js';
import { NO_QUOTAS } from '../types.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Data changes that need code (and the keyring), run after `sql` in the same transaction. */
  upgrade?: (db: Database, ring: Keyring, now: number) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'functions, versions, deploys, runs, tokens',
    sql: `
      CREATE TABLE functions (
        name           TEXT PRIMARY KEY,
        settings       TEXT NOT NULL,            -- JSON FunctionSettings
        status         TEXT NOT NULL CHECK (status IN ('active', 'paused')),
        active_version INTEGER,
        revision       INTEGER NOT NULL,
        deploy_seq     INTEGER NOT NULL DEFAULT 0,
        created_at     INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE versions (
        function    TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
        version     INTEGER NOT NULL,
        entrypoint  TEXT NOT NULL,
        files       TEXT NOT NULL,               -- JSON FileEntry[]
        manifest    TEXT NOT NULL,               -- JSON
        changes     TEXT NOT NULL,               -- JSON FileChanges
        file_count  INTEGER NOT NULL,
        total_bytes INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,
        created_by  TEXT NOT NULL,
        note        TEXT NOT NULL,
        PRIMARY KEY (function, version)
      ) STRICT, WITHOUT ROWID;
      -- Versions are immutable: the database itself refuses an UPDATE.
      CREATE TRIGGER versions_immutable BEFORE UPDATE ON versions
      BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END;

      CREATE TABLE deploys (
        function     TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
        seq          INTEGER NOT NULL,
        action       TEXT NOT NULL,
        from_version INTEGER,
        to_version   INTEGER,
        status       TEXT NOT NULL,
        actor        TEXT NOT NULL,
        note         TEXT NOT NULL,
        at           INTEGER NOT NULL,
        PRIMARY KEY (function, seq)
      ) STRICT, WITHOUT ROWID;

      -- No foreign key to functions: the gateway may record runs of functions the control plane
      -- does not manage (a functions directory), and a run outlives nothing but its retention.
      CREATE TABLE runs (
        run_id     TEXT PRIMARY KEY,
        function   TEXT NOT NULL,
        status     TEXT NOT NULL,
        run_trigger TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        summary    TEXT NOT NULL,                -- JSON RunSummary
        logs       TEXT NOT NULL                 -- JSON LogLine[]
      ) STRICT;
      CREATE INDEX runs_by_time     ON runs (started_at DESC, run_id DESC);
      CREATE INDEX runs_by_function ON runs (function, started_at DESC, run_id DESC);
      CREATE INDEX runs_by_status   ON runs (status, started_at DESC, run_id DESC);

      CREATE TABLE tokens (
        id         TEXT PRIMARY KEY,
        kind       TEXT NOT NULL CHECK (kind IN ('admin', 'invoke')),
        scope      TEXT,
        label      TEXT NOT NULL,
        hash       TEXT NOT NULL UNIQUE,         -- sha256 hex of the secret; the secret is never stored
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      ) STRICT;
      CREATE INDEX tokens_by_scope ON tokens (kind, scope);
    `,
  },
  {
    version: 2,
    name: 'usage rollups',
    sql: `
      -- One row per function-hour (hour = floor(ms / 3600000)); latency is the JSON array of
      -- HotMetrics' histogram bucket counts (controlplane/store/metrics/histogram.ts).
      CREATE TABLE usage_rollups (
        function TEXT NOT NULL,
        hour     INTEGER NOT NULL,
        count    INTEGER NOT NULL,
        errors   INTEGER NOT NULL,
        cold     INTEGER NOT NULL,
        sum_ms   REAL NOT NULL,
        latency  TEXT NOT NULL,
        PRIMARY KEY (function, hour)
      ) STRICT, WITHOUT ROWID;
      -- Batch ids applied, so a retried batch counts once (written in the same transaction).
      CREATE TABLE usage_batches (
        batch_id TEXT PRIMARY KEY,
        at       INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX usage_batches_by_time ON usage_batches (at);
    `,
  },
  {
    version: 3,
    name: 'secrets at rest: keyed token digests, sealed webhook secrets',
    sql: `
      -- digest = HMAC-SHA256(token key of key_id, sha256(secret)), hex; key_id NULL matches nothing.
      ALTER TABLE tokens RENAME COLUMN hash TO digest;
      ALTER TABLE tokens ADD COLUMN key_id TEXT;
    `,
    // Once, in the migration's transaction: existing sha256 rows are re-keyed (the digest is made
    // from the sha256, so no secret is needed) and clear webhook secrets sealed. A row planted
    // later without a key id is never re-keyed, so it never matches (docs/adr/0009-secrets-at-rest.md).
    upgrade(db, ring) {
      const rekey = db.prepare('UPDATE tokens SET digest = ?, key_id = ? WHERE id = ?');
      for (const row of db.prepare('SELECT id, digest FROM tokens WHERE key_id IS NULL').all() as { id: string; digest: string }[]) {
        rekey.run(ring.tokenDigestFromSha256(row.digest), ring.currentId, row.id);
      }
      const write = db.prepare('UPDATE functions SET settings = ? WHERE name = ?');
      for (const row of db.prepare('SELECT name, settings FROM functions').all() as { name: string; settings: string }[]) {
        const settings = JSON.parse(row.settings) as StoredSettings;
        if (settings.hookSecrets === undefined) continue;
        const { hookSecrets, changed } = sealLegacyHooks(ring, row.name, settings.hookSecrets);
        if (changed > 0) write.run(JSON.stringify({ ...settings, hookSecrets }), row.name);
      }
    },
  },
  {
    version: 4,
    name: 'runs: one record per attempt of a run (run_id, attempt), the latest one listed',
    sql: `
      CREATE TABLE runs_by_attempt (
        run_id      TEXT NOT NULL,
        attempt     INTEGER NOT NULL,
        latest      INTEGER NOT NULL,              -- 1 for the run's newest attempt (what lists show)
        function    TEXT NOT NULL,
        status      TEXT NOT NULL,
        run_trigger TEXT NOT NULL,
        started_at  INTEGER NOT NULL,
        summary     TEXT NOT NULL,                 -- JSON RunSummary
        logs        TEXT NOT NULL,                 -- JSON LogLine[]
        PRIMARY KEY (run_id, attempt)
      ) STRICT;
      INSERT INTO runs_by_attempt (run_id, attempt, latest, function, status, run_trigger, started_at, summary, logs)
        SELECT run_id, 1, 1, function, status, run_trigger, started_at, summary, logs FROM runs;
      DROP TABLE runs;
      ALTER TABLE runs_by_attempt RENAME TO runs;
      CREATE INDEX runs_by_time     ON runs (latest, started_at DESC, run_id DESC);
      CREATE INDEX runs_by_function ON runs (function, latest, started_at DESC, run_id DESC);
      CREATE INDEX runs_by_status   ON runs (status, latest, started_at DESC, run_id DESC);
      CREATE INDEX runs_by_start    ON runs (started_at);
    `,
  },
  {
    version: 5,
    name: 'tenants: workspaces, workspace tokens with roles and expiry, the audit log, content grants',
    sql: `
      -- docs/adr/0011-tenants.md. Every function belongs to one workspace; the functions from before
      -- belong to 'default' (their keys are their names).
      CREATE TABLE workspaces (
        name       TEXT PRIMARY KEY,
        quotas     TEXT NOT NULL,                -- JSON WorkspaceQuotas (null: no limit)
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      ALTER TABLE functions ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default';
      CREATE INDEX functions_by_workspace ON functions (workspace, name);
      ALTER TABLE runs ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default';
      ALTER TABLE runs ADD COLUMN log_bytes INTEGER NOT NULL DEFAULT 0;
      UPDATE runs SET log_bytes = CASE WHEN logs = '[]' THEN 0 ELSE length(CAST(logs AS BLOB)) END;
      CREATE INDEX runs_by_workspace ON runs (workspace, latest, started_at DESC, run_id DESC);

      -- The kind CHECK cannot be altered in place: the table is rebuilt (rowids kept: they order ties).
      CREATE TABLE tokens_v5 (
        id           TEXT PRIMARY KEY,
        kind         TEXT NOT NULL CHECK (kind IN ('admin', 'invoke', 'workspace')),
        scope        TEXT,                       -- invoke: the function key; workspace: the workspace
        label        TEXT NOT NULL,
        digest       TEXT NOT NULL UNIQUE,
        key_id       TEXT,
        role         TEXT CHECK (role IS NULL OR role IN ('viewer', 'invoker', 'deployer', 'owner')),
        expires_at   INTEGER,
        last_used_at INTEGER,
        created_by   TEXT NOT NULL DEFAULT '',
        created_at   INTEGER NOT NULL,
        revoked_at   INTEGER
      ) STRICT;
      INSERT INTO tokens_v5 (rowid, id, kind, scope, label, digest, key_id, created_at, revoked_at)
        SELECT rowid, id, kind, scope, label, digest, key_id, created_at, revoked_at FROM tokens;
      DROP TABLE tokens;
      ALTER TABLE tokens_v5 RENAME TO tokens;
      CREATE INDEX tokens_by_scope ON tokens (kind, scope);

      CREATE TABLE audit (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        at          INTEGER NOT NULL,
        actor_id    TEXT NOT NULL,
        actor_label TEXT NOT NULL,
        actor_role  TEXT NOT NULL,
        address     TEXT NOT NULL,
        workspace   TEXT,                        -- NULL: install-wide (the root token's rotation)
        action      TEXT NOT NULL,
        target      TEXT NOT NULL,
        detail      TEXT NOT NULL                -- JSON, never a secret value
      ) STRICT;
      CREATE INDEX audit_by_workspace ON audit (workspace, seq DESC);
      CREATE INDEX audit_by_time      ON audit (at);

      -- Which workspace holds which content (blobs are shared by sha256 across workspaces).
      CREATE TABLE blob_grants (
        workspace TEXT NOT NULL,
        sha256    TEXT NOT NULL,
        PRIMARY KEY (workspace, sha256)
      ) STRICT, WITHOUT ROWID;
    `,
    // The default workspace, and its grant of every content its versions use (uploads of other
    // contents from before are not known per workspace: a client uploads them again).
    upgrade(db, _ring, now) {
      db.prepare('INSERT INTO workspaces (name, quotas, created_at, updated_at) VALUES (?, ?, ?, ?)').run('default', JSON.stringify(NO_QUOTAS), now, now);
      const grant = db.prepare("INSERT OR IGNORE INTO blob_grants (workspace, sha256) VALUES ('default', ?)");
      for (const row of db.prepare('SELECT files FROM versions').all() as { files: string }[]) {
        for (const file of JSON.parse(row.files) as { sha256: string }[]) grant.run(file.sha256);
      }
    },
  },
  {
    version: 6,
    name: 'cold-start rollups; console drafts and test cases',
    sql: `
      -- The cold runs' latency and init-time histograms (same buckets as latency) and the
      -- scale-to-zero count of each function-hour; '[]' / 0 in hours written before.
      ALTER TABLE usage_rollups ADD COLUMN cold_latency TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE usage_rollups ADD COLUMN init TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE usage_rollups ADD COLUMN scale_to_zero INTEGER NOT NULL DEFAULT 0;

      -- One draft (unsaved edits over a version) per function, and named test requests; keyed by
      -- the function key (ADR 0011: <name> or <name>.<workspace>), removed with the function.
      CREATE TABLE drafts (
        function     TEXT PRIMARY KEY REFERENCES functions(name) ON DELETE CASCADE,
        base_version INTEGER,
        files        TEXT NOT NULL,              -- JSON DraftFile[]
        removed      TEXT NOT NULL,              -- JSON string[]
        revision     INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        updated_by   TEXT NOT NULL
      ) STRICT;
      CREATE TABLE test_cases (
        function   TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
        name       TEXT NOT NULL,
        request    TEXT NOT NULL,                -- JSON TestRequest
        mode       TEXT NOT NULL CHECK (mode IN ('sync', 'async')),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (function, name)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 7,
    name: 'runs: what each function holds, for eviction past the size cap',
    sql: `
      -- Covers the size cap's GROUP BY function (sum of log_bytes) and each function's oldest runs
      -- (controlplane/store/eviction.ts): an index-only scan (~20 ms for 300 000 runs, where the
      -- table scan took ~500 ms).
      CREATE INDEX runs_by_function_start ON runs (function, started_at, log_bytes);
    `,
  },
  {
    version: 8,
    name: 'usage_live: the embedded live usage kept across a graceful restart',
    sql: `
      -- The in-memory minute buckets and last success of each function, written when the platform
      -- stops and read when it starts (controlplane/store/sqlite/live-usage.ts).
      CREATE TABLE usage_live (
        function     TEXT PRIMARY KEY,
        minutes      TEXT NOT NULL,              -- JSON [[minute index, Tally], ...]
        last_success TEXT                        -- JSON {runId, at}
      ) STRICT;
    `,
  },
  {
    version: 9,
    name: 'functions.last_version: numbers of deleted versions are never given again',
    sql: `
      -- Versions can be deleted (docs/adr/0098-deleting-versions.md): the next number comes from
      -- here, not from the newest row, which may have gone.
      ALTER TABLE functions ADD COLUMN last_version INTEGER NOT NULL DEFAULT 0;
      UPDATE functions SET last_version = coalesce((SELECT max(v.version) FROM versions v WHERE v.function = functions.name), 0);
    `,
  },
  {
    version: 10,
    name: 'audit.wseq: entries numbered within their workspace',
    sql: `
      -- What a workspace sees as \`seq\`: the global number's gaps counted other workspaces'
      -- changes (red team 6). Install-wide entries (workspace NULL) count among themselves.
      ALTER TABLE audit ADD COLUMN wseq INTEGER NOT NULL DEFAULT 0;
      UPDATE audit SET wseq = r.n FROM (SELECT seq, row_number() OVER (PARTITION BY workspace ORDER BY seq) AS n FROM audit) AS r WHERE r.seq = audit.seq;
      CREATE INDEX audit_by_workspace_wseq ON audit (workspace, wseq DESC);
    `,
  },
  {
    version: 11,
    name: 'runs.extra_bytes: what a record takes past RECORD_BYTES, for eviction past the size cap',
    sql: `
      -- A record's summary past ~1 KiB (an error's message and traceback: up to ~256 KB), so the
      -- size cap's plan weighs it (controlplane/store/eviction.ts, extraRecordBytes; red team round
      -- 34). In the covering index, so the GROUP BY function stays an index-only scan.
      ALTER TABLE runs ADD COLUMN extra_bytes INTEGER NOT NULL DEFAULT 0;
      UPDATE runs SET extra_bytes = max(0, length(CAST(summary AS BLOB)) - 1024) WHERE length(summary) * 3 > 1024;
      DROP INDEX runs_by_function_start;
      CREATE INDEX runs_by_function_start ON runs (function, started_at, log_bytes, extra_bytes);
    `,
  },
  {
    version: 12,
    name: 'runs.fn_created_at: the incarnation of the function a run is of',
    sql: `
      -- The createdAt of the function its key named when the run was written (ADR 0190): a
      -- function's delete removes its own incarnation's runs and older ones, and those without
      -- one (NULL: written before), never a later function's of the same name.
      ALTER TABLE runs ADD COLUMN fn_created_at INTEGER;
    `,
  },
  {
    version: 13,
    name: 'versions.start_check: what the last deploy or rollback found when it started the version',
    sql: `
      -- JSON VersionStartCheck, NULL: never checked (ADR 0252). The one column of a version an
      -- UPDATE may write: the trigger now names the others, which stay immutable.
      DROP TRIGGER versions_immutable;
      ALTER TABLE versions ADD COLUMN start_check TEXT;
      CREATE TRIGGER versions_immutable BEFORE UPDATE OF
        function, version, entrypoint, files, manifest, changes, file_count, total_bytes, created_at, created_by, note ON versions
      BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END;
    `,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The schema version a database has, read without writing (0: a new file, no schema yet). */
export function schemaVersionOf(db: Database): number {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  if (table === undefined) return 0;
  return (db.prepare('SELECT max(version) AS v FROM schema_version').get() as { v: number | null }).v ?? 0;
}

/** Brings the database up to SCHEMA_VERSION; returns the versions it applied. */
export function migrate(db: Database, now: number, ring: Keyring): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  const row = db.prepare('SELECT max(version) AS v FROM schema_version').get() as { v: number | null };
  const current = row.v ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new StoreError('STORE_SCHEMA_TOO_NEW', `the state database has schema ${current}, newer than this platform's ${SCHEMA_VERSION}; run the newer build, restore the backup taken before the upgrade (docs/platform.md "Upgrading"), or use another state directory`, { found: current, supported: SCHEMA_VERSION });
  }
  const applied: number[] = [];
  const record = db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)');
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      migration.upgrade?.(db, ring, now);
      record.run(migration.version, migration.name, now);
    }).immediate();
    applied.push(migration.version);
  }
  return applied;
}
