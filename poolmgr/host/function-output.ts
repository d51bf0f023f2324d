/**
 * What a function's process writes to its stdout/stderr outside any call: a task or a thread that
 * outlived its call, a lifespan's background loop, a crash's traceback. Calls capture their own
 * lines (docs/runtime-protocol.md, "Logs"); these went nowhere unless FP_DEBUG was set, where
 * uvicorn prints them on its console (helper round of 2026-12-05). They now go to the platform's
 * own log (its stderr: the terminal of `up` and `dev`), each line prefixed with the function and
 * the process, control characters escaped, and bounded per process: a function that prints in a
 * loop must not flood the operator's log (OUTPUT_BYTES per OUTPUT_WINDOW_MS, prefixes included, then
 * one note of the bytes dropped).
 */
import { escapeControls } from '../../protocol/index.js';

export const OUTPUT_BYTES = 16 * 1024;
export const OUTPUT_WINDOW_MS = 10_000;

export type OutputSink = (line: string) => void;

/** One process's output budget and its partial last line. */
export class FunctionOutput {
  private windowStart = 0;
  /** What this window's lines took of the operator's log, their prefixes included. */
  private used = 0;
  private droppedBytes = 0;
  private partial = '';
  /** The output goes on with the rest of a dropped line: it is no line of its own. */
  private skipping = false;

  constructor(private readonly fn: string, private readonly pid: number, private readonly sink: OutputSink, private readonly now: () => number = Date.now) {}

  write(stream: 'stdout' | 'stderr', text: string): void {
    const now = this.now();
    if (now - this.windowStart >= OUTPUT_WINDOW_MS) {
      if (this.droppedBytes > 0) this.sink(`${this.prefix(stream)}[${this.droppedBytes} bytes dropped: over ${OUTPUT_BYTES / 1024} KiB in ${OUTPUT_WINDOW_MS / 1000} s]\n`);
      this.windowStart = now;
      this.used = 0;
      this.droppedBytes = 0;
    }
    // Past the budget a chunk is counted, not looked at: a process writing newlines as fast as it
    // can cost the gateway's event loop a split and a call per line, and slowed every other
    // function's calls ten times over (red team of 2026-12-05, third round).
    if (this.used >= OUTPUT_BYTES) return this.drop(text, 0);
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n', start);
      if (end < 0) {
        if (this.skipping) this.droppedBytes += text.length - start;
        else {
          // An unended line waits for its end, bounded: what goes past the bound is dropped.
          const pending = this.partial + text.slice(start);
          if (pending.length > OUTPUT_BYTES) this.droppedBytes += pending.length - OUTPUT_BYTES;
          this.partial = pending.length > OUTPUT_BYTES ? pending.slice(-OUTPUT_BYTES) : pending;
        }
        return;
      }
      const line = this.partial + text.slice(start, end);
      this.partial = '';
      start = end + 1;
      if (this.skipping) {
        this.skipping = false;
        this.droppedBytes += line.length + 1;
        continue;
      }
      const out = `${this.prefix(stream)}${escapeControls(line)}\n`;
      this.used += out.length;
      if (this.used > OUTPUT_BYTES) {
        this.droppedBytes += line.length + 1;
        return this.drop(text, start);
      }
      this.sink(out);
    }
  }

  /** `bytes` the box's init dropped before they reached the host (past its own budget): said in the next note. */
  dropped(bytes: number): void {
    this.droppedBytes += bytes;
  }

  /** Drops `text` from `from` on, with the line waiting for its end (and the rest of the line it ends in). */
  private drop(text: string, from: number): void {
    this.droppedBytes += text.length - from + this.partial.length;
    this.partial = '';
    this.skipping = text.length > 0 && text.charCodeAt(text.length - 1) !== 10;
  }

  private prefix(stream: 'stdout' | 'stderr'): string {
    return `[function ${escapeControls(this.fn)} (pid ${this.pid}) ${stream}, outside a call] `;
  }
}
