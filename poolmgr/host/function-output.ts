/**
 * What a function's process writes to its stdout/stderr outside any call: a task or a thread that
 * outlived its call, a lifespan's background loop, a crash's traceback. Calls capture their own
 * lines (docs/runtime-protocol.md, "Logs"); these went nowhere unless FP_DEBUG was set, where
 * uvicorn prints them on its console (helper round of 2026-12-05). They now go to the platform's
 * own log (its stderr: the terminal of `up` and `dev`), each line prefixed with the function and
 * the process, control characters escaped, and bounded per process: a function that prints in a
 * loop must not flood the operator's log (OUTPUT_BYTES per OUTPUT_WINDOW_MS, prefixes included, then
 * one note of the bytes dropped). The processes of a workspace share WORKSPACE_OUTPUT_BYTES of each
 * window, and every process of the host ALL_OUTPUT_BYTES (OutputBudget): per process alone, a
 * tenant's 64 instances wrote ~125 KiB/s (~11 GB a day) into the operator's log (red team round 9).
 */
import { escapeControls, workspaceOfKey } from '../../protocol/index.js';

export const OUTPUT_BYTES = 16 * 1024;
export const OUTPUT_WINDOW_MS = 10_000;
/** What all of a workspace's processes together may write to the operator's log per window. */
export const WORKSPACE_OUTPUT_BYTES = 2 * OUTPUT_BYTES;
/** What every function's processes together may write to the operator's log per window. */
export const ALL_OUTPUT_BYTES = 8 * OUTPUT_BYTES;

export type OutputSink = (line: string) => void;

/** Why a process's lines were dropped in a window: what the note says. */
type Over = 'process' | 'workspace' | 'platform';

const OVER_TEXT: Readonly<Record<Over, string>> = {
  process: `over ${OUTPUT_BYTES / 1024} KiB in ${OUTPUT_WINDOW_MS / 1000} s`,
  workspace: `over its workspace's ${WORKSPACE_OUTPUT_BYTES / 1024} KiB in ${OUTPUT_WINDOW_MS / 1000} s`,
  platform: `over the platform's ${ALL_OUTPUT_BYTES / 1024} KiB in ${OUTPUT_WINDOW_MS / 1000} s for every function`,
};

/** The host's share of the operator's log per window (fixed windows): per workspace, and for all. */
export class OutputBudget {
  private window = -1;
  private all = 0;
  private readonly workspaces = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes `bytes` for `workspace`'s line; what refused it, or null. */
  take(workspace: string, bytes: number): Exclude<Over, 'process'> | null {
    const window = Math.floor(this.now() / OUTPUT_WINDOW_MS);
    if (window !== this.window) {
      this.window = window;
      this.all = 0;
      this.workspaces.clear();
    }
    const mine = this.workspaces.get(workspace) ?? 0;
    if (mine + bytes > WORKSPACE_OUTPUT_BYTES) return 'workspace';
    if (this.all + bytes > ALL_OUTPUT_BYTES) return 'platform';
    this.workspaces.set(workspace, mine + bytes);
    this.all += bytes;
    return null;
  }
}

/** One process's output budget and its partial last line. */
export class FunctionOutput {
  private windowStart = 0;
  /** What this window's lines took of the operator's log, their prefixes included. */
  private used = 0;
  private droppedBytes = 0;
  private partial = '';
  /** The output goes on with the rest of a dropped line: it is no line of its own. */
  private skipping = false;
  private over: Over = 'process';

  constructor(
    private readonly fn: string,
    private readonly pid: number,
    private readonly sink: OutputSink,
    private readonly now: () => number = Date.now,
    /** The host's, shared by its processes (null: this process's bound only). */
    private readonly budget: OutputBudget | null = null,
  ) {}

  write(stream: 'stdout' | 'stderr', text: string): void {
    const now = this.now();
    if (now - this.windowStart >= OUTPUT_WINDOW_MS) {
      if (this.droppedBytes > 0) this.sink(`${this.prefix(stream)}[${this.droppedBytes} bytes dropped: ${OVER_TEXT[this.over]}]\n`);
      this.windowStart = now;
      this.used = 0;
      this.droppedBytes = 0;
      this.over = 'process';
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
      const over = this.used > OUTPUT_BYTES ? 'process' : (this.budget?.take(workspaceOfKey(this.fn), out.length) ?? null);
      if (over !== null) {
        // Past a shared share too, the rest of this window is counted, not looked at.
        this.over = over;
        this.used = Math.max(this.used, OUTPUT_BYTES);
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
