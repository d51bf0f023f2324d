/**
 * Fault tests with real servers: a stream of runs goes through a RecordingRunSink (runs → MongoDB
 * on FerretDB, samples → Redis) while one server is stopped and restarted on the same port and
 * data directory. Recording never blocks the caller, nothing is dropped, every run reaches MongoDB
 * and the Redis counters add up once the server is back — also for a 3 s Redis outage at a call
 * rate whose samples would overflow any per-record buffer (they wait folded per function-minute).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RecordingRunSink, type Store } from '../../controlplane/store/index.js';
import { openMongoStore } from '../../controlplane/store/production/index.js';
import { collections } from '../../controlplane/store/production/context.js';
import { mongoAuditStore } from '../../controlplane/store/production/workspaces.js';
import type { NewAuditEntry } from '../../controlplane/store/types.js';
import { MongoClient } from 'mongodb';
import { connectRedis, redisReady, REDIS_CLIENT_OPTIONS } from '../../controlplane/store/production/redis-client.js';
import { RedisHotMetrics } from '../../controlplane/store/production/redis-metrics.js';
import type { RunRecord } from '../../protocol/index.js';
import { run, uniqueName } from '../conformance/fixtures.js';
import { serverSkip, startFerret, startRedis, type ServerProcess } from '../helpers/servers.js';
import { testKeyring } from '../helpers/keyring.js';

const ring = testKeyring();

const skip = serverSkip('redis-server', 'ferretdb');
/** The rig's MongoDB server-selection timeout: how long a call waiting on a dead FerretDB would take. */
const RIG_SERVER_SELECTION_MS = 1000;

interface Rig {
  redis: ServerProcess;
  ferret: ServerProcess;
  store: Store;
  metrics: RedisHotMetrics;
  sink: RecordingRunSink;
  errors: { runs: number; metrics: number; history: number };
}

async function rig(t: TestContext): Promise<Rig> {
  // Cleanups run last-registered first: the sink, then the clients, then the servers.
  const cleanups: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });
  const after = (fn: () => Promise<unknown>): void => void cleanups.push(fn);
  // AOF with fsync on every write: a restarted Redis still has what it acknowledged.
  const [redis, ferret] = await Promise.all([startRedis({ appendOnly: true }), startFerret()]);
  after(() => Promise.all([redis.destroy(), ferret.destroy()]));
  const store = await openMongoStore({ keyring: ring, url: ferret.url, database: `faults_${randomBytes(4).toString('hex')}`, serverSelectionTimeoutMs: RIG_SERVER_SELECTION_MS });
  after(() => store.close());
  const client = connectRedis(redis.url);
  await redisReady(client);
  const metrics = new RedisHotMetrics({ client, ownsClient: true, prefix: 'faults' });
  after(() => metrics.close());
  const errors = { runs: 0, metrics: 0, history: 0 };
  const sink = new RecordingRunSink({
    runs: store.runs,
    metrics,
    tuning: { batchSize: 200, retryBaseMs: 20, retryMaxMs: 250, writeTimeoutMs: 5000 },
    onError: (target) => void errors[target]++,
  });
  after(() => sink.close(1000));
  return { redis, ferret, store, metrics, sink, errors };
}

type Phase = 'before' | 'down' | 'back';

/** Where a stream of records is: the test moves it on; `reached(n)` resolves once n runs were recorded. */
class Progress {
  phase: Phase = 'before';
  recorded = 0;
  private waiters: { n: number; resolve: () => void }[] = [];

