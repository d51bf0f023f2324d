/**
 * Section 6: what handing a finished run to the run sink costs the caller, with its stores
 * answering (the baseline) and with one of them down. `RecordingRunSink.record()` is what the
 * gateway calls after every invocation; it only queues (controlplane/store/recorder.ts), so a dead
 * Redis or MongoDB must not make it slower. The sink is wired as the platform wires it
 * (controlplane/controlplane.ts: runs to MongoDB on FerretDB, samples to Redis and to the hourly
 * rollups), against a real redis-server and FerretDB started like the tests start them.
 *
 * Each arm records RECORDS runs, two per millisecond tick, and times every record() call. Then
 * the next arm stops a server (Redis: SIGTERM; FerretDB: SIGKILL), records as many while it is
 * down, and starts it again. Figures: p50 and p99 of one call, in µs, for each arm.
 * Target: p99 ≤ 100 µs with a server down (the figure test/integration/store-production-faults
 * asserted until the suite's timed assertions moved here; the test now checks that no call waits
 * on a server and that the outage costs no more than the baseline measured beside it).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PLATFORM_SINK_TUNING, RecordingRunSink } from '../controlplane/store/index.js';
import { connectRedis, openMongoStore, redisReady, RedisHotMetrics } from '../controlplane/store/production/index.js';
import type { RunRecord } from '../protocol/index.js';
import type { BenchOptions } from './args.js';
import { summarize, type Summary } from './stats.js';

export interface SinkArm {
  /** What was down while this arm recorded: nothing (the baseline), Redis or FerretDB. */
  down: 'nothing' | 'Redis' | 'FerretDB';
  /** One record() call, in µs. */
  callUs: Summary;
}

export interface SinkResult {
  up: SinkArm;
  redisDown: SinkArm;
  ferretDown: SinkArm;
  /** Nothing was dropped, and everything was written once both servers were back. */
  drained: boolean;
}

let seq = 0;

function runRecord(fn: string): RunRecord {
  seq++;
  const failed = seq % 10 === 0;
  return {
    runId: `bench-${seq}-${randomBytes(3).toString('hex')}`, attempt: 1, function: fn, version: '1', trigger: 'http',
    cold: seq % 50 === 0, start: 'warm', initMs: 0, handlerMs: 1.5, queuedMs: 0, durationMs: 2.25,
    status: failed ? 'failed' : 'succeeded', httpStatus: failed ? 500 : 200, errorCode: failed ? 'FUNCTION_ERROR' : null,
    errorClass: failed ? 'user_error' : null, error: null, logs: [{ stream: 'stdout', ts: Date.now(), msg: 'hello' }], startedAt: Date.now(),
  };
}

/** Records `count` runs, two per millisecond tick; returns each record() call's time in µs. */
async function produce(sink: RecordingRunSink, fn: string, count: number): Promise<number[]> {
  const us: number[] = [];
  while (us.length < count) {
    for (let k = 0; k < 2 && us.length < count; k++) {
      const r = runRecord(fn);
      const start = process.hrtime.bigint();
      sink.record(r);
      us.push(Number(process.hrtime.bigint() - start) / 1000);
    }
    await sleep(1);
  }
  return us;
}

export async function sink(opts: BenchOptions): Promise<SinkResult> {
  // The test helpers start and stop the real servers (and kill them if the bench is interrupted).
  const { startFerret, startRedis } = await import('../test/helpers/servers.js');
  const { testKeyring } = await import('../test/helpers/keyring.js');
  const records = opts.quick ? 2000 : 10_000;
  const [redis, ferret] = await Promise.all([startRedis(), startFerret()]);
  const cleanups: (() => Promise<unknown>)[] = [() => Promise.all([redis.destroy(), ferret.destroy()])];
  try {
    const store = await openMongoStore({ keyring: testKeyring(), url: ferret.url, database: `bench_sink_${randomBytes(4).toString('hex')}` });
    cleanups.push(() => store.close());
    const client = connectRedis(redis.url);
    await redisReady(client);
    const metrics = new RedisHotMetrics({ client, ownsClient: true, prefix: `benchsink${randomBytes(3).toString('hex')}` });
    cleanups.push(() => metrics.close());
    const recording = new RecordingRunSink({
      runs: store.runs,
      metrics,
      ...(store.usageHistory !== undefined ? { history: store.usageHistory } : {}),
      ...PLATFORM_SINK_TUNING,
    });
    cleanups.push(() => recording.close(5000));
    const fn = `bench-sink-${randomBytes(3).toString('hex')}`;
    await produce(recording, fn, 1000); // warm-up: the code paths compiled, the first batches written

    const up: SinkArm = { down: 'nothing', callUs: summarize(await produce(recording, fn, records)) };
    await redis.stop();
    const redisDown: SinkArm = { down: 'Redis', callUs: summarize(await produce(recording, fn, records)) };
    await redis.start();
    // Each outage starts with the buffers empty: the run records wait up to a second for their
    // write (PLATFORM_SINK_TUNING), and this arm's 10 000 records are the ring's whole capacity.
    await recording.flush(30_000);
    await ferret.stop('SIGKILL');
    const ferretDown: SinkArm = { down: 'FerretDB', callUs: summarize(await produce(recording, fn, records)) };
    await ferret.start();
    const drained = (await recording.flush(30_000)) && recording.dropped === 0;
    return { up, redisDown, ferretDown, drained };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}
