/**
 * The embedded queue (SQLite, <stateDir>/queue.db): the shared conformance suite, then what only
 * it promises: its own WAL file in the state directory, and a schema newer than the code refused.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openSqliteQueue, QUEUE_DB_FILE } from '../../controlplane/async/index.js';
import { rejectsWithCode } from '../conformance/fixtures.js';
import { queueConformance } from '../conformance/queue-suite.js';

queueConformance('sqlite', async (options) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'fp-queue-'));
  return {
    open: () => openSqliteQueue({ stateDir, ...options }),
    destroy: () => rm(stateDir, { recursive: true, force: true }),
  };
});

describe('sqlite queue', () => {
  it('keeps its own WAL-mode file in the state directory', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'fp-queue-'));
    t.after(() => rm(stateDir, { recursive: true, force: true }));
    const q = await openSqliteQueue({ stateDir });
    await q.enqueue({ runId: 'r1', function: 'f', payload: Buffer.from('x') });
    assert.ok(existsSync(join(stateDir, QUEUE_DB_FILE)));
    assert.ok(existsSync(join(stateDir, `${QUEUE_DB_FILE}-wal`)));
    await q.close();
    const db = new Database(join(stateDir, QUEUE_DB_FILE), { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  it('refuses a queue file written by a newer platform', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'fp-queue-'));
    t.after(() => rm(stateDir, { recursive: true, force: true }));
    const db = new Database(join(stateDir, QUEUE_DB_FILE));
    db.pragma('user_version = 99');
    db.close();
    await rejectsWithCode(openSqliteQueue({ stateDir }), 'QUEUE_INVALID');
  });
});
