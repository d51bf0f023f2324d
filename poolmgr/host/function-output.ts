/**
 * What a function's process writes to its stdout/stderr outside any call: a task or a thread that
 * outlived its call, a lifespan's background loop, a crash's traceback. Calls capture their own
 * lines (docs/runtime-protocol.md, "Logs"); these went nowhere unless FP_DEBUG was set, where
 * uvicorn prints them on its console (helper round of 2026-12-05). They now go to the platform's
 * own log (its stderr: the terminal of `up` and `dev`), each line prefixed with the function and
 * the process, control characters escaped, and bounded per process: a function that prints in a
 * loop must not flood the operator's log (OUTPUT_BYTES per OUTPUT_WINDOW_MS, then one note).
 */
import { escapeControls } from '../../protocol/index.js';

export const OUTPUT_BYTES = 16 * 1024;
export const OUTPUT_WINDOW_MS = 10_000;

export type OutputSink = (line: string) => void;

/** One process's output budget and its partial last line. */
export class FunctionOutput {
  private windowStart = 0;
  private used = 0;
  private dropped = 0;
  private partial = '';

  constructor(private readonly fn: string, private readonly pid: number, private readonly sink: OutputSink, private readonly now: () => number = Date.now) {}

  write(stream: 'stdout' | 'stderr', text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop()!.slice(-OUTPUT_BYTES); // an unended line waits for its end (bounded)
    for (const line of lines) this.line(stream, line);
  }

  private line(stream: 'stdout' | 'stderr', line: string): void {
    const now = this.now();
    if (now - this.windowStart >= OUTPUT_WINDOW_MS) {
      if (this.dropped > 0) this.sink(`${this.prefix(stream)}[${this.dropped} lines dropped: over ${OUTPUT_BYTES / 1024} KiB in ${OUTPUT_WINDOW_MS / 1000} s]\n`);
      this.windowStart = now;
      this.used = 0;
      this.dropped = 0;
    }
    this.used += line.length + 1;
    if (this.used > OUTPUT_BYTES) {
      this.dropped++;
      return;
    }
    this.sink(`${this.prefix(stream)}${escapeControls(line)}\n`);
  }

  private prefix(stream: 'stdout' | 'stderr'): string {
    return `[function ${escapeControls(this.fn)} (pid ${this.pid}) ${stream}, outside a call] `;
  }
}
