/**
 * A Redis at `maxmemory` with `noeviction` answers every write `OOM` (a MULTI: `EXECABORT`). The
 * queue, the tick lock and the replay guard said "Redis could not be reached or did not answer in
 * time", and the dispatcher logged a bare `EXECABORT`, which sent an operator to the network
 * (reliability round 10, /work/probe-chaos10/load). They now say that Redis is out of memory.
 * A real redis-server, made full with `CONFIG SET maxmemory 1`.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CronScheduler, Dispatcher, openRedisQueue, RedisRunTimeline, redisRefusal, redisReplayGuard, redisTickLock, skippedTicks } from '../../controlplane/async/index.js';
import { dispatcherFaults, FaultLog } from '../../controlplane/fault-log.js';
import { connectRedis, redisReady } from '../../controlplane/store/production/redis-client.js';
import { RedisDurability } from '../../controlplane/store/production/redis-persistence.js';
import { RedisHotMetrics } from '../../controlplane/store/production/redis-metrics.js';
import { WarmReporter } from '../../controlplane/runs/warm-reporter.js';
import { serverSkip, startRedis } from '../helpers/servers.js';

const skip = serverSkip('redis-server');
const FULL = /^Redis is out of memory \(maxmemory\) and refuses writes$/;

/** A Redis that refuses writes once full (`noeviction`), persisting (AOF), and a client of it; both go after the test. */
async function noevictionRedis(): Promise<{ client: ReturnType<typeof connectRedis>; url: string }> {
  const redis = await startRedis({ appendOnly: true, args: ['--maxmemory-policy', 'noeviction'] });
  after(() => redis.destroy());
  const client = connectRedis(redis.url);
  after(() => client.disconnect());
  await redisReady(client);
  return { client, url: redis.url };
}

describe('a Redis that is full (maxmemory, noeviction)', { skip }, () => {
  it('queue, tick lock and replay guard say it is out of memory; reads still work; writes work again once memory is freed', async () => {
    const { client } = await noevictionRedis();
    const prefix = 'full';
    const queue = await openRedisQueue({ client, prefix });
    await queue.enqueue({ runId: 'before', function: 'f', payload: Buffer.from('x') });
    const ticks = redisTickLock({ client, prefix });
    const replays = redisReplayGuard({ client, prefix });
    await client.call('CONFIG', 'SET', 'maxmemory', '1');

    await assert.rejects(queue.enqueue({ runId: 'during', function: 'f', payload: Buffer.from('y') }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'QUEUE_UNAVAILABLE');
      assert.match(err.message, FULL);
      return true;
    });
    for (const refused of [ticks.acquire({ function: 'f', triggerId: 'cron-0' }, Date.now()), replays.firstSeen({ function: 'f', triggerId: 'pay' }, 'k', 60_000)]) {
      await assert.rejects(refused, (err: Error & { code?: string }) => {
        assert.equal(err.code, 'TRIGGER_UNAVAILABLE');
        assert.match(err.message, FULL);
        return true;
      });
    }
    // A transaction (the run timeline's writes) fails EXECABORT; the cause is one of its commands'.
    const aborted = await client.multi().rpush('full:list', 'a').pexpire('full:list', 1000).exec().then(() => null, (err: unknown) => err);
    assert.match((aborted as Error).message, /^EXECABORT/);
    assert.match(redisRefusal(aborted) ?? '', FULL);
    assert.equal(redisRefusal(new Error('Command timed out')), null, 'a timeout is not a refusal');
    assert.equal((await queue.stats()).ready, 1, 'reads are not refused');

    await client.call('CONFIG', 'SET', 'maxmemory', '0');
    await queue.enqueue({ runId: 'after', function: 'f', payload: Buffer.from('z') });
    assert.equal(await ticks.acquire({ function: 'f', triggerId: 'cron-0' }, 1), true);
  });
});

/**
 * During such an outage the dispatcher met the refusal once per run (its timeline write, its ack)
 * and logged a line for each, again at every redelivery: ~50 lines a minute for 30 runs buried the
 * line that said what was wrong (reliability round 10). The control plane's wiring (fault-log.ts
 * `dispatcherFaults`) now writes the first and counts the rest: one line, then one summary.
 */
describe('the dispatcher during a Redis out of memory', { skip }, () => {
  it('logs one line for the runs that failed alike, then one count naming some of them', async () => {
    const { client } = await noevictionRedis();
    const prefix = 'flood';
    const queue = await openRedisQueue({ client, prefix });
    const timeline = new RedisRunTimeline({ client, prefix });
    const RUNS = 8;
    for (let i = 0; i < RUNS; i++) await queue.enqueue({ runId: `r${i}`, function: 'f', payload: Buffer.from('x') });
    let started = 0;
    let allStarted: () => void = () => {};
    const running = new Promise<void>((resolve) => { allStarted = resolve; });
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => { release = resolve; });
    const lines: string[] = [];
    const faults = new FaultLog((line) => lines.push(line));
    const report = dispatcherFaults((line) => lines.push(line), faults);
    let failed = 0;
    const dispatcher = new Dispatcher({
      queue, timeline, concurrency: RUNS, pollMs: 20,
      runner: {
        async run() {
          if (++started === RUNS) allStarted();
          await released;
          return { ok: true, httpStatus: 200, errorCode: null, errorClass: null, cold: false, durationMs: 1, initMs: 0, handlerMs: 1 };
        },
      },
      onError: (err, runId) => {
        if (runId !== null) failed++;
        report(err, runId);
      },
      log: (line) => lines.push(`dispatcher: ${line}`),
    });
    dispatcher.start();
    await running;
    await client.call('CONFIG', 'SET', 'maxmemory', '1');
    release();
    // Each attempt's record (a MULTI) is refused; wait until every run has met it.
    while (failed < RUNS) await new Promise((r) => setTimeout(r, 20));
    await dispatcher.stop();
    faults.close();
    await client.call('CONFIG', 'SET', 'maxmemory', '0');
    const runLines = lines.filter((l) => l.startsWith('dispatcher: run'));
    assert.equal(runLines.length, 2, lines.join('\n'));
    assert.match(runLines[0]!, /^dispatcher: run r\d: EXECABORT .*\(Redis is out of memory \(maxmemory\) and refuses writes\) \(not lost: .* delivered again after its lease/);
    assert.match(runLines[1]!, new RegExp(`^dispatcher: runs failed: EXECABORT .*: ${RUNS - 1} more times \\(r\\d, r\\d, r\\d, r\\d, r\\d, …\\) in the last \\d+ s`));
  });
});


