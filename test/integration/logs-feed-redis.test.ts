/**
 * The production log feed (controlplane/logs/redis-feed.ts) on a real redis-server: the LogFeed
 * conformance suite (two feeds on one Redis are two platform processes), then what Redis alone
 * promises — a reader resuming on a process that started after its old one stopped gets every
 * line written meanwhile by another process, with no gap; a stream trimmed past a reader's cursor
 * is an `expired` gap that counts the lines; only the documented keys are written; and a Redis that
 * does not answer is LOGS_UNAVAILABLE, not a hang.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { parseFeedId, RedisLogFeed, type RedisFeedOptions } from '../../controlplane/logs/index.js';
import { connectRedis, connectRedisSubscriber, redisReady } from '../../controlplane/store/production/redis-client.js';
import { redisKeys } from '../../protocol/redis-keys.js';
import { rejectsWithCode } from '../conformance/fixtures.js';
import { batch, ended, logFeedConformance, readLines, untilWanted } from '../conformance/log-feed-suite.js';
import { serverSkip, startRedis, type ServerProcess } from '../helpers/servers.js';

const skip = serverSkip('redis-server');
let redis: ServerProcess | null = null;
if (!skip) {
  redis = await startRedis();
  after(() => redis?.destroy());
}

const randomPrefix = (): string => `l${randomBytes(4).toString('hex')}`;

async function openFeed(url: string, prefix: string, options: Partial<RedisFeedOptions> = {}): Promise<RedisLogFeed> {
  const client = connectRedis(url);
  await redisReady(client);
  const reader = connectRedis(url, { commandTimeout: 15_000 });
  await redisReady(reader);
  return new RedisLogFeed({ client, reader, subscriber: connectRedisSubscriber(url), prefix, log: () => {}, ...options });
}

describe('redis log feed', { skip }, () => {
  logFeedConformance('redis', async () => {
    const prefix = randomPrefix();
    return {
      feed: (options = {}) => openFeed(redis!.url, prefix, options.maxSubscribers !== undefined ? { limits: { maxSubscribers: options.maxSubscribers } } : {}),
      destroy: async () => {},
    };
  });

  it('resumes on a new process with what another process wrote while the old one was gone, without a gap', async () => {
    const prefix = randomPrefix();
    const writer = await openFeed(redis!.url, prefix);
    const first = await openFeed(redis!.url, prefix);
    const sub = await first.subscribe('fn', null);
    await untilWanted(writer, 'fn');
    writer.lines(batch('fn', 'r1', 0, ['seen']));
    const seen = await readLines(sub, 1);
    const cursor = parseFeedId(seen.reads[0]!.position)!;
    await first.close(); // the tailing process stops; its announcement lasts (tailTtlMs)
    assert.equal(writer.wants('fn'), true);
    writer.lines(batch('fn', 'r1', 1, ['while it was away']));
    writer.end(ended('fn', 'r1', 2));
    const second = await openFeed(redis!.url, prefix);
    const resumed = await second.subscribe('fn', cursor);
    writer.lines(batch('fn', 'r2', 0, ['after']));
    const got = await readLines(resumed, 3);
    assert.deepEqual(got.msgs, ['while it was away', 'after']);
    assert.deepEqual(got.ends, ['r1']);
    assert.equal(got.reads.some((r) => r.gap !== null), false);
    resumed.close();
    await Promise.all([second.close(), writer.close()]);
  });

  it('counts the lines a slow reader missed when the stream was trimmed past it; a resumed one learns of the gap', async () => {
    const prefix = randomPrefix();
    const feed = await openFeed(redis!.url, prefix, { limits: { ringEntries: 2 } });
    const slow = await feed.subscribe('fn', null);
    const fast = await feed.subscribe('fn', null);
    feed.lines(batch('fn', 'r1', 0, ['a']));
    const seen = await readLines(slow, 1);
    const cursor = parseFeedId(seen.reads[0]!.position)!;
    for (let k = 1; k <= 5; k++) feed.lines(batch('fn', 'r1', k, [`line ${k}`]));
    // The other reader has them all: the shared ring holds the last two, Redis all six until trimmed.
    await readLines(fast, 6);
    const probe = connectRedis(redis!.url);
    await redisReady(probe);
    await probe.xtrim(redisKeys(prefix).logStream('fn'), 'MAXLEN', 2);
    // Behind its ring, the slow reader reads Redis, which lost three lines after its cursor.
    const got = await readLines(slow, 2);
    assert.deepEqual(got.reads[0]!.gap, { reason: 'expired', since: cursor.ms, dropped: 3 });
    assert.deepEqual(got.msgs, ['line 4', 'line 5']);
    // Resumed on a fresh subscription the count is unknown (its cursor's entry is gone), the gap is not.
    const resumed = await feed.subscribe('fn', cursor);
    const again = await readLines(resumed, 2);
    assert.deepEqual(again.reads[0]!.gap, { reason: 'expired', since: cursor.ms, dropped: null });
    assert.deepEqual(again.msgs, ['line 4', 'line 5']);
    for (const sub of [slow, fast, resumed]) sub.close();
    probe.disconnect();
    await feed.close();
  });

  it('writes only the documented keys, each with a TTL', async () => {
    const prefix = randomPrefix();
    const feed = await openFeed(redis!.url, prefix);
    const sub = await feed.subscribe('fn', null);
    feed.lines(batch('fn', 'r1', 0, ['x']));
    await readLines(sub, 1);
    const probe = connectRedis(redis!.url);
    await redisReady(probe);
    const k = redisKeys(prefix);
    assert.deepEqual((await probe.keys(`${prefix}:*`)).sort(), [k.logStream('fn'), k.logCount('fn'), k.logTails()].sort());
    assert.ok((await probe.pttl(k.logStream('fn'))) > 0);
    assert.ok((await probe.pttl(k.logCount('fn'))) > 0);
    sub.close();
    probe.disconnect();
    await feed.close();
  });

  it('answers LOGS_UNAVAILABLE (not a hang) when Redis does not answer, and drops what it cannot append', async () => {
    const down = await startRedis();
    const feed = await openFeed(down.url, randomPrefix());
    await down.stop();
    await rejectsWithCode(feed.subscribe('fn', null), 'LOGS_UNAVAILABLE');
    assert.equal(feed.stats().subscribers, 0);
    await feed.close();
    await down.destroy();
  });
});
