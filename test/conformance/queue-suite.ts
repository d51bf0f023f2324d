/**
 * The Queue conformance suite: the SQLite (embedded) and Redis Streams (production) adapters must
 * both pass all of it. An adapter's test file calls it at top level:
 *
 *   queueConformance('sqlite', async (options) => sqliteSpace(options));
 *
 * `open(options)` returns a fresh, isolated space (a temp directory, a random key prefix) in which
 * `space.open()` opens a Queue; opening it twice gives two independent connections to the same
 * queue (two processes' view), and opening after close is a restart. Leases run on the real clock
 * (Redis measures idle time itself), so lease tests sleep a few hundred ms.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { ClaimedJob, Queue, QueueOptions } from '../../controlplane/async/index.js';
import { rejectsWithCode, uniqueName } from './fixtures.js';

export interface QueueSpace {
  open(): Promise<Queue>;
  destroy(): Promise<void>;
}
export type OpenQueueSpace = (options: Required<QueueOptions>) => Promise<QueueSpace>;

// Every step that must land inside a lease, an idempotency window or before a retry is due has
// most of a second to do so: a loaded machine stalls a process for hundreds of ms now and then,
// and a shorter window would turn that stall into a failure (test/README.md, "No timed assertions").
const LEASE_MS = 1_000;
const WINDOW_MS = 1_000;
/** How far ahead a nacked job's notBefore is set. */
const RETRY_IN_MS = 1_000;
const HOUR = 3_600_000;

const runId = (): string => `run-${randomBytes(6).toString('hex')}`;
const bytes = (text: string): Buffer => Buffer.from(text);

async function withQueue(
  open: OpenQueueSpace,
  fn: (q: Queue, space: QueueSpace) => Promise<void>,
  options: Partial<QueueOptions> = {},
): Promise<void> {
  const space = await open({ leaseMs: LEASE_MS, idempotencyWindowMs: HOUR, ...options });
  const q = await space.open();
  try {
    await fn(q, space);
  } finally {
    await q.close();
    await space.destroy();
  }
}

