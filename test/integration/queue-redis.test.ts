/**
 * The production queue (Redis Streams, a real redis-server): the shared conformance suite, then
 * what only Redis promises: only documented keys, no job lost when Redis is killed and restarted
 * (AOF, appendfsync always), QUEUE_UNAVAILABLE (not a hang, no driver words) while it is down, and a
 * queue that goes on after Redis came back empty.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { openRedisQueue, type Queue } from '../../controlplane/async/index.js';
import { connectRedis, redisReady, REDIS_CLIENT_OPTIONS } from '../../controlplane/store/production/redis-client.js';
import { redisKeys } from '../../protocol/redis-keys.js';
import { rejectsWithCode } from '../conformance/fixtures.js';
import { queueConformance } from '../conformance/queue-suite.js';
import { serverSkip, startRedis, type ServerProcess } from '../helpers/servers.js';

/** What a call that waited on a dead Redis would take: the client's connect or command timeout. */
const SERVER_WAIT_MS = Math.min(REDIS_CLIENT_OPTIONS.connectTimeout!, REDIS_CLIENT_OPTIONS.commandTimeout!);

const skip = serverSkip('redis-server');
let redis: ServerProcess | null = null;
if (!skip) {
  redis = await startRedis();
  after(() => redis?.destroy());
}

const randomPrefix = (): string => `q${randomBytes(4).toString('hex')}`;

async function openOn(server: ServerProcess, prefix: string, options: { leaseMs?: number; idempotencyWindowMs?: number } = {}): Promise<Queue> {
  const client = connectRedis(server.url);
  await redisReady(client);
  return openRedisQueue({ client, ownsClient: true, prefix, ...options });
}

