/**
 * FaultLog (controlplane/fault-log.ts): a fault that repeats is one line, then one count per
 * interval while it goes on; once an interval passes without it, its next occurrence is a line
 * again. Kinds are counted apart. Waits for lines as they come (no timed assertion).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dispatcherFaults, errorWords, FaultLog } from '../../controlplane/fault-log.js';

const until = async (ok: () => boolean): Promise<void> => {
  while (!ok()) await new Promise((r) => setTimeout(r, 5));
};

describe('FaultLog', () => {
  it("the dispatcher's line about a run says the run is not lost and may run again (ops round 2)", () => {
    const lines: string[] = [];
    const faults = new FaultLog((line) => lines.push(line), { intervalMs: 60_000 });
    dispatcherFaults((line) => lines.push(line), faults)(new Error('the run state store did not answer'), 'r1');
    faults.close();
    assert.match(lines[0]!, /^dispatcher: run r1: the run state store did not answer \(not lost: .*delivered again after its lease, so it may run twice/);
  });

  it('writes the first of a kind, counts the rest, tells the count once an interval, and forgets a kind gone quiet', async () => {
    const lines: string[] = [];
    const faults = new FaultLog((line) => lines.push(line), { intervalMs: 40 });
    faults.report('queue: down', 'run r1: queue down', 'r1');
    faults.report('queue: down', 'run r2: queue down', 'r2');
    faults.report('queue: down', 'run r2: queue down', 'r2');
    faults.report('store: down', 'store down');
    assert.deepEqual(lines, ['run r1: queue down', 'store down']);
    await until(() => lines.length === 3);
    assert.match(lines[2]!, /^queue: down: 2 more times \(r2\) in the last \d+ s; each is counted/);
    // Still going on: counted into the next interval, not written.
    faults.report('queue: down', 'run r3: queue down', 'r3');
    assert.equal(lines.length, 3);
    await until(() => lines.length === 4);
    assert.match(lines[3]!, /^queue: down: 1 more time \(r3\) in the last/);
    // An interval with none: the kind is forgotten, so the next is written at once.
    await until(() => !faults.counting('queue: down'));
    assert.equal(lines.length, 4);
    faults.report('queue: down', 'run r4: queue down', 'r4');
    assert.equal(lines.at(-1), 'run r4: queue down');
    faults.report('queue: down', 'run r5: queue down', 'r5');
    faults.close();
    assert.match(lines.at(-1)!, /^queue: down: 1 more time \(r5\)/);
    assert.equal(lines.filter((l) => l.startsWith('store')).length, 1, 'a kind that came once has no count line');
  });

  it('names at most five items, then says there were more', () => {
    const lines: string[] = [];
    const faults = new FaultLog((line) => lines.push(line));
    for (let i = 0; i < 9; i++) faults.report('k', `line ${i}`, `s${i}`);
    faults.close();
    assert.deepEqual(lines, ['line 0', 'k: 8 more times (s1, s2, s3, s4, s5, …) in the last 1 s; each is counted, not logged, while it goes on']);
  });
});

describe('errorWords', () => {
  // Chaos round 1: through a Redis outage the dispatcher's and the run sink's lines said ioredis's own words.
  it('says a Redis cut off in plain words, not ioredis\'s', () => {
    assert.equal(errorWords(new Error("Stream isn't writeable and enableOfflineQueue options is false")), 'Redis is not connected (the client is reconnecting)');
    const retries = Object.assign(new Error('Reached the max retries per request limit (which is 0). Refer to "maxRetriesPerRequest" option for details.'), { name: 'MaxRetriesPerRequestError' });
    assert.equal(errorWords(retries), 'Redis did not answer while the client reconnected several times');
    assert.equal(errorWords(new Error('database or disk is full')), 'database or disk is full');
  });
});