  reached(n: number): Promise<void> {
    if (this.recorded >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  count(): void {
    this.recorded++;
    this.waiters = this.waiters.filter((w) => (this.recorded >= w.n ? (w.resolve(), false) : true));
  }
}

interface TimedCall {
  ms: number;
  phase: Phase;
}

/** Records `count` runs of `fn`, two per millisecond tick, timing every record() call and noting the phase it was made in. */
async function produce(sink: RecordingRunSink, fn: string, count: number, progress: Progress): Promise<{ runs: RunRecord[]; calls: TimedCall[] }> {
  const calls: TimedCall[] = [];
  const runs: RunRecord[] = [];
  const t0 = Date.now();
  while (runs.length < count) {
    for (let k = 0; k < 2 && runs.length < count; k++) {
      const r = run({ function: fn, startedAt: t0 + runs.length, status: runs.length % 10 === 0 ? 'failed' : 'succeeded', cold: runs.length % 50 === 0, logs: [] });
      const phase = progress.phase;
      const start = performance.now();
      sink.record(r);
      calls.push({ ms: performance.now() - start, phase });
      runs.push(r);
      progress.count();
    }
    await sleep(1);
  }
  return { runs, calls };
}

/** The shortest wait on a stopped server: the rig's MongoDB server selection (1 s), Redis's connect and command timeouts (2 s). */
const SERVER_WAIT_MS = Math.min(RIG_SERVER_SELECTION_MS, REDIS_CLIENT_OPTIONS.connectTimeout!, REDIS_CLIENT_OPTIONS.commandTimeout!);

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * record() never waits for a server: a wait would take a connect or server-selection timeout
 * (≥ 1 s here), so no call may come near one. And the outage costs it nothing: a typical call
 * (the median, which a descheduled call or a GC pause does not move) while the server is down is
 * within a small factor of one made before, in the same stream under the same load. What a call
 * costs in µs is a benchmark figure (bench/README.md, section 7), not an assertion here.
 */
function assertNeverBlocked(t: TestContext, calls: TimedCall[]): void {
  const ms = (phase: Phase): number[] => calls.filter((c) => c.phase === phase).map((c) => c.ms);
  const [before, down] = [ms('before'), ms('down')];
  const slowest = Math.max(...calls.map((c) => c.ms));
  const typical = { before: median(before), down: median(down) };
  const summary = `${before.length} calls before the outage (median ${(typical.before * 1000).toFixed(1)} µs), ${down.length} during it (median ${(typical.down * 1000).toFixed(1)} µs); slowest ${slowest.toFixed(2)} ms`;
  t.diagnostic(summary);
  assert.ok(before.length > 0 && down.length > 0, summary);
  assert.ok(slowest < SERVER_WAIT_MS, `a record() call waited: ${summary}`);
  assert.ok(typical.down <= 5 * typical.before + 0.02, `record() is slower while the server is down: ${summary}`);
}

async function storedRunIds(store: Store, fn: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await store.runs.list({ function: fn, limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const r of page.items) ids.add(r.runId);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return ids;
}

async function assertAllThere(r: Rig, fn: string, runs: RunRecord[]): Promise<void> {
  assert.equal(await r.sink.flush(20_000), true, `buffers drained: ${JSON.stringify(r.sink.stats())}`);
  assert.equal(r.sink.dropped, 0, 'nothing dropped');
  const ids = await storedRunIds(r.store, fn);
  assert.equal(ids.size, runs.length, 'every run record reached MongoDB');
  for (const x of runs) assert.ok(ids.has(x.runId), `run ${x.runId} lost`);
  const usage = await r.metrics.usage(fn, '1h');
  assert.deepEqual(usage.totals, {
    invocations: runs.length,
    errors: runs.filter((x) => x.status === 'failed').length,
    coldStarts: runs.filter((x) => x.cold).length,
  }, 'the Redis counters add up after recovery');
  const newestOk = runs.filter((x) => x.status === 'succeeded').at(-1)!;
  assert.deepEqual(usage.lastSuccess, { runId: newestOk.runId, at: newestOk.startedAt });
}

describe('recording through server outages', { skip }, () => {
  it('Redis stopped and restarted mid-stream: no blocking, no loss, counters reconcile', async (t) => {
    const r = await rig(t);
    const fn = uniqueName();
    const progress = new Progress();
    const producing = produce(r.sink, fn, 3000, progress);
    await progress.reached(500);
    progress.phase = 'down';
    await r.redis.stop();
    await sleep(700);
    await r.redis.start();
    progress.phase = 'back';
    const { runs, calls } = await producing;
    assertNeverBlocked(t, calls);
    await assertAllThere(r, fn, runs);
    assert.ok(r.errors.metrics > 0, 'the Redis writes did fail during the outage');
    assert.equal(r.errors.runs, 0, 'MongoDB writes carried on regardless');
  });

  it('Redis down for 3 s at ~10 000 calls/s: no sample lost, live counters and usage rollups equal the calls once it is back', async (t) => {
    const r = await rig(t);
    const fn = uniqueName();
    // As the platform wires it (controlplane.ts), minus the run records (not what this is about).
    const sink = new RecordingRunSink({
      runs: { record: async () => {} } as unknown as Store['runs'],
      metrics: r.metrics,
      history: r.store.usageHistory!,
      tuning: { lingerMs: 100, batchSize: 2000 },
      metricsTuning: { retryMaxMs: 1000 },
      historyTuning: { lingerMs: 500 },
    });
    t.after(() => sink.close(1000));
    let calls = 0;
    /** Ten calls per millisecond tick, for `ms` and until at least `atLeast` calls were made in the burst. */
    const burst = async (ms: number, atLeast = 0): Promise<number> => {
      const end = Date.now() + ms;
      const from = calls;
      while (Date.now() < end || calls - from < atLeast) {
        for (let k = 0; k < 10; k++) sink.record(run({ function: fn, startedAt: Date.now(), status: calls % 10 === 0 ? 'failed' : 'succeeded', cold: calls++ % 50 === 0, logs: [] }));
        await sleep(1);
      }
      return calls - from;
    };
    await burst(200);
    await r.redis.stop();
    // More samples than a ring of records could hold (its default capacity is 10 000): on a slow
    // machine the outage lasts longer than 3 s rather than the test proving less.
    const duringOutage = await burst(3000, 12_000);
    await r.redis.start();
    const back = Date.now();
    await burst(200);
    let live = 0;
    while (live < calls && Date.now() - back < 30_000) {
      live = (await r.metrics.usage(fn, '1h').catch(() => null))?.totals.invocations ?? 0;
      if (live < calls) await sleep(50);
    }
    t.diagnostic(`live counters caught up ${Date.now() - back} ms after Redis was back`);
    assert.ok(duringOutage >= 12_000, `only ${duringOutage} calls during the outage: the buffer bound was never at stake`);
    assert.deepEqual(sink.droppedByReason(), { runs_overflow: 0, runs_shutdown: 0, runs_closed: 0, runs_refused: 0, metrics_overflow: 0, metrics_shutdown: 0, metrics_closed: 0, metrics_refused: 0, history_overflow: 0, history_shutdown: 0, history_closed: 0, history_refused: 0 });
    assert.equal(live, calls, 'every call is in the live counters');
    assert.equal(await sink.flush(10_000), true);
    assert.equal((await r.store.usageHistory!.usage(fn, '7d')).tally.count, calls, 'and in the usage rollups');
  });

  it('FerretDB killed and restarted mid-stream: no blocking, no loss', async (t) => {
    const r = await rig(t);
    const fn = uniqueName();
    const progress = new Progress();
    const producing = produce(r.sink, fn, 3000, progress);
    await progress.reached(500);
    progress.phase = 'down';
    await r.ferret.stop('SIGKILL');
    await sleep(700);
    await r.ferret.start();
    progress.phase = 'back';
    const { runs, calls } = await producing;
    assertNeverBlocked(t, calls);
    await assertAllThere(r, fn, runs);
    assert.ok(r.errors.runs > 0, 'the MongoDB writes did fail during the outage');
    assert.equal(r.errors.metrics, 0, 'Redis writes carried on regardless');
  });
});

describe('the audit trim through a FerretDB crash (ADR 0103)', { skip }, () => {
  it('FerretDB killed between the trim\'s two steps: the audit.trim marker is there after the restart (entries were deleted without it until the next trim)', async (t) => {
    const ferret = await startFerret();
    t.after(() => ferret.destroy());
    const client = new MongoClient(ferret.url, { monitorCommands: true, serverSelectionTimeoutMS: 8000 });
    t.after(() => client.close());
    // Killed as the first of the two steps returns, whichever it is: the delete or the marker's insert.
    let armed = false;
    let killed = false;
    const markerInserts = new Set<number>();
    client.on('commandStarted', (e) => {
      const docs = (e.command as { documents?: { action?: string }[] }).documents;
      if (armed && e.commandName === 'insert' && docs?.[0]?.action === 'audit.trim') markerInserts.add(e.requestId);
    });
    client.on('commandSucceeded', (e) => {
      if (!armed || killed || (e.commandName !== 'delete' && !markerInserts.has(e.requestId))) return;
      killed = true;
      process.kill(ferret.pid, 'SIGKILL');
    });
    await client.connect();
    const db = client.db(`trim_${randomBytes(4).toString('hex')}`);
    const audit = mongoAuditStore({ db, col: collections(db), long: collections(db), ring, logRetentionMs: 86_400_000, now: () => Date.now(), check: () => {} });
    const KEEP = 100;
    const entry = (i: number): NewAuditEntry => ({ at: Date.now(), actor: { tokenId: 't', label: 't', role: 'owner' }, address: '', workspace: 'w', action: 'test-case.save', target: `f/c${i}`, detail: { i } });
    // Up to one below the trim (keep plus its slack of a tenth), then the append that trims.
    for (let i = 0; i < KEEP + 9; i++) await audit.append(entry(i), { keep: KEEP });
    armed = true;
    await assert.rejects(audit.append(entry(KEEP + 9), { keep: KEEP }));
    assert.equal(killed, true);
    await ferret.stop('SIGKILL').catch(() => {});
    await ferret.start();
    const actions = (await collections(db).audit.find({ workspace: 'w' }).toArray()).map((d) => d.action);
    // Before: 99 entries, no audit.trim (it came a tenth of `keep` changes later).
    assert.ok(actions.includes('audit.trim'), `${actions.length} entries, no audit.trim`);
  });
});
