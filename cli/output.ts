/**
 * Output: text for people by default, one JSON document for scripts with `--json`. Commands write
 * through `Io` so tests can capture it. Small formatters for sizes, durations, times and tables.
 */
import { terminalSafe, withoutSequences } from './terminal.js';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Reads all of stdin (for `invoke -`). */
  readStdin: () => Promise<Buffer>;
  /** What stdin is: a terminal, a file (`< payload.json`), a pipe (`echo … |`), or anything else (/dev/null). */
  stdinKind?: 'tty' | 'file' | 'pipe' | 'other';
  /** True when stdout is a terminal (a person reads it, not a pipe or a file). */
  stdoutIsTTY?: boolean;
  /** Asks a yes/no question on the terminal; absent when there is none (stdin is not a TTY). */
  confirm?: (question: string) => Promise<boolean>;
  /** Reads one line typed on the terminal without echo (a secret); absent when stdin is not a TTY. */
  readSecret?: (prompt: string) => Promise<string>;
}

export class Output {
  /**
   * How a note's and an error's `fastapi-platform <command>` is spelled for this user (main.ts sets
   * it from cli/self-command.ts `spelledAs`; unchanged by default).
   */
  spell: (text: string) => string = (text) => text;

  constructor(readonly io: Io, readonly json: boolean) {}

  /**
   * A line for people (suppressed with --json). On a terminal no character that begins a terminal
   * sequence is written raw, whatever the text holds; piped on, the text is left as it is.
   */
  line(text = ''): void {
    if (!this.json) this.io.stdout(`${this.io.stdoutIsTTY === true ? withoutSequences(text) : text}\n`);
  }

  /** A note on stderr (shown in both modes; never part of the JSON document), never a terminal sequence. */
  note(text: string): void {
    this.io.stderr(`${withoutSequences(this.spell(text))}\n`);
  }

  /**
   * A credential shown once (ADR 0188, 0199): on a terminal `lines`, then the value indented below
   * them; piped or redirected (`$(…)`, `> file`, `| login`), the value alone on stdout and
   * `pipedNote` on stderr, so the value arrives as it is. Nothing with --json: its document has it.
   */
  shownOnce(lines: readonly string[], value: string, pipedNote: string): void {
    if (this.json) return;
    if (this.io.stdoutIsTTY !== true) {
      this.note(pipedNote);
      this.io.stdout(`${value}\n`);
      return;
    }
    for (const text of lines) this.line(text);
    this.line(`  ${value}`);
  }

  /** Whether `event` wrote, or the command streams: the output is one JSON object per line from then on. */
  private evented = false;

  /** The command prints one JSON object per line (Command.streams): its error document too, even before any event. */
  streams(): void {
    this.evented = true;
  }

  /** The JSON document (only with --json); on one line after events, which a line reader takes whole. */
  data(value: unknown): void {
    if (this.json) this.io.stdout(`${this.evented ? JSON.stringify(value) : JSON.stringify(value, null, 2)}\n`);
  }

  /** One JSON object per line (for long-running commands such as `up`). */
  event(value: unknown): void {
    if (!this.json) return;
    this.evented = true;
    this.io.stdout(`${JSON.stringify(value)}\n`);
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatMs(ms: number): string {
  if (ms === 0) return '0 ms';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 10_000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** `12s ago`, `5m ago`, `3h ago`, else the date. */
export function formatAgo(at: number, now: number): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return new Date(at).toISOString().slice(0, 16).replace('T', ' ');
}

/** Columns padded to the widest cell; the last column is not padded. */
export function table(header: readonly string[], rawRows: readonly (readonly string[])[]): string {
  // Cells hold what others wrote (env values, labels, audit details): never raw control characters,
  // and one row stays one line (cli/terminal.ts).
  const rows = rawRows.map((r) => r.map((cell) => terminalSafe(cell)));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [render(header), ...rows.map(render)].join('\n');
}

/** Indents every line of `text`. */
export function indent(text: string, by = '  '): string {
  return text.split('\n').map((l) => (l.length > 0 ? by + l : l)).join('\n');
}
