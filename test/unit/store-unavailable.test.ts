/**
 * The production store's edge (controlplane/store/production/unavailable.ts) reads FerretDB's
 * InternalError for a PostgreSQL connection that broke under a command (PostgreSQL killed or
 * restarted while the command ran: pgx's `unexpected EOF`, `conn closed`) as the store being
 * unreachable: STORE_UNAVAILABLE in plain words, FerretDB's stack kept only in the cause. Chaos
 * round 3: it went through as the server's error (FerretDB's stack in the log; 500, not 503).
 * The first message is FerretDB 1.24's as logged when the store's PostgreSQL was restarted; the
 * others are pgx's words for the same cut in other places.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoServerError } from 'mongodb';
import { isStoreError } from '../../controlplane/store/index.js';
import { unavailableAsStoreError } from '../../controlplane/store/production/unavailable.js';

function ferretInternal(message: string): MongoServerError {
  return new MongoServerError({ ok: 0, code: 1, codeName: 'InternalError', errmsg: message });
}

describe('production store edge: a PostgreSQL connection cut off under a command', () => {
  const seen = [
    '[msg_collstats.go:113 handler.(*Handler).MsgCollStats] [collection.go:401 postgresql.(*collection).Stats] [postgresql.go:60 postgresql.collectionsStats] unexpected EOF',
    '[msg_insert.go:92 handler.(*Handler).MsgInsert] [collection.go:141 postgresql.(*collection).InsertAll] conn closed',
    '[msg_find.go:70 handler.(*Handler).MsgFind] read tcp 127.0.0.1:51234->127.0.0.1:5432: read: connection reset by peer',
  ];
  for (const message of seen) {
    it(`is STORE_UNAVAILABLE with plain words: ${message.slice(-40)}`, async () => {
      const port = unavailableAsStoreError({ write: async () => { throw ferretInternal(message); } });
      await assert.rejects(port.write(), (err: unknown) => {
        assert.ok(isStoreError(err), `a StoreError, not ${String(err)}`);
        assert.equal(err.code, 'STORE_UNAVAILABLE');
        assert.equal(err.message, "the store's PostgreSQL (behind FerretDB) closed its connection during a command (restarted or stopped); try again shortly");
        assert.ok((err as Error & { cause?: unknown }).cause instanceof MongoServerError);
        return true;
      });
    });
  }

  it('says "could not be reached" for a connect that failed, whatever broke it', async () => {
    const port = unavailableAsStoreError({ write: async () => { throw ferretInternal('[pool.go:52] failed to connect to `host=127.0.0.1 user=postgres database=ferretdb`: server error (read: connection reset by peer)'); } });
    await assert.rejects(port.write(), (err: unknown) => isStoreError(err) && err.message === "the store's PostgreSQL (behind FerretDB) could not be reached; try again shortly");
  });

  it('leaves another InternalError as it is (a refusal of the data is not an outage)', async () => {
    const refusal = ferretInternal('[msg_insert.go:92 handler.(*Handler).MsgInsert] value too long (SQLSTATE 22001)');
    const port = unavailableAsStoreError({ write: async () => { throw refusal; } });
    await assert.rejects(port.write(), (err: unknown) => err === refusal);
  });
});
