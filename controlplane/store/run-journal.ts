/**
 * RunJournal: the run records the run sink holds in memory (up to a second of them, every one
 * while the RunStore is down) are also appended to files in the state directory, so a crash of
 * the process (SIGKILL, an OOM kill) loses none of them: the next start replays them into the
 * sink, which writes them (the RunStore upserts by run id, so one written just before the crash is
 * written again harmlessly). Not a guard against the host losing power: the files are written, not
 * fsynced. Decision record: docs/adr/0220-run-records-journaled.md.
 *
 * - `append` is the sink's hot path: a JSON line into a buffer; the buffer goes to the file in one
 *   write per turn of the event loop (a microtask after the gateway's batch of records).
 * - Files (`<dir>/<n>.jsonl`, oldest first) are cut at `segmentBytes`; one is deleted once none of
 *   its records is still held by the sink (`release`, after each write of the RunStore).
 * - Bounded: past `maxBytes` on disk (or when a write fails: a full disk) records are held in memory
 *   only, as before, counted in `skipped`, and `onFull` is told once per episode (RUN_JOURNAL_FULL).
 * - One process per state directory (as for the rest of it).
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord } from '../../protocol/index.js';

/** Default cap on the journal's files: 64 MiB (ten thousand records of a few KiB: the sink's ring). */
export const RUN_JOURNAL_MAX_BYTES = 64 * 1024 * 1024;
const SEGMENT_BYTES = 1024 * 1024;
const NAME = /^(\d+)\.jsonl$/;

interface Segment { readonly path: string; fd: number | null; bytes: number; lastSeq: number }

export interface RunJournalOptions {
  /** Most bytes the journal's files may take; past it records are held in memory only. */
  maxBytes?: number;
  /** Size at which a file is closed and the next one started. */
  segmentBytes?: number;
  /** The journal could not keep records (the cap, or a failed write: the error): once per episode. */
  onFull?(err: unknown): void;
}

/** A record an earlier process journaled, with the incarnation it was recorded for (RunSink.record). */
export interface JournaledRun { run: RunRecord; incarnation: number | undefined }

export class RunJournal {
  private readonly segments: Segment[] = [];
  private readonly seqOf = new WeakMap<RunRecord, number>();
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private seq = 0;
  private next = 0;
  private lines: string[] = [];
  private scheduled = false;
  private bytes = 0;
  private full = false;
  private closed = false;
  /** Records held in memory only (the cap, or a failed write). */
  skipped = 0;
  /** Lines of an earlier process's files that could not be read (a write cut short). */
  unreadable = 0;

  constructor(private readonly dir: string, private readonly options: RunJournalOptions = {}) {
    this.maxBytes = options.maxBytes ?? RUN_JOURNAL_MAX_BYTES;
    this.segmentBytes = options.segmentBytes ?? SEGMENT_BYTES;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * The records an earlier process left, oldest first; call once, before `append`. Their files stay
   * until the sink has written them (`release`); each returned record is tracked as theirs.
   */
  replay(): JournaledRun[] {
    const found = readdirSync(this.dir).flatMap((name) => {
      const m = NAME.exec(name);
      return m === null ? [] : [{ name, n: Number(m[1]) }];
    }).sort((a, b) => a.n - b.n);
    const out: JournaledRun[] = [];
    for (const { name, n } of found) {
      const path = join(this.dir, name);
      const text = readFileSync(path, 'utf8');
      for (const line of text.split('\n')) {
        if (line === '') continue;
        try {
          const [incarnation, run] = JSON.parse(line) as [number | null, RunRecord];
          if (typeof run?.runId !== 'string') throw new Error('no run');
          this.seqOf.set(run, ++this.seq);
          out.push({ run, incarnation: incarnation ?? undefined });
        } catch {
          this.unreadable++;
        }
      }
      const bytes = statSync(path).size;
      this.bytes += bytes;
      this.segments.push({ path, fd: null, bytes, lastSeq: this.seq });
      this.next = Math.max(this.next, n + 1);
    }
    return out;
  }

  /** Journals a record the sink now holds (constant time: written at the end of this turn of the loop). */
  append(run: RunRecord, incarnation: number | undefined): void {
    if (this.closed) return;
    this.seqOf.set(run, ++this.seq);
    this.lines.push(JSON.stringify([incarnation ?? null, run]));
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Writes the lines appended since the last flush (one write). */
  flush(): void {
    this.scheduled = false;
    if (this.lines.length === 0) return;
    const chunk = `${this.lines.join('\n')}\n`;
    const count = this.lines.length;
    this.lines = [];
    const size = Buffer.byteLength(chunk);
    if (this.bytes + size > this.maxBytes) {
      this.refuse(count, new Error(`the run journal is full (${this.maxBytes} bytes)`));
      return;
    }
    let seg = this.segments.at(-1);
    try {
      if (seg === undefined || seg.fd === null) {
        const path = join(this.dir, `${this.next++}.jsonl`);
        seg = { path, fd: openSync(path, 'a', 0o600), bytes: 0, lastSeq: 0 };
        this.segments.push(seg);
      }
      const written = writeSync(seg.fd!, chunk);
      seg.bytes += written;
      this.bytes += written;
      seg.lastSeq = this.seq;
      // A short write (the disk filled midway) leaves a cut line at the file's end: the next write starts a new file.
      if (written < size) throw new Error(`a short write (${written} of ${size} bytes): the disk is full`);
      this.full = false;
      if (seg.bytes >= this.segmentBytes) this.cut(seg);
    } catch (err) {
      if (seg !== undefined) this.cut(seg);
      this.refuse(count, err);
    }
  }

  /**
   * Deletes each file none of whose records the sink still holds: `oldest` is the oldest record it
   * holds (undefined: none). A record it holds that the journal does not know (a reduced copy) keeps every file.
   */
  release(oldest: RunRecord | undefined): void {
    const keepFrom = oldest === undefined ? Infinity : this.seqOf.get(oldest) ?? 0;
    while (this.segments.length > 0) {
      const seg = this.segments[0]!;
      if (seg.lastSeq >= keepFrom) return;
      this.cut(seg);
      try {
        unlinkSync(seg.path);
      } catch {
        // Gone already; nothing to keep.
      }
      this.bytes -= seg.bytes;
      this.segments.shift();
    }
  }

  /** Writes what is buffered and closes the files; they stay for the next start unless released. */
  close(): void {
    this.flush();
    this.closed = true;
    for (const seg of this.segments) this.cut(seg);
  }

  /** Bytes of the journal's files. */
  get size(): number {
    return this.bytes;
  }

  private cut(seg: Segment): void {
    if (seg.fd === null) return;
    try {
      closeSync(seg.fd);
    } catch {
      // Closed is closed.
    }
    seg.fd = null;
  }

  private refuse(count: number, err: unknown): void {
    this.skipped += count;
    if (this.full) return;
    this.full = true;
    this.options.onFull?.(err);
  }
}