export function queueConformance(name: string, open: OpenQueueSpace): void {
  describe(`queue conformance: ${name}`, () => {
    it('hands ready jobs out in the order they were queued, each once', () =>
      withQueue(open, async (q) => {
        const fn = uniqueName();
        const ids = Array.from({ length: 6 }, runId);
        for (const [i, id] of ids.entries()) {
          assert.deepEqual(await q.enqueue({ runId: id, function: fn, payload: bytes(`p${i}`) }), { runId: id, created: true });
        }
        assert.deepEqual(await q.stats(), { delayed: 0, ready: 6, leased: 0, dead: 0 });
        const first = await q.claim('c1', 4);
        const rest = await q.claim('c1', 10);
        assert.deepEqual([...first, ...rest].map((j) => j.runId), ids);
        assert.deepEqual(await q.claim('c2', 10), []);
        const job = first[0]!;
        assert.equal(job.state, 'leased');
        assert.equal(job.consumer, 'c1');
        assert.equal(job.attempt, 1);
        assert.equal(job.deliveries, 1);
        assert.equal(job.function, fn);
        assert.equal(job.payload.toString(), 'p0');
        assert.deepEqual(await q.stats(), { delayed: 0, ready: 0, leased: 6, dead: 0 });
        const listed = await q.list();
        assert.deepEqual(listed.map((j) => [j.runId, j.state, j.consumer, j.payloadBytes]), ids.map((id) => [id, 'leased', 'c1', 2]));
      }));

    it('passes over the ready jobs of skipped workspaces, which stay queued as they were (the dispatcher\'s share)', () =>
      withQueue(open, async (q) => {
        const hog = `hog${randomBytes(3).toString('hex')}`;
        const hogs = Array.from({ length: 5 }, runId);
        for (const id of hogs) await q.enqueue({ runId: id, function: `${uniqueName()}.${hog}`, payload: bytes('h') });
        const [other, plain] = [runId(), runId()];
        await q.enqueue({ runId: other, function: `${uniqueName()}.other`, payload: bytes('o') });
        await q.enqueue({ runId: plain, function: uniqueName(), payload: bytes('d') });
        const skip = { skipWorkspaces: [hog] };
        assert.deepEqual((await q.claim('c1', 1, skip)).map((j) => j.runId), [other], 'another workspace\'s job behind five skipped ones');
        assert.deepEqual((await q.claim('c1', 1, skip)).map((j) => j.runId), [plain], 'the default workspace (a key without a dot)');
        assert.deepEqual(await q.claim('c1', 1, skip), []);
        assert.deepEqual(await q.claim('c1', 1, { skipWorkspaces: ['default', 'other', hog] }), []);
        assert.deepEqual(await q.stats(), { delayed: 0, ready: 5, leased: 2, dead: 0 });
        const later = await q.claim('dead', 10, { skipWorkspaces: [] });
        assert.deepEqual(later.map((j) => j.runId), hogs, 'the skipped jobs, in their order');
        for (const job of later) {
          assert.equal(job.attempt, 1);
          assert.equal(job.deliveries, 1);
        }
        // A dead consumer's leases of a skipped workspace are passed over too, and stay claimable.
        await sleep(LEASE_MS + 200);
        assert.deepEqual((await q.claim('c2', 10, skip)).map((j) => j.runId).sort(), [other, plain].sort(), 'only the others\' leases taken over');
        const taken = await q.claim('c2', 10);
        assert.deepEqual(taken.map((j) => j.runId).sort(), [...hogs].sort());
        for (const job of taken) assert.equal(job.attempt, 1);
      }));

    it('passes over the ready jobs of skipped functions, which stay queued as they were (a function at its places)', () =>
      withQueue(open, async (q) => {
        const slow = `${uniqueName()}.ws${randomBytes(3).toString('hex')}`;
        const slows = Array.from({ length: 5 }, runId);
        for (const id of slows) await q.enqueue({ runId: id, function: slow, payload: bytes('s') });
        const [mate, plain] = [runId(), runId()];
        // Another function of the same workspace, and one of another workspace.
        await q.enqueue({ runId: mate, function: `${uniqueName()}.${slow.split('.')[1]}`, payload: bytes('m') });
        await q.enqueue({ runId: plain, function: uniqueName(), payload: bytes('d') });
        const skip = { skipFunctions: [slow] };
        assert.deepEqual((await q.claim('c1', 1, skip)).map((j) => j.runId), [mate], 'the same workspace\'s other function, behind five skipped jobs');
        assert.deepEqual((await q.claim('c1', 1, skip)).map((j) => j.runId), [plain]);
        assert.deepEqual(await q.claim('c1', 1, skip), []);
        // Both kinds together: a workspace skipped passes over all its functions.
        const other = runId();
        await q.enqueue({ runId: other, function: `${uniqueName()}.${slow.split('.')[1]}`, payload: bytes('o') });
        assert.deepEqual(await q.claim('c1', 1, { skipFunctions: [slow], skipWorkspaces: [slow.split('.')[1]!] }), []);
        assert.deepEqual((await q.claim('c1', 1, skip)).map((j) => j.runId), [other]);
        // A name is a function's, not a workspace's, and the other way round.
        assert.deepEqual(await q.claim('c1', 1, { skipWorkspaces: [slow] }).then((js) => js.map((j) => j.runId)), [slows[0]]);
        const later = await q.claim('dead', 10);
        assert.deepEqual(later.map((j) => j.runId), slows.slice(1), 'the skipped jobs, in their order');
        for (const job of later) assert.equal(job.attempt, 1);
        // A dead consumer's leases of a skipped function are passed over too, and stay claimable.
        await sleep(LEASE_MS + 200);
        assert.deepEqual((await q.claim('c2', 10, skip)).map((j) => j.runId).sort(), [mate, plain, other].sort(), 'only the others\' leases taken over');
        assert.deepEqual((await q.claim('c2', 10)).map((j) => j.runId).sort(), [...slows].sort());
      }));

    it('keeps every job, lease and idempotency key across close and reopen', () =>
      withQueue(open, async (q, space) => {
        const fn = uniqueName();
        const [a, b, c] = [runId(), runId(), runId()];
        await q.enqueue({ runId: a, function: fn, payload: bytes('a'), idempotencyKey: 'key-a' });
        await q.enqueue({ runId: b, function: fn, payload: bytes('b'), notBefore: Date.now() + HOUR, attempt: 2 });
        await q.enqueue({ runId: c, function: fn, payload: bytes('c') });
        const [leased] = await q.claim('c1', 1);
        await q.close();
        const again = await space.open();
        try {
          assert.deepEqual(await again.stats(), { delayed: 1, ready: 1, leased: 1, dead: 0 });
          const jobB = await again.peek(b);
          assert.equal(jobB?.state, 'delayed');
          assert.equal(jobB?.attempt, 2);
          assert.equal(jobB?.payload.toString(), 'b');
          assert.deepEqual(await again.enqueue({ runId: runId(), function: fn, payload: bytes('x'), idempotencyKey: 'key-a' }), { runId: a, created: false });
          await again.ack(leased!); // the lease survives the restart too
          const [next] = await again.claim('c2', 5);
          assert.equal(next?.runId, c);
        } finally {
          await again.close();
        }
      }));

    it('gives a job whose lease expired to another consumer, and refuses the old lease', () =>
      withQueue(open, async (q, space) => {
        const other = await space.open();
        try {
          const id = runId();
          await q.enqueue({ runId: id, function: uniqueName(), payload: bytes('x') });
          const [mine] = await q.claim('dead-consumer', 1);
          assert.deepEqual(await other.claim('c2', 1), []);
          await sleep(LEASE_MS + 150);
          const [taken] = await other.claim('c2', 1);
          assert.equal(taken?.runId, id);
          assert.equal(taken?.deliveries, 2);
          assert.equal(taken?.attempt, 1, 'a redelivery is the same attempt');
          await rejectsWithCode(q.ack(mine!), 'QUEUE_LEASE_LOST');
          await rejectsWithCode(q.nack(mine!, Date.now()), 'QUEUE_LEASE_LOST');
          await other.ack(taken!);
          assert.equal(await q.peek(id), null);
        } finally {
          await other.close();
        }
      }));

    it('keeps a lease that is extended', () =>
      withQueue(open, async (q) => {
        await q.enqueue({ runId: runId(), function: uniqueName(), payload: bytes('x') });
        const [job] = await q.claim('c1', 1);
        // Five extensions a quarter lease apart: together longer than the lease, each well inside it.
        for (let i = 0; i < 5; i++) {
          await sleep(LEASE_MS / 4);
          await q.extend(job!);
        }
        assert.deepEqual(await q.claim('c2', 1), []);
        await q.ack(job!);
      }));

    it('removes an acked job; a second ack is refused', () =>
      withQueue(open, async (q) => {
        const id = runId();
        await q.enqueue({ runId: id, function: uniqueName(), payload: bytes('x') });
        const [job] = await q.claim('c1', 1);
        await q.ack(job!);
        assert.equal(await q.peek(id), null);
        assert.deepEqual(await q.stats(), { delayed: 0, ready: 0, leased: 0, dead: 0 });
        await rejectsWithCode(q.ack(job!), 'QUEUE_LEASE_LOST');
        assert.deepEqual(await q.list(), []);
      }));

    it('hides a nacked job until its notBefore, then hands it out as the next attempt', () =>
      withQueue(open, async (q) => {
        const id = runId();
        await q.enqueue({ runId: id, function: uniqueName(), payload: bytes('x') });
        const [job] = await q.claim('c1', 1);
        await q.nack(job!, Date.now() + RETRY_IN_MS);
        assert.deepEqual(await q.claim('c1', 1), []);
        const waiting = await q.peek(id);
        assert.deepEqual([waiting?.state, waiting?.attempt, waiting?.consumer], ['delayed', 2, null]);
        assert.deepEqual(await q.stats(), { delayed: 1, ready: 0, leased: 0, dead: 0 });
        await rejectsWithCode(q.ack(job!), 'QUEUE_LEASE_LOST');
        await sleep(RETRY_IN_MS + 50);
        const [retry] = await q.claim('c2', 1);
        assert.deepEqual([retry?.runId, retry?.attempt, retry?.deliveries], [id, 2, 1]);
        await q.nack(retry!, 0); // a notBefore in the past: ready at once
        const [third] = await q.claim('c2', 1);
        assert.equal(third?.attempt, 3);
      }));

    it('dead-letters a job after its last attempt, with its payload and reason', () =>
      withQueue(open, async (q) => {
        const id = runId();
        const fn = uniqueName();
        await q.enqueue({ runId: id, function: fn, payload: bytes('x'), idempotencyKey: 'k1' });
        const maxAttempts = 3;
        for (;;) {
          const [job] = await q.claim('c1', 1);
          assert.ok(job);
          if (job.attempt < maxAttempts) await q.nack(job, 0);
          else {
            await q.deadLetter(job, 'HANDLER_ERROR');
            break;
          }
        }
        assert.equal(await q.peek(id), null);
        assert.deepEqual(await q.stats(), { delayed: 0, ready: 0, leased: 0, dead: 1 });
        const [info] = await q.listDead();
        assert.deepEqual([info?.runId, info?.function, info?.attempt, info?.reason, info?.payloadBytes, info?.idempotencyKey], [id, fn, 3, 'HANDLER_ERROR', 1, 'k1']);
        const dead = await q.getDead(id);
        assert.equal(dead?.payload.toString(), 'x');
        assert.ok((dead?.deadAt ?? 0) >= (dead?.enqueuedAt ?? Infinity));
        assert.equal(await q.getDead(runId()), null);
      }));

    it('cancels a queued or delayed job, not a leased one', () =>
      withQueue(open, async (q) => {
        const fn = uniqueName();
        const [ready, delayed, leased] = [runId(), runId(), runId()];
        await q.enqueue({ runId: leased, function: fn, payload: bytes('l') });
        await q.claim('c1', 1);
        await q.enqueue({ runId: ready, function: fn, payload: bytes('r') });
        await q.enqueue({ runId: delayed, function: fn, payload: bytes('d'), notBefore: Date.now() + HOUR });
        assert.equal(await q.cancel(ready), 'cancelled');
        assert.equal(await q.cancel(delayed), 'cancelled');
        assert.equal(await q.cancel(leased), 'leased');
        assert.equal(await q.cancel(ready), 'not_found');
        assert.equal(await q.cancel(runId()), 'not_found');
        assert.equal(await q.peek(ready), null);
        assert.deepEqual(await q.claim('c2', 5), []);
        assert.deepEqual(await q.stats(), { delayed: 0, ready: 0, leased: 1, dead: 0 });
      }));

    it('returns the first run for a repeated idempotency key within the window only', () =>
      withQueue(
        open,
        async (q) => {
          const fn = uniqueName();
          const [first, second, third] = [runId(), runId(), runId()];
          assert.deepEqual(await q.enqueue({ runId: first, function: fn, payload: bytes('1'), idempotencyKey: 'k' }), { runId: first, created: true });
          const [job] = await q.claim('c1', 1);
          await q.ack(job!); // done, but still remembered for the window
          assert.deepEqual(await q.enqueue({ runId: second, function: fn, payload: bytes('2'), idempotencyKey: 'k' }), { runId: first, created: false });
          assert.equal(await q.peek(second), null);
          await sleep(WINDOW_MS + 150);
          assert.deepEqual(await q.enqueue({ runId: third, function: fn, payload: bytes('3'), idempotencyKey: 'k' }), { runId: third, created: true });
        },
        { idempotencyWindowMs: WINDOW_MS },
      ));

    it('answers mismatch for a repeated idempotency key whose fingerprint differs; no fingerprint on either side matches', () =>
      withQueue(open, async (q) => {
        const fn = uniqueName();
        const [first, same, other, plain] = [runId(), runId(), runId(), runId()];
        assert.deepEqual(await q.enqueue({ runId: first, function: fn, payload: bytes('1'), idempotencyKey: 'fk', fingerprint: 'sha256:a' }), { runId: first, created: true });
        assert.deepEqual(await q.enqueue({ runId: same, function: fn, payload: bytes('1'), idempotencyKey: 'fk', fingerprint: 'sha256:a' }), { runId: first, created: false });
        assert.deepEqual(await q.enqueue({ runId: other, function: fn, payload: bytes('2'), idempotencyKey: 'fk', fingerprint: 'sha256:b' }), { runId: first, created: false, mismatch: true });
        // A repeat without a fingerprint (a cron tick's key) matches whatever was kept.
        assert.deepEqual(await q.enqueue({ runId: plain, function: fn, payload: bytes('3'), idempotencyKey: 'fk' }), { runId: first, created: false });
        for (const id of [same, other, plain]) assert.equal(await q.peek(id), null);
        // A key kept without a fingerprint matches any repeat (keys kept before fingerprints were).
        const [bare, later] = [runId(), runId()];
        assert.deepEqual(await q.enqueue({ runId: bare, function: fn, payload: bytes('4'), idempotencyKey: 'bare' }), { runId: bare, created: true });
        assert.deepEqual(await q.enqueue({ runId: later, function: fn, payload: bytes('5'), idempotencyKey: 'bare', fingerprint: 'sha256:c' }), { runId: bare, created: false });
        assert.equal(await q.stats().then((s) => s.ready), 2);
        await assert.rejects(q.enqueue({ runId: runId(), function: fn, payload: bytes('6'), idempotencyKey: 'x', fingerprint: 'has space' }), (err: { code?: string }) => err.code === 'QUEUE_INVALID');
      }));

    it('never leases one job to two concurrent consumers', () =>
      withQueue(open, async (q, space) => {
        const other = await space.open();
        try {
          const fn = uniqueName();
          const ids = Array.from({ length: 40 }, runId);
          await Promise.all(ids.map((id) => q.enqueue({ runId: id, function: fn, payload: bytes(id) })));
          const seen: string[] = [];
          const consume = async (queue: Queue, consumer: string): Promise<void> => {
            for (;;) {
              const jobs: ClaimedJob[] = await queue.claim(consumer, 3);
              if (jobs.length === 0) return;
              for (const job of jobs) seen.push(job.runId);
              await Promise.all(jobs.map((job) => queue.ack(job)));
            }
          };
          await Promise.all([consume(q, 'a'), consume(q, 'b'), consume(other, 'c'), consume(other, 'd')]);
          assert.equal(seen.length, ids.length);
          assert.deepEqual([...seen].sort(), [...ids].sort());
        } finally {
          await other.close();
        }
      }));

    it('counts jobs per function (ready, delayed, leased) and when the oldest ready one became ready', () =>
      withQueue(open, async (q) => {
        const [a, b] = [uniqueName(), uniqueName()].sort() as [string, string];
        const shape = async (): Promise<unknown[]> => (await q.functionStats()).map((s) => [s.function, s.ready, s.delayed, s.leased]);
        assert.deepEqual(await q.functionStats(), []);
        const t0 = Date.now();
        await q.enqueue({ runId: runId(), function: a, payload: bytes('1') });
        await sleep(30);
        const t1 = Date.now();
        await q.enqueue({ runId: runId(), function: a, payload: bytes('2') });
        const t2 = Date.now();
        await q.enqueue({ runId: runId(), function: a, payload: bytes('3'), notBefore: Date.now() + HOUR });
        await q.enqueue({ runId: runId(), function: b, payload: bytes('4') });
        let stats = await q.functionStats();
        assert.deepEqual(stats.map((s) => [s.function, s.ready, s.delayed, s.leased]), [[a, 2, 1, 0], [b, 1, 0, 0]]);
        const oldestA = stats[0]!.oldestReadyAt!;
        assert.ok(oldestA >= t0 && oldestA < t1, `the first job's ready time ${oldestA} in [${t0}, ${t1})`);

        // The oldest is claimed: it counts as leased, and the next one is the oldest ready.
        const [first] = await q.claim('c1', 1);
        assert.equal(first?.function, a);
        stats = await q.functionStats();
        assert.deepEqual(stats.map((s) => [s.function, s.ready, s.delayed, s.leased]), [[a, 1, 1, 1], [b, 1, 0, 0]]);
        assert.ok(stats[0]!.oldestReadyAt! >= t1 && stats[0]!.oldestReadyAt! <= t2);

        // A retry is delayed until its notBefore, then ready since exactly that time.
        const retryAt = Date.now() + RETRY_IN_MS;
        await q.nack(first!, retryAt);
        assert.deepEqual(await shape(), [[a, 1, 2, 0], [b, 1, 0, 0]]);
        const rest = await q.claim('c1', 10); // the ready ones of a and b
        assert.equal(rest.length, 2);
        assert.deepEqual(await shape(), [[a, 0, 2, 1], [b, 0, 0, 1]]);
        assert.equal((await q.functionStats())[0]!.oldestReadyAt, null);
        await sleep(RETRY_IN_MS + 50);
        stats = await q.functionStats();
        assert.deepEqual(stats.map((s) => [s.function, s.ready, s.delayed, s.leased]), [[a, 1, 1, 1], [b, 0, 0, 1]]);
        assert.equal(stats[0]!.oldestReadyAt, retryAt);

        // Jobs that leave the queue (ack, dead letter, cancel) leave the counts; an empty queue lists nothing.
        for (const job of rest) await (job.function === a ? q.ack(job) : q.deadLetter(job, 'X'));
        assert.deepEqual(await shape(), [[a, 1, 1, 0]]);
        for (const info of await q.list()) assert.equal(await q.cancel(info.runId), 'cancelled');
        assert.deepEqual(await q.functionStats(), []);
      }));

    it('round-trips a 256 KiB payload byte-exact', () =>
      withQueue(open, async (q) => {
        const payload = randomBytes(256 * 1024);
        const id = runId();
        await q.enqueue({ runId: id, function: uniqueName(), payload: new Uint8Array(payload) });
        assert.ok((await q.peek(id))!.payload.equals(payload));
        assert.equal((await q.list())[0]?.payloadBytes, payload.length);
        const [job] = await q.claim('c1', 1);
        assert.ok(job!.payload.equals(payload));
        await q.deadLetter(job!, 'X');
        assert.ok((await q.getDead(id))!.payload.equals(payload));
      }));

    it('refuses a duplicate run id, bad arguments and calls after close, by code', () =>
      withQueue(open, async (q, space) => {
        const id = runId();
        await q.enqueue({ runId: id, function: uniqueName(), payload: bytes('x') });
        await rejectsWithCode(q.enqueue({ runId: id, function: 'f', payload: bytes('y') }), 'QUEUE_RUN_EXISTS');
        await rejectsWithCode(q.claim('c1', 0), 'QUEUE_INVALID');
        await rejectsWithCode(q.enqueue({ runId: '', function: 'f', payload: bytes('y') }), 'QUEUE_INVALID');
        const closed = await space.open();
        await closed.close();
        await rejectsWithCode(closed.claim('c1', 1), 'QUEUE_CLOSED');
        await rejectsWithCode(closed.enqueue({ runId: runId(), function: 'f', payload: bytes('y') }), 'QUEUE_CLOSED');
      }));
  });
}