/**
 * The same for cron: a trigger firing every second whose tick lock Redis refuses logged a line a
 * second per trigger. The control plane's wiring (cron-triggers.ts `skippedTicks` with its FaultLog)
 * writes the first and counts the rest.
 */
describe('cron during a Redis out of memory', { skip }, () => {
  it('logs one line for the ticks skipped alike, then one count naming the triggers', async () => {
    const { client } = await noevictionRedis();
    await client.call('CONFIG', 'SET', 'maxmemory', '1');
    const lines: string[] = [];
    const faults = new FaultLog((line) => lines.push(line));
    const report = skippedTicks((line) => lines.push(line), faults);
    let skipped = 0;
    const scheduler = new CronScheduler({
      lock: redisTickLock({ client, prefix: 'cronfull' }),
      fire: () => undefined,
      onError: (err, ref, tick) => {
        skipped++;
        report(err, ref, tick);
      },
    });
    for (const id of ['a', 'b']) scheduler.set({ function: 'beat', triggerId: id, expression: '* * * * * *' });
    scheduler.start();
    while (skipped < 4) await new Promise((r) => setTimeout(r, 50));
    await scheduler.stop();
    faults.close();
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, /^cron: tick \S+ of beat\/[ab] skipped: Redis is out of memory \(maxmemory\) and refuses writes$/);
    assert.match(lines[1]!, new RegExp(`^cron: ticks skipped: Redis is out of memory \\(maxmemory\\) and refuses writes: ${skipped - 1} more times \\(beat/[ab](, beat/[ab])?\\) in the last \\d+ s`));
  });
});

/**
 * /readyz through a Redis out of memory said `200 "ready"`, `problems: []`, while every async call
 * was refused 503 (ops round 4). The durability mark's write (every second) now sees the refusal:
 * /readyz lists it as a degraded problem (still 200: sync calls are served), the log says it once,
 * and again when Redis takes writes.
 */
describe('/readyz during a Redis out of memory', { skip }, () => {
  it('lists a degraded ASYNC_QUEUE_UNAVAILABLE problem naming the refusal and its fix, gone once Redis takes writes', async () => {
    const { client, url } = await noevictionRedis();
    const lines: string[] = [];
    const watch = new RedisDurability({ client, url, allowVolatile: false, log: (l) => lines.push(l), markKey: 'full:v1:durability-mark', markIntervalMs: 50 });
    after(() => watch.close());
    await watch.start();
    await client.call('CONFIG', 'SET', 'maxmemory', '1');
    // A budget of 20 s for a loaded machine (the mark writes every 50 ms).
    for (const deadline = Date.now() + 20_000; watch.problem() === null && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const problem = watch.problem();
    assert.equal(problem?.code, 'ASYNC_QUEUE_UNAVAILABLE');
    assert.equal(problem?.degraded, true);
    assert.match(problem!.message, /is out of memory \(maxmemory, noeviction\) and refuses writes .*sync calls are served\. Free memory in it, or raise its maxmemory\.$/);
    assert.equal(lines.filter((l) => l.startsWith('platform: ERROR:')).length, 1);
    await client.call('CONFIG', 'SET', 'maxmemory', '0');
    while (watch.problem() !== null) await new Promise((r) => setTimeout(r, 50));
    assert.match(lines.at(-1)!, /takes writes again after/);
  });
});

// ops round 4: the warm-instance report during the same outage logged ioredis's words alone,
// "ReplyError: EXECABORT Transaction discarded because of previous errors.", naming no cause.
describe('warm-instance reports during a Redis out of memory', { skip }, () => {
  it('say once that Redis is out of memory, then that they work again', async () => {
    const { client } = await noevictionRedis();
    const lines: string[] = [];
    const pool = { stats: () => ({ functions: { a: { name: 'a', warm: 1, busy: 0 } }, scaledToZero: {} }) } as unknown as ConstructorParameters<typeof WarmReporter>[0];
    const reporter = new WarmReporter(pool, new RedisHotMetrics({ client, prefix: 'warmfull' }), 'p1', 60_000, (l) => lines.push(l));
    await client.call('CONFIG', 'SET', 'maxmemory', '1');
    await reporter.report();
    await reporter.report();
    await client.call('CONFIG', 'SET', 'maxmemory', '0');
    await reporter.report();
    await reporter.stop();
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, /^controlplane: could not report warm instances .*: .*\(Redis is out of memory \(maxmemory\) and refuses writes\)$/);
    assert.match(lines[1]!, /reported again \(2 reports failed meanwhile\)/);
  });
});
