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
 * - Shared fairly: one workspace's records take at most half of `maxBytes` (`workspaceShare`), so
 *   one tenant's flood (a store outage, or large failed runs faster than the store takes them)
 *   never leaves the others' records out of it (red team round 42); past its share a workspace's
 *   records are held in memory only, counted and told the same way.
 * - One process per state directory (as for the rest of it).
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { workspaceOfKey, type RunRecord } from '../../protocol/index.js';

/** Default cap on the journal's files: 64 MiB (ten thousand records of a few KiB: the sink's ring). */
export const RUN_JOURNAL_MAX_BYTES = 64 * 1024 * 1024;
const SEGMENT_BYTES = 1024 * 1024;
const NAME = /^(\d+)\.jsonl$/;

/** A file of the journal; `byWorkspace`: the bytes of its lines by the workspace of their run. */
interface Segment { readonly path: string; fd: number | null; bytes: number; lastSeq: number; readonly byWorkspace: Map<string, number> }

export interface RunJournalOptions {
  /** Most bytes the journal's files may take; past it records are held in memory only. */
  maxBytes?: number;
  /** Size at which a file is closed and the next one started. */
  segmentBytes?: number;
  /** Most bytes one workspace's records may take (default: half of `maxBytes`). */
  workspaceShare?: number;
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
  private readonly share: number;
  private seq = 0;
  private next = 0;
  private lines: string[] = [];
  /** The workspace of each line in `lines`. */
  private linesOf: string[] = [];
  /** Bytes of the files' lines, by workspace (each file's `byWorkspace`, summed). */
  private readonly byWorkspace = new Map<string, number>();
  /** The workspaces past their share now: each told once per episode. */
  private readonly overShare = new Set<string>();
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
    this.share = options.workspaceShare ?? Math.floor(this.maxBytes / 2);
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
      const byWorkspace = new Map<string, number>();
      for (const line of text.split('\n')) {
        if (line === '') continue;
        try {
          const [incarnation, run] = JSON.parse(line) as [number | null, RunRecord];
          if (typeof run?.runId !== 'string') throw new Error('no run');
          this.seqOf.set(run, ++this.seq);
          out.push({ run, incarnation: incarnation ?? undefined });
          const ws = workspaceOfKey(String(run.function));
          byWorkspace.set(ws, (byWorkspace.get(ws) ?? 0) + Buffer.byteLength(line) + 1);
        } catch {
          this.unreadable++;
        }
      }
      const bytes = statSync(path).size;
      this.bytes += bytes;
      this.segments.push({ path, fd: null, bytes, lastSeq: this.seq, byWorkspace });
      this.count(byWorkspace, 1);
      this.next = Math.max(this.next, n + 1);
    }
    return out;
  }

  /** Journals a record the sink now holds (constant time: written at the end of this turn of the loop). */
  append(run: RunRecord, incarnation: number | undefined): void {
    if (this.closed) return;
    this.seqOf.set(run, ++this.seq);
    this.lines.push(JSON.stringify([incarnation ?? null, run]));
    this.linesOf.push(workspaceOfKey(run.function));
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Writes the lines appended since the last flush (one write). */
  flush(): void {
    this.scheduled = false;
    if (this.lines.length === 0) return;
    const { chunk, size, byWorkspace, count } = this.taken(this.lines, this.linesOf);
    this.lines = [];
    this.linesOf = [];
    if (size === 0) return;
    if (this.bytes + size > this.maxBytes) {
      this.refuse(count, new Error(`the run journal is full (${this.maxBytes} bytes)`));
      return;
    }
    let seg = this.segments.at(-1);
    try {
      if (seg === undefined || seg.fd === null) {
        const path = join(this.dir, `${this.next++}.jsonl`);
        seg = { path, fd: openSync(path, 'a', 0o600), bytes: 0, lastSeq: 0, byWorkspace: new Map() };
        this.segments.push(seg);
      }
      const written = writeSync(seg.fd!, chunk);
      for (const [ws, n] of byWorkspace) seg.byWorkspace.set(ws, (seg.byWorkspace.get(ws) ?? 0) + n);
      this.count(byWorkspace, 1);
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
      if (this.segments.length === 1 && this.emptied(seg)) return;
      this.cut(seg);
      try {
        unlinkSync(seg.path);
      } catch {
        // Gone already; nothing to keep.
      }
      this.bytes -= seg.bytes;
      this.count(seg.byWorkspace, -1);
      this.segments.shift();
    }
  }

  /**
   * The file being appended to, none of its records held any more: emptied in place and kept open
   * for the next appends (false when it is not open or cannot be truncated: it is deleted). Deleted,
   * the next append created a file on the gateway's loop, within a request's turn: 0.1-3 ms once a
   * second under steady load, most of the RunBatcher's slow flushes (bench/README.md, "The gateway's
   * own timers"). Empty, it replays nothing after a crash, as when it was deleted.
   */
  private emptied(seg: Segment): boolean {
    if (seg.fd === null) return false;
    try {
      ftruncateSync(seg.fd, 0);
    } catch {
      return false;
    }
    this.bytes -= seg.bytes;
    this.count(seg.byWorkspace, -1);
    seg.bytes = 0;
    seg.byWorkspace.clear();
    return true;
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

  /**
   * The lines to write, without those of a workspace past its share (`workspaceShare`: skipped,
   * counted, told once per episode), as one chunk with its size and its bytes by workspace.
   */
  private taken(lines: readonly string[], of: readonly string[]): { chunk: string; size: number; byWorkspace: Map<string, number>; count: number } {
    const byWorkspace = new Map<string, number>();
    const kept: string[] = [];
    let size = 0;
    for (let i = 0; i < lines.length; i++) {
      const ws = of[i]!;
      const bytes = Buffer.byteLength(lines[i]!) + 1;
      const adding = byWorkspace.get(ws) ?? 0;
      if (this.share < this.maxBytes && (this.byWorkspace.get(ws) ?? 0) + adding + bytes > this.share) {
        this.skipped++;
        if (!this.overShare.has(ws)) {
          this.overShare.add(ws);
          this.options.onFull?.(new Error(`workspace ${JSON.stringify(ws)}'s run records take their share of the run journal (${this.share} of its ${this.maxBytes} bytes): its further records are held in memory only`));
        }
        continue;
      }
      byWorkspace.set(ws, adding + bytes);
      kept.push(lines[i]!);
      size += bytes;
    }
    return { chunk: kept.length === 0 ? '' : `${kept.join('\n')}\n`, size, byWorkspace, count: kept.length };
  }

  /**
   * Adds (`sign` 1) or takes away (-1) a file's bytes by workspace; a workspace back under half its
   * share ends its episode (told again the next time it reaches it).
   */
  private count(byWorkspace: ReadonlyMap<string, number>, sign: 1 | -1): void {
    for (const [ws, n] of byWorkspace) {
      const total = (this.byWorkspace.get(ws) ?? 0) + sign * n;
      if (total > 0) this.byWorkspace.set(ws, total);
      else this.byWorkspace.delete(ws);
      if (sign < 0 && total < this.share / 2) this.overShare.delete(ws);
    }
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