describe('redis queue', { skip }, () => {
  queueConformance('redis', async (options) => {
    const prefix = randomPrefix();
    return { open: () => openOn(redis!, prefix, options), destroy: async () => {} };
  });

  it('writes only the documented keys', async () => {
    const prefix = randomPrefix();
    const q = await openOn(redis!, prefix);
    const probe = connectRedis(redis!.url);
    await redisReady(probe);
    try {
      await q.enqueue({ runId: 'r1', function: 'f', payload: Buffer.from('x'), idempotencyKey: 'k' });
      await q.enqueue({ runId: 'r2', function: 'f', payload: Buffer.from('y'), notBefore: Date.now() + 60_000 });
      const [job] = await q.claim('c1', 1);
      await q.deadLetter(job!, 'X');
      const k = redisKeys(prefix).queue('async');
      assert.deepEqual((await probe.keys(`${prefix}:*`)).sort(), [k.stream, k.delayed, k.job('r2'), k.idempotency('k'), k.dead, k.deadIndex, k.waiting('f'), k.waitingFunctions].sort());
      const ttl = await probe.pttl(k.idempotency('k'));
      assert.ok(ttl > 0 && ttl <= 24 * 3_600_000);
    } finally {
      await q.close();
      probe.disconnect();
    }
  });

  it('loses no job when Redis is killed and restarted (AOF)', async () => {
    const server = await startRedis({ appendOnly: true });
    after(() => server.destroy());
    const prefix = randomPrefix();
    const q = await openOn(server, prefix, { leaseMs: 200 });
    const ids = Array.from({ length: 30 }, (_, i) => `run-${i}`);
    for (const [i, id] of ids.entries()) {
      await q.enqueue({ runId: id, function: 'f', payload: Buffer.from(id), ...(i % 5 === 0 ? { notBefore: Date.now() + 300 } : {}) });
    }
    const leasedBeforeCrash = await q.claim('crashed', 4);
    assert.equal(leasedBeforeCrash.length, 4);
    await q.close();
    await server.stop('SIGKILL');
    await server.start();
    const again = await openOn(server, prefix, { leaseMs: 200 });
    try {
      const stats = await again.stats();
      assert.deepEqual([stats.delayed + stats.ready, stats.leased, stats.dead], [26, 4, 0]);
      await new Promise((r) => setTimeout(r, 350)); // the delayed ones come due, the leases expire
      const seen = new Set<string>();
      for (let jobs = await again.claim('c2', 7); jobs.length > 0; jobs = await again.claim('c2', 7)) {
        for (const job of jobs) {
          assert.equal(job.payload.toString(), job.runId);
          seen.add(job.runId);
          await again.ack(job);
        }
      }
      assert.deepEqual([...seen].sort(), [...ids].sort());
    } finally {
      await again.close();
    }
  });

  it('fails fast with QUEUE_UNAVAILABLE while Redis is down', async () => {
    const server = await startRedis();
    after(() => server.destroy());
    const q = await openOn(server, randomPrefix());
    await server.stop('SIGKILL');
    // Fast means without waiting for the client's connect or command timeout (seconds): a loaded
    // machine makes a call slower by milliseconds, never by that.
    for (const call of [() => q.enqueue({ runId: 'r', function: 'f', payload: Buffer.from('x') }), () => q.stats()]) {
      const started = Date.now();
      await rejectsWithCode(call(), 'QUEUE_UNAVAILABLE');
      assert.ok(Date.now() - started < SERVER_WAIT_MS, `answered after ${Date.now() - started} ms`);
    }
    // What callers may show: plain words, the driver's own only as the cause.
    const err = await q.enqueue({ runId: 'r2', function: 'f', payload: Buffer.from('x') }).catch((e: Error) => e);
    assert.doesNotMatch((err as Error).message, /enableOfflineQueue|Stream isn't writeable|ECONNREFUSED|ioredis/);
    await q.close();
  });

  it('goes on after Redis restarts without its data: creates the consumer group again, and says so once', async () => {
    const server = await startRedis(); // nothing persisted: a restart comes back empty
    after(() => server.destroy());
    const lines: string[] = [];
    const client = connectRedis(server.url);
    await redisReady(client);
    const q = await openRedisQueue({ client, ownsClient: true, prefix: randomPrefix(), log: (line) => lines.push(line) });
    try {
      await q.enqueue({ runId: 'before', function: 'f', payload: Buffer.from('b') });
      const [first] = await q.claim('c0', 1);
      await q.ack(first!);
      await server.stop();
      await server.start();
      // The client reconnects by itself (within a second); the first write after that creates the stream only.
      const deadline = Date.now() + 5000;
      for (;;) {
        try {
          await q.enqueue({ runId: 'after', function: 'f', payload: Buffer.from('a') });
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      // Several consumers meet the missing group at once (as the dispatcher's workers do).
      const claimed = (await Promise.all(['c1', 'c2', 'c3', 'c4'].map((c) => q.claim(c, 1)))).flat();
      assert.deepEqual(claimed.map((j) => j.runId), ['after']);
      await q.ack(claimed[0]!);
      assert.deepEqual(await q.stats(), { delayed: 0, ready: 0, leased: 0, dead: 0 });
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, /was missing \(Redis lost its data.*created it again/);
    } finally {
      await q.close();
    }
  });
});

/**
 * ops round 4: two processes whose wall clocks disagree (or one whose clock was stepped). Each
 * queue wrote and compared due times and enqueue times on its own clock: a retry scheduled by a
 * process an hour behind was due an hour ago for the others (claimed at once, the backoff
 * ignored), one scheduled by a process an hour ahead was held an hour, and a job's enqueue time
 * handed to a claimer was an hour off its clock (max event age, "enqueued before the function
 * existed"). Stored times are now on Redis's clock; each process passes and gets times on its own.
 */
describe('redis queue: processes with skewed clocks', { skip }, () => {
  const HOUR = 3_600_000;
  const skewed = async (prefix: string, skew: number): Promise<Queue> => {
    const client = connectRedis(redis!.url);
    await redisReady(client);
    return openRedisQueue({ client, ownsClient: true, prefix, now: () => Date.now() + skew });
  };

  it('a retry scheduled in a minute by a process an hour behind is not claimed at once by another', async () => {
    const prefix = randomPrefix();
    const behind = await skewed(prefix, -HOUR);
    const right = await openOn(redis!, prefix);
    try {
      await behind.enqueue({ runId: 'r1', function: 'f', payload: Buffer.from('x') });
      const [job] = await behind.claim('behind', 1);
      assert.ok(job !== undefined);
      await behind.nack(job, Date.now() - HOUR + 60_000); // its clock's now + 1 minute
      assert.deepEqual(await right.claim('right', 1), [], 'the retry ran at once, its backoff ignored');
      const seen = await right.peek('r1');
      assert.equal(seen?.state, 'delayed');
      // Due in about a minute on this process's clock too (bounds generous for a loaded machine; the
      // queue's reading of Redis's clock may be off by its round trip, so a few ms past the minute too:
      // CI saw 60 001 ms).
      const inMs = seen!.notBefore - Date.now();
      assert.ok(inMs > 30_000 && inMs <= 62_000, `due in ${inMs} ms`);
    } finally {
      await behind.close();
      await right.close();
    }
  });

  it('a retry scheduled in half a second by a process an hour ahead is claimed by another within seconds, not an hour', async () => {
    const prefix = randomPrefix();
    const ahead = await skewed(prefix, HOUR);
    const right = await openOn(redis!, prefix);
    try {
      await ahead.enqueue({ runId: 'r2', function: 'f', payload: Buffer.from('x') });
      const [job] = await ahead.claim('ahead', 1);
      await ahead.nack(job!, Date.now() + HOUR + 500);
      let got: Awaited<ReturnType<Queue['claim']>> = [];
      for (const deadline = Date.now() + 20_000; got.length === 0 && Date.now() < deadline;) {
        got = await right.claim('right', 1);
        if (got.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(got[0]?.runId, 'r2', 'held for an hour');
    } finally {
      await ahead.close();
      await right.close();
    }
  });

  it('a process whose clock is stepped forward an hour does not take its own retry due in a minute at once', async () => {
    const prefix = randomPrefix();
    let step = 0;
    const client = connectRedis(redis!.url);
    await redisReady(client);
    const q = await openRedisQueue({ client, ownsClient: true, prefix, now: () => Date.now() + step });
    try {
      await q.enqueue({ runId: 'r4', function: 'f', payload: Buffer.from('x') });
      const [job] = await q.claim('c', 1);
      await q.nack(job!, Date.now() + 60_000);
      step = HOUR; // `date -s` an hour ahead: the wall clock moves, the monotonic clock does not
      assert.deepEqual(await q.claim('c', 1), [], 'the retry ran at once after the step');
      const inMs = (await q.peek('r4'))!.notBefore - (Date.now() + step);
      assert.ok(inMs > 30_000 && inMs <= 62_000, `due in ${inMs} ms on the stepped clock`); // as above: a few ms past
    } finally {
      await q.close();
    }
  });

  it('hands a job enqueued by a process an hour behind to another with its enqueue time on the claimer\'s clock', async () => {
    const prefix = randomPrefix();
    const behind = await skewed(prefix, -HOUR);
    const right = await openOn(redis!, prefix);
    try {
      const t0 = Date.now();
      await behind.enqueue({ runId: 'r3', function: 'f', payload: Buffer.from('x') });
      const [job] = await right.claim('right', 1);
      const t1 = Date.now();
      // An hour off, the dispatcher found it an hour old (max_event_age past 6 h of skew;
      // `function_deleted` for a function created in that hour).
      assert.ok(job!.enqueuedAt >= t0 - 5_000 && job!.enqueuedAt <= t1 + 5_000, `enqueued ${t0 - job!.enqueuedAt} ms before the call`);
    } finally {
      await behind.close();
      await right.close();
    }
  });
});
