/**
 * The LogFeed conformance suite: the memory (embedded) and Redis (production) feeds must both pass
 * it. An adapter's test file calls it at top level:
 *
 *   logFeedConformance('memory', async () => memorySpace());
 *
 * `open()` returns a fresh space in which `space.feed()` opens a feed; two feeds of one space are
 * two platform processes' views of the same feed (only the Redis space has more than one; the
 * memory space answers null for the second: a process's memory is its own).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { FeedRead, FeedSubscription, LogFeed } from '../../controlplane/logs/index.js';
import { FEED_DEFAULTS, parseFeedId } from '../../controlplane/logs/index.js';
import { MAX_LIVE_LINE_CHARS, type LiveLines, type LiveRunEnd } from '../../protocol/index.js';
import { rejectsWithCode } from './fixtures.js';

export interface FeedSpace {
  /** A feed of this space; `second` true: another process's feed, or null where there is none. */
  feed(options?: { maxSubscribers?: number; second?: boolean }): Promise<LogFeed | null>;
  destroy(): Promise<void>;
}

const fnName = (): string => `f${randomBytes(4).toString('hex')}`;

export function batch(fn: string, runId: string, seq: number, msgs: string[], attempt = 1): LiveLines {
  return { function: fn, version: '1', runId, attempt, seq, lines: msgs.map((msg, k) => ({ stream: 'stdout', ts: 1000 + seq + k, msg })), startedAt: Date.now() };
}

export function ended(fn: string, runId: string, lines: number): LiveRunEnd {
  return { function: fn, version: '1', runId, attempt: 1, status: 'succeeded', errorCode: null, httpStatus: 200, durationMs: 5, lines, startedAt: Date.now() };
}

/** Reads until `count` lines (and ends) arrived; the reads' gaps are collected. */
export async function readLines(sub: FeedSubscription, count: number): Promise<{ msgs: string[]; ends: string[]; reads: FeedRead[] }> {
  const out = { msgs: [] as string[], ends: [] as string[], reads: [] as FeedRead[] };
  const signal = AbortSignal.timeout(20_000);
  while (out.msgs.length + out.ends.length < count) {
    const read = await sub.next(signal);
    assert.ok(read !== null, 'the subscription ended early');
    out.reads.push(read);
    for (const e of read.entries) {
      if (e.event.kind === 'lines') out.msgs.push(...e.event.lines.map((l) => l.msg));
      else out.ends.push(e.event.runId);
    }
  }
  return out;
}

