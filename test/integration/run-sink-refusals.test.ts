/**
 * A run record the store refuses for what it holds holds no other record (ADR 0173), on the real
 * stores: SQLite, FerretDB on its SQLite backend, FerretDB on PostgreSQL (the README's production
 * setup) with Redis for the live metrics. Before, a refused batch was retried whole for ever and
 * every later record of every workspace waited behind it until the buffer overflowed (red team 28
 * found one case, a NUL; sink round 2 the rest: ADR 0173).
 *
 * The poison is what each store refuses today though no gateway path makes it (the recorder must
 * hold against the next such field): a key with a `.` in a log line (FerretDB: BadValue), a BigInt
 * (SQLite's JSON: TypeError), a document over 16 MiB (the BSON serializer). And a NaN, which
 * FerretDB answers by closing the connection (read as an outage: retried for ever); the production
 * store writes it as null now.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { RecordingRunSink, type HotMetrics, type Store } from '../../controlplane/store/index.js';
import { openMongoStore } from '../../controlplane/store/production/index.js';
import { connectRedis, redisReady } from '../../controlplane/store/production/redis-client.js';
import { RedisHotMetrics } from '../../controlplane/store/production/redis-metrics.js';
import { REDUCED_ERROR_TYPE, REDUCED_RUN_LINE } from '../../controlplane/store/reduced-run.js';
import { openSqliteStore } from '../../controlplane/store/sqlite/index.js';
import type { LogLine, RunRecord } from '../../protocol/index.js';
import { run } from '../conformance/fixtures.js';
import { testKeyring } from '../helpers/keyring.js';
import { findPostgres, serverSkip, startFerret, startPostgres, startRedis } from '../helpers/servers.js';

const ring = testKeyring();
/** A minute's backoff: a flush that ends within seconds proves no refused write waited for a retry. */
const tuning = { retryBaseMs: 60_000, retryMaxMs: 60_000, batchSize: 200, lingerMs: 50 };

/**
 * `t.after` with the hooks run last-registered first (node:test runs them in order): the sink, then
 * the clients, then the servers. A PostgreSQL stopped before its FerretDB made FerretDB write to a
 * pipe the helper had ended.
 */
function cleanups(t: TestContext): (fn: () => unknown) => void {
  const list: (() => unknown)[] = [];
  t.after(async () => {
    for (const fn of list.reverse()) await Promise.resolve().then(fn).catch(() => {});
  });
  return (fn) => void list.push(fn);
}

interface Backend {
  store: Store;
  metrics?: HotMetrics;
}

/** Another workspace's ordinary runs, with logs. */
const victims = (n: number): RunRecord[] => Array.from({ length: n }, (_, i) => run({ function: `ws${i % 5}.hello`, logs: [{ ts: i, stream: 'stdout', msg: `greeting ${i}` }] }));

async function recordAround(after: (fn: () => unknown) => void, backend: Backend, poisons: RunRecord[]): Promise<{ sink: RecordingRunSink; others: RunRecord[] }> {
  const sink = new RecordingRunSink({ runs: backend.store.runs, ...(backend.store.usageHistory !== undefined ? { history: backend.store.usageHistory } : {}), ...(backend.metrics !== undefined ? { metrics: backend.metrics } : {}), tuning });
  after(() => sink.close(1000));
  const others = victims(40);
  // The poisons among them: before some, after others, in the same batch.
  others.slice(0, 20).forEach((r) => sink.record(r));
  poisons.forEach((p) => sink.record(p));
  others.slice(20).forEach((r) => sink.record(r));
  assert.equal(await sink.flush(15_000), true, `everything is written, no backoff waited for: ${JSON.stringify(sink.stats())}`);
  return { sink, others };
}

async function assertWritten(store: Store, others: RunRecord[]): Promise<void> {
  for (const r of others) assert.deepEqual((await store.runs.get(r.runId))?.logs.map((l) => l.msg), r.logs.map((l) => l.msg), `${r.function}'s run ${r.runId} is stored with its logs`);
}

async function assertReduced(store: Store, poison: RunRecord): Promise<void> {
  const kept = await store.runs.get(poison.runId);
  assert.ok(kept !== null, 'the refused run is still listed, found by id');
  assert.equal(kept.function, poison.function);
  assert.equal(kept.status, poison.status);
  assert.equal(kept.startedAt, poison.startedAt);
  assert.equal(kept.errorClass, poison.errorClass);
  assert.equal(kept.error?.type, REDUCED_ERROR_TYPE);
  assert.deepEqual(kept.logs.map((l) => l.msg), [REDUCED_RUN_LINE]);
}

