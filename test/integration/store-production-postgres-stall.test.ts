/**
 * FerretDB on a PostgreSQL that hangs (every PostgreSQL process SIGSTOPped: a frozen VM, a stopped
 * container). FerretDB itself answers, its `hello` included, so the driver's server check sees
 * nothing wrong, and each command waited on PostgreSQL: an API write waited 120 s (chaos round 8),
 * a run-record write held a pool connection as long. Now a command unanswered for
 * `socketTimeoutMs` fails STORE_UNAVAILABLE, the store's health says so (/readyz), and once
 * PostgreSQL continues the calls work again with no step of anyone's (ADR 0210).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { NO_QUOTAS } from '../../controlplane/store/index.js';
import { openMongoStore } from '../../controlplane/store/production/index.js';
import { descendantsOf } from '../helpers/processes.js';
import { findPostgres, serverSkip, startFerret, startPostgres } from '../helpers/servers.js';
import { testKeyring } from '../helpers/keyring.js';

const skip = serverSkip('ferretdb') || (findPostgres() === null ? 'skipped: PostgreSQL not installed (apt-get install postgresql)' : false);
const SOCKET_TIMEOUT_MS = 1500;
/** Short enough that deleting the test's 20,000 runs outlasts it many times over (~1 s here). */
const PRUNE_SOCKET_TIMEOUT_MS = 200;

/** The outcome of `call` within `ms`: its error code, `answered`, or `still waiting`. */
async function within(ms: number, call: () => Promise<unknown>): Promise<string> {
  const timer = sleep(ms, 'still waiting');
  return Promise.race([call().then(() => 'answered', (err: unknown) => (err as { code?: string }).code ?? String(err)), timer]);
}

describe('FerretDB over a PostgreSQL that hangs', { skip }, () => {
  it('fails a command STORE_UNAVAILABLE after the socket timeout, says so in its health, and works again once PostgreSQL continues', { timeout: 90_000 }, async (t) => {
    const pg = await startPostgres();
    t.after(() => pg.destroy());
    const ferret = await startFerret({ postgresqlUrl: pg.url });
    t.after(() => ferret.destroy());
    const store = await openMongoStore({ keyring: testKeyring(), url: ferret.url, database: `stall_${randomBytes(4).toString('hex')}`, socketTimeoutMs: SOCKET_TIMEOUT_MS });
    t.after(() => store.close());
    await store.functions.list({ workspace: 'w' });
    assert.equal(store.health?.problem() ?? null, null);
    const stopped = [pg.pid, ...descendantsOf(pg.pid)];
    const signal = (name: NodeJS.Signals): void => {
      for (const pid of stopped) {
        try {
          process.kill(pid, name);
        } catch {
          // gone
        }
      }
    };
    signal('SIGSTOP');
    // Continued even when an assertion fails, before the servers are destroyed (hooks run in reverse).
    t.after(() => signal('SIGCONT'));
    const started = Date.now();
    // A read and a write: before, both still waited after 20 s (the write for 120 s).
    const [read, write] = await Promise.all([
      within(SOCKET_TIMEOUT_MS + 8000, () => store.functions.list({ workspace: 'w' })),
      within(SOCKET_TIMEOUT_MS + 8000, () => store.workspaces.create(`w${randomBytes(3).toString('hex')}`, NO_QUOTAS)),
    ]);
    t.diagnostic(`read ${read}, write ${write} after ${Date.now() - started} ms`);
    assert.equal(read, 'STORE_UNAVAILABLE');
    assert.equal(write, 'STORE_UNAVAILABLE');
    assert.equal(store.health?.problem()?.code, 'STORE_UNAVAILABLE');
    assert.equal(store.health?.problem()?.degraded, true);
    signal('SIGCONT');
    // PostgreSQL continues: the next calls are answered (FerretDB may need a moment for its pool).
    const deadline = Date.now() + 20_000;
    let last = '';
    while ((last = await within(10_000, () => store.functions.list({ workspace: 'w' }))) !== 'answered') {
      assert.ok(Date.now() < deadline, `still ${last} after PostgreSQL continued`);
      await sleep(200);
    }
    assert.equal(store.health?.problem() ?? null, null, 'healthy again after an answered call');
  });
  it('a retention prune longer than the socket timeout completes: its deletes have a client of their own (loose ends round 13)', { timeout: 180_000 }, async (t) => {
    const pg = await startPostgres();
    t.after(() => pg.destroy());
    const ferret = await startFerret({ postgresqlUrl: pg.url });
    t.after(() => ferret.destroy());
    const database = `prune_${randomBytes(4).toString('hex')}`;
    // The schema and its indexes made first, at the default socket timeout: their tables and indexes
    // in PostgreSQL took longer than 200 ms under load (CI), and the open failed on its own timeout.
    await (await openMongoStore({ keyring: testKeyring(), url: ferret.url, database })).close();
    const store = await openMongoStore({ keyring: testKeyring(), url: ferret.url, database, socketTimeoutMs: PRUNE_SOCKET_TIMEOUT_MS });
    t.after(() => store.close());
    // A backlog of old runs, written beside the store: deleting it takes FerretDB/PostgreSQL far
    // longer than PRUNE_SOCKET_TIMEOUT_MS (the 30 s default against a day of runs, scaled down).
    const raw = new MongoClient(ferret.url);
    t.after(() => raw.close());
    const runs = raw.db(database).collection('runs');
    const OLD = 20_000;
    for (let i = 0; i < OLD; i += 2_000) {
      await runs.insertMany(Array.from({ length: 2_000 }, (_, j) => ({ _id: `old-${i + j}`, function: 'w/f', workspace: 'w', startedAt: 1_000 + i + j, status: 'succeeded' })) as never[]);
    }
    await runs.insertOne({ _id: 'new', function: 'w/f', workspace: 'w', startedAt: 10_000_000, status: 'succeeded' } as never);
    const started = Date.now();
    const outcome = await store.runs.prune(5_000_000).then((n) => n, (err: { code?: string }) => err.code ?? String(err));
    t.diagnostic(`prune of ${OLD} runs: ${String(outcome)} in ${Date.now() - started} ms (socket timeout ${PRUNE_SOCKET_TIMEOUT_MS} ms)`);
    assert.equal(outcome, OLD, 'the prune deleted the backlog (it failed STORE_UNAVAILABLE at the socket timeout)');
    assert.deepEqual((await runs.find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id), ['new']);
  });
});