/** Waits (event-driven where the feed allows, else polling its state) until `fn` is wanted. */
export async function untilWanted(feed: LogFeed, fn: string): Promise<void> {
  for (let i = 0; !feed.wants(fn); i++) {
    assert.ok(i < 2000, `${fn} never became wanted`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function withSpace(open: () => Promise<FeedSpace>, body: (space: FeedSpace, feed: LogFeed) => Promise<void>): Promise<void> {
  const space = await open();
  const feed = (await space.feed())!;
  try {
    await body(space, feed);
  } finally {
    await feed.close();
    await space.destroy();
  }
}

export function logFeedConformance(name: string, open: () => Promise<FeedSpace>): void {
  describe(`log feed conformance: ${name}`, () => {
    it('wants nothing and keeps nothing while nobody tails a function', () =>
      withSpace(open, async (_space, feed) => {
        const fn = fnName();
        assert.equal(feed.wants(fn), false);
        feed.lines(batch(fn, 'r1', 0, ['before']));
        const sub = await feed.subscribe(fn, null);
        assert.equal(feed.wants(fn), true);
        feed.lines(batch(fn, 'r1', 1, ['after']));
        const got = await readLines(sub, 1);
        assert.deepEqual(got.msgs, ['after']);
        sub.close();
      }));

    it('delivers lines and run ends in order, with increasing ids, to every reader', () =>
      withSpace(open, async (_space, feed) => {
        const fn = fnName();
        const a = await feed.subscribe(fn, null);
        const b = await feed.subscribe(fn, null);
        assert.ok(parseFeedId(a.start) !== null);
        feed.lines(batch(fn, 'r1', 0, ['one', 'two']));
        feed.lines(batch(fn, 'r2', 0, ['three']));
        feed.end(ended(fn, 'r1', 2));
        feed.lines(batch(fn, 'r2', 1, ['four']));
        for (const sub of [a, b]) {
          const got = await readLines(sub, 5);
          assert.deepEqual(got.msgs, ['one', 'two', 'three', 'four']);
          assert.deepEqual(got.ends, ['r1']);
          const ids = got.reads.flatMap((r) => r.entries.map((e) => parseFeedId(e.key)!));
          for (let i = 1; i < ids.length; i++) assert.ok(ids[i]!.ms > ids[i - 1]!.ms || (ids[i]!.ms === ids[i - 1]!.ms && ids[i]!.seq > ids[i - 1]!.seq));
          assert.equal(got.reads.some((r) => r.gap !== null), false);
          sub.close();
        }
      }));

    it('keeps each line\'s identity: run, attempt and its index in the run', () =>
      withSpace(open, async (_space, feed) => {
        const fn = fnName();
        const sub = await feed.subscribe(fn, null);
        feed.lines(batch(fn, 'r9', 3, ['d', 'e'], 2));
        const got = await readLines(sub, 2);
        const event = got.reads[0]!.entries[0]!.event;
        assert.equal(event.kind, 'lines');
        if (event.kind !== 'lines') return;
        assert.equal(event.runId, 'r9');
        assert.equal(event.attempt, 2);
        assert.deepEqual(event.lines.map((l) => l.i), [3, 4]);
        sub.close();
      }));

    it('resumes after an id with exactly the entries after it', () =>
      withSpace(open, async (_space, feed) => {
        const fn = fnName();
        const first = await feed.subscribe(fn, null);
        feed.lines(batch(fn, 'r1', 0, ['a']));
        feed.lines(batch(fn, 'r1', 1, ['b']));
        const got = await readLines(first, 2);
        const afterA = parseFeedId(got.reads.flatMap((r) => r.entries)[0]!.key)!;
        first.close();
        feed.lines(batch(fn, 'r1', 2, ['c']));
        const again = await feed.subscribe(fn, afterA);
        const rest = await readLines(again, 2);
        assert.deepEqual(rest.msgs, ['b', 'c']);
        assert.equal(rest.reads.some((r) => r.gap !== null), false);
        again.close();
      }));

    it('normalizes what functions wrote: text capped, odd fields replaced, big batches split', () =>
      withSpace(open, async (_space, feed) => {
        const fn = fnName();
        const sub = await feed.subscribe(fn, null);
        const long = 'x'.repeat(MAX_LIVE_LINE_CHARS + 100);
        const odd = { function: fn, version: '1', runId: 'r1', attempt: 1, seq: 0, lines: [{ stream: 'evil', ts: Number.NaN, msg: long, level: 'L'.repeat(100) }, 42] } as unknown as LiveLines;
        feed.lines(odd);
        const many = Array.from({ length: 20 }, (_, k) => `${k}:${'y'.repeat(4000)}`);
        feed.lines(batch(fn, 'r2', 0, many));
        const got = await readLines(sub, 22);
        const first = got.reads.flatMap((r) => r.entries)[0]!.event;
        assert.equal(first.kind, 'lines');
        if (first.kind !== 'lines') return;
        assert.equal(first.lines[0]!.stream, 'stdout');
        assert.equal(first.lines[0]!.ts, 0);
        assert.equal(first.lines[0]!.level, undefined);
        assert.ok(first.lines[0]!.msg.length < MAX_LIVE_LINE_CHARS + 40 && first.lines[0]!.msg.endsWith('…[+100 chars]'));
        assert.equal(first.lines[1]!.msg, '');
        assert.deepEqual(got.msgs.slice(2), many);
        assert.ok(got.reads.flatMap((r) => r.entries).length >= 4, 'a big batch is several events');
        sub.close();
      }));

    it('refuses a reader past its limit with LOG_STREAM_LIMIT', async () => {
      const space = await open();
      const feed = (await space.feed({ maxSubscribers: 2 }))!;
      try {
        const fn = fnName();
        const a = await feed.subscribe(fn, null);
        const b = await feed.subscribe(fnName(), null);
        await rejectsWithCode(feed.subscribe(fn, null), 'LOG_STREAM_LIMIT');
        a.close();
        const c = await feed.subscribe(fn, null);
        b.close();
        c.close();
        assert.equal(feed.stats().subscribers, 0);
      } finally {
        await feed.close();
        await space.destroy();
      }
    });

    it('gives one workspace at most its share of the readers (FEED_DEFAULTS.maxSubscribersPerWorkspace); another workspace still subscribes', async () => {
      const space = await open();
      const feed = (await space.feed())!;
      const subs: { close(): void }[] = [];
      try {
        const workspace = `ws-${Math.random().toString(36).slice(2, 8)}`;
        for (let i = 0; i < FEED_DEFAULTS.maxSubscribersPerWorkspace; i++) subs.push(await feed.subscribe(`${fnName()}.${workspace}`, null));
        await rejectsWithCode(feed.subscribe(`${fnName()}.${workspace}`, null), 'LOG_STREAM_LIMIT');
        subs.push(await feed.subscribe(fnName(), null));
        subs.shift()!.close();
        subs.push(await feed.subscribe(`${fnName()}.${workspace}`, null));
      } finally {
        for (const sub of subs) sub.close();
        await feed.close();
        await space.destroy();
      }
    });

    it('ends a waiting read when it is aborted or closed', () =>
      withSpace(open, async (_space, feed) => {
        const fn = fnName();
        const sub = await feed.subscribe(fn, null);
        const controller = new AbortController();
        const waiting = sub.next(controller.signal);
        controller.abort();
        assert.equal(await waiting, null);
        const again = sub.next(new AbortController().signal);
        sub.close();
        assert.equal(await again, null);
      }));

    it('another process\'s tail makes this one publish, and reads what this one wrote', async () => {
      const space = await open();
      const here = (await space.feed())!;
      const there = await space.feed({ second: true });
      try {
        if (there === null) return; // one process only: nothing to share
        const fn = fnName();
        const sub = await there.subscribe(fn, null);
        await untilWanted(here, fn);
        here.lines(batch(fn, 'r1', 0, ['from here']));
        here.end(ended(fn, 'r1', 1));
        const got = await readLines(sub, 2);
        assert.deepEqual(got.msgs, ['from here']);
        assert.deepEqual(got.ends, ['r1']);
        sub.close();
      } finally {
        await there?.close();
        await here.close();
        await space.destroy();
      }
    });
  });
}