const failing = (extra: Partial<LogLine> & Record<string, unknown>, msg = 'x'): RunRecord =>
  run({ function: 'evil.fn', status: 'failed', httpStatus: 500, errorCode: 'FUNCTION_ERROR', errorClass: 'user_error', error: { type: 'Evil', message: 'boom' }, logs: [{ ts: 1, stream: 'stdout', msg, ...extra } as LogLine] });

describe('run sink on SQLite: a record SQLite\'s JSON cannot hold', () => {
  it('is written reduced; 40 runs of five other workspaces around it are written at once', async (t) => {
    const after = cleanups(t);
    const dir = mkdtempSync(join(tmpdir(), 'fp-refusal-sqlite-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const store = await openSqliteStore({ keyring: ring, stateDir: dir });
    after(() => store.close());
    const poison = failing({ extra: 10n });
    const { sink, others } = await recordAround(after, { store }, [poison]);
    await assertWritten(store, others);
    await assertReduced(store, poison);
    assert.deepEqual([sink.stats().runs.reduced, sink.droppedByReason().runs_refused], [1, 0]);
  });
});

const ferretSkip = serverSkip('ferretdb');
describe('run sink on FerretDB (SQLite backend): keys FerretDB refuses, a document over 16 MiB, a NaN', { skip: ferretSkip }, () => {
  it('each refused record is written reduced, the NaN one as it is (null), every other run at once', async (t) => {
    const after = cleanups(t);
    const ferret = await startFerret();
    after(() => ferret.destroy());
    const store = await openMongoStore({ keyring: ring, url: ferret.url, database: `refusal_${randomBytes(4).toString('hex')}` });
    after(() => store.close());
    const dotted = failing({ 'a.b': 1 });
    const huge = failing({}, 'x'.repeat(17 * 1024 * 1024));
    const nan = run({ function: 'evil.nan', logs: [{ ts: NaN, stream: 'stdout', msg: 'not a number' }], durationMs: NaN });
    const { sink, others } = await recordAround(after, { store }, [dotted, huge, nan]);
    await assertWritten(store, others);
    await assertReduced(store, dotted);
    await assertReduced(store, huge);
    const stored = await store.runs.get(nan.runId);
    assert.deepEqual(stored?.logs.map((l) => [l.ts, l.msg]), [[null, 'not a number']], 'a NaN is stored as null, the record as it was otherwise');
    assert.equal(stored?.durationMs, null);
    assert.deepEqual([sink.stats().runs.reduced, sink.droppedByReason().runs_refused], [2, 0]);
  });
});

const pgSkip = ferretSkip || serverSkip('redis-server') || (findPostgres() === null ? 'no PostgreSQL (apt-get install postgresql)' : false);
describe('run sink on FerretDB over PostgreSQL, live metrics on Redis (the production setup)', { skip: pgSkip }, () => {
  it('a refused record of one workspace holds no run, rollup or live metric of another', async (t) => {
    const after = cleanups(t);
    const pg = await startPostgres();
    after(() => pg.destroy());
    const ferret = await startFerret({ postgresqlUrl: pg.url });
    after(() => ferret.destroy());
    const redis = await startRedis();
    after(() => redis.destroy());
    const store = await openMongoStore({ keyring: ring, url: ferret.url, database: `refusal_${randomBytes(4).toString('hex')}` });
    after(() => store.close());
    const client = connectRedis(redis.url);
    await redisReady(client);
    const metrics = new RedisHotMetrics({ client, ownsClient: true, prefix: 'refusal' });
    after(() => metrics.close());
    const dotted = failing({ 'a.b': 1 });
    const nested = failing({ nested: [[1], [2]] });
    const nul = failing({}, 'before\u0000after');
    const { sink, others } = await recordAround(after, { store, metrics }, [dotted, nested, nul]);
    await assertWritten(store, others);
    await assertReduced(store, dotted);
    await assertReduced(store, nested);
    assert.deepEqual((await store.runs.get(nul.runId))?.logs.map((l) => l.msg), ['before\uFFFDafter'], 'a NUL is stored as U+FFFD (red team 28)');
    const stats = sink.stats();
    assert.deepEqual([stats.runs.reduced, stats.runs.written, sink.droppedByReason().runs_refused], [2, 43, 0]);
    assert.equal(stats.metrics?.written, 43, 'every run\'s sample reached Redis');
    assert.equal(stats.history?.written, 43, 'every run\'s sample reached the rollups');
  });
});
