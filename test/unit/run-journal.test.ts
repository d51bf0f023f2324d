/**
 * The run journal (controlplane/store/run-journal.ts, ADR 0220): run records the sink holds are
 * also on disk, so a crash (the process's memory gone) or a stop while the run store is down loses
 * none; bounded by its cap, told once per episode (RUN_JOURNAL_FULL) and counted past it.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RecordingRunSink, RunJournal, type RunStore } from '../../controlplane/store/index.js';
import type { RunRecord } from '../../protocol/index.js';
import { run } from '../conformance/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'fp-run-journal-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const dirOf = (): string => join(root, String(dirs++));
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A run store that takes nothing while `down`, and keeps what it took. */
function store(): { runs: RunStore; written: RunRecord[]; down: boolean } {
  const s = { written: [] as RunRecord[], down: true, runs: null as unknown as RunStore };
  s.runs = { record: async (batch: readonly RunRecord[]) => {
    if (s.down) throw new Error('connection refused');
    s.written.push(...batch);
  } } as unknown as RunStore;
  return s;
}

describe('RunJournal with the run sink', () => {
  it('a process that dies while the store is down loses no record: the next one writes each, with its incarnation, and empties the journal', async () => {
    const dir = dirOf();
    const first = store();
    const sink = new RecordingRunSink({ runs: first.runs, journal: new RunJournal(dir), incarnation: () => 7, tuning: { lingerMs: 5, retryBaseMs: 5, retryMaxMs: 10 } });
    const records = Array.from({ length: 20 }, (_, i) => run({ function: 'f', logs: [{ ts: 1, stream: 'stdout', msg: `line ${i}` }] }));
    for (const r of records) sink.record(r, 7);
    await turn();
    await turn();
    assert.equal(first.written.length, 0);
    // The crash: `sink` is never closed, its memory is gone.

    const second = store();
    second.down = false;
    const journal = new RunJournal(dir);
    const again = new RecordingRunSink({ runs: second.runs, journal, incarnation: () => 7, tuning: { lingerMs: 5 } });
    assert.equal(again.restore(), 20);
    assert.equal(await again.flush(2000), true);
    await turn();
    // Before: [] (the records were in the dead process's memory only).
    assert.deepEqual(second.written.map((r) => r.runId), records.map((r) => r.runId));
    assert.equal(second.written[19]!.logs[0]!.msg, 'line 19');
    assert.deepEqual(readdirSync(dir), [], 'written: its file is gone');
    await again.close(100);
  });

  it('a record of an incarnation deleted while the process was down is not written after the restart (red team 5)', async () => {
    const dir = dirOf();
    const sink = new RecordingRunSink({ runs: store().runs, journal: new RunJournal(dir), incarnation: () => 7, tuning: { lingerMs: 5 } });
    sink.record(run({ function: 'f' }), 7);
    await turn();
    const second = store();
    second.down = false;
    const again = new RecordingRunSink({ runs: second.runs, journal: new RunJournal(dir), incarnation: () => 8, tuning: { lingerMs: 5 } });
    assert.equal(again.restore(), 1);
    await again.close(1000);
    assert.deepEqual(second.written, []);
  });

  it('a stop that cannot write its records keeps them for the next start; a line cut short by the crash is skipped', async () => {
    const dir = dirOf();
    const first = store();
    const sink = new RecordingRunSink({ runs: first.runs, journal: new RunJournal(dir), tuning: { lingerMs: 5, retryBaseMs: 5 } });
    const kept = run({ function: 'f' });
    sink.record(kept);
    await sink.close(50); // the store is down: dropped (`shutdown`), journaled still
    const [file] = readdirSync(dir);
    appendFileSync(join(dir, file!), '[null,{"runId":"cut sh');
    const journal = new RunJournal(dir);
    const replayed = journal.replay();
    assert.deepEqual(replayed.map((r) => r.run.runId), [kept.runId]);
    assert.equal(journal.unreadable, 1);
  });

  it('past its cap keeps records in memory only: told once (RUN_JOURNAL_FULL), counted, and journals again once it has room', async () => {
    const dir = dirOf();
    const told: unknown[] = [];
    // One workspace may take the whole journal here (its share is tested below).
    const journal = new RunJournal(dir, { maxBytes: 4096, segmentBytes: 1024, workspaceShare: 4096, onFull: (err) => told.push(err) });
    const s = store();
    const sink = new RecordingRunSink({ runs: s.runs, journal, tuning: { lingerMs: 5, retryBaseMs: 5, retryMaxMs: 10 } });
    for (let i = 0; i < 40; i++) {
      sink.record(run({ function: 'f' }));
      await turn();
    }
    assert.ok(journal.size <= 4096, `${journal.size} bytes`);
    assert.ok(sink.unjournaled > 0, 'the records past the cap are counted');
    assert.equal(told.length, 1, 'told once per episode');
    assert.match(String(told[0]), /full/);
    s.down = false;
    assert.equal(await sink.flush(2000), true);
    await turn();
    assert.equal(journal.size, 0, 'every record written: every file released');
    const skipped = sink.unjournaled;
    sink.record(run({ function: 'f' }));
    await turn();
    assert.equal(sink.unjournaled, skipped, 'room again: journaled');
    await sink.close(1000);
    assert.equal(s.written.length, 41);
  });

  it("one workspace's flood takes at most half of the journal: another workspace's records are still journaled and written after a crash (red team round 42)", async () => {
    const dir = dirOf();
    const told: unknown[] = [];
    const journal = new RunJournal(dir, { maxBytes: 64 * 1024, onFull: (err) => told.push(err) });
    const first = store();
    const sink = new RecordingRunSink({ runs: first.runs, journal, tuning: { lingerMs: 5, retryBaseMs: 5, retryMaxMs: 10 } });
    // A tenant's failed runs (each may carry 256 KiB of logs), faster than the store takes them: to the last byte.
    for (let i = 0; i < 300; i++) {
      sink.record(run({ function: 'noisy.attacker', status: 'failed', logs: [{ ts: 1, stream: 'stderr', msg: 'x'.repeat(200) }] }));
      await turn();
    }
    const victim = run({ function: 'orders-service.victim' });
    sink.record(victim);
    await turn();
    assert.ok(journal.size <= 64 * 1024, `${journal.size} bytes`);
    assert.ok(sink.unjournaled > 0 && sink.unjournaled < 301, `${sink.unjournaled} unjournaled: the flood's own records past its share`);
    // The crash: the next process writes what the journal kept.
    const second = store();
    second.down = false;
    const again = new RecordingRunSink({ runs: second.runs, journal: new RunJournal(dir), tuning: { lingerMs: 5 } });
    again.restore();
    assert.equal(await again.flush(2000), true);
    // Before: the victim's record was past the cap the flood had filled (journaled never, lost with the crash).
    assert.ok(second.written.some((r) => r.runId === victim.runId), "the other workspace's record is kept");
    assert.ok(second.written.some((r) => r.function === 'noisy.attacker'), "the flood's records up to its share are kept too");
    assert.match(String(told[0]), /workspace "attacker".*share/, 'told: RUN_JOURNAL_FULL naming the workspace');
    await again.close(100);
  });

  it('the file being appended to, all of it written, is emptied in place: no file is created on the request path, and a crash replays only what came after', async () => {
    const dir = dirOf();
    const journal = new RunJournal(dir);
    const written = Array.from({ length: 5 }, () => run({ function: 'f' }));
    for (const r of written) journal.append(r, 7);
    journal.flush();
    assert.deepEqual(readdirSync(dir), ['0.jsonl']);
    journal.release(undefined); // the sink holds none of them: all written
    assert.equal(journal.size, 0);
    const later = run({ function: 'f' });
    journal.append(later, 7);
    journal.flush();
    // Before: ['1.jsonl'] (0.jsonl deleted, a new file created by the append's flush: 0.1-3 ms on the gateway's loop).
    assert.deepEqual(readdirSync(dir), ['0.jsonl'], 'the same file, still open');
    assert.ok(journal.size > 0);
    // The crash: the next process replays what was not written, and nothing that was.
    assert.deepEqual(new RunJournal(dir).replay().map((j) => j.run.runId), [later.runId]);
  });
});
