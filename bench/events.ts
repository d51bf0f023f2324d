/**
 * A child process that prints one JSON object per line (the CLI's `--json` for `up` and `dev`):
 * its events as they come, waited for by predicate; stopped with a signal to its process group.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export type Event = Record<string, unknown> & { event?: string };

export class EventProcess {
  private readonly child: ChildProcess;
  private readonly events: Event[] = [];
  private readonly waiters = new Set<{ test: (e: Event) => boolean; resolve: (e: Event) => void }>();
  private text = '';
  private stderr = '';
  private readonly exit: Promise<number | null>;

  constructor(command: string, args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv }) {
    this.child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.read(chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    this.exit = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  private read(chunk: string): void {
    this.text += chunk;
    let nl: number;
    while ((nl = this.text.indexOf('\n')) >= 0) {
      const line = this.text.slice(0, nl);
      this.text = this.text.slice(nl + 1);
      let event: Event;
      try {
        event = JSON.parse(line) as Event;
      } catch {
        continue;
      }
      this.events.push(event);
      for (const w of this.waiters) {
        if (!w.test(event)) continue;
        this.waiters.delete(w);
        w.resolve(event);
      }
    }
  }

  /** Every event seen so far that passes `test`. */
  /** The last 4,000 characters the process wrote on stderr. */
  errors(): string {
    return this.stderr;
  }

  take(test: (e: Event) => boolean): Event[] {
    return this.events.filter(test);
  }

  /** The first event (from now on, or already seen when `past`) that passes `test`. */
  next(test: (e: Event) => boolean, timeoutMs: number, past = false): Promise<Event> {
    if (past) {
      const seen = this.events.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const waiter = { test, resolve: (e: Event) => { clearTimeout(timer); resolve(e); } };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no matching event in ${timeoutMs} ms; last events: ${JSON.stringify(this.events.slice(-3))}; stderr: ${this.stderr}`));
      }, timeoutMs);
      this.waiters.add(waiter);
      void this.exit.then((code) => {
        if (!this.waiters.has(waiter)) return;
        this.waiters.delete(waiter);
        clearTimeout(timer);
        reject(new Error(`the process exited (${code}) first; stderr: ${this.stderr}`));
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Resolves with the exit code when it exits by itself. */
  exited(): Promise<number | null> {
    return this.exit;
  }

  /** SIGINT to its group, then SIGKILL after `graceMs`; resolves with the exit code. */
  async stop(graceMs = 10_000): Promise<number | null> {
    const pid = this.child.pid;
    if (pid !== undefined && this.child.exitCode === null) {
      try {
        process.kill(-pid, 'SIGINT');
      } catch {
        /* gone */
      }
    }
    const timer = setTimeout(() => {
      try {
        if (pid !== undefined) process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, graceMs);
    const code = await this.exit;
    clearTimeout(timer);
    return code;
  }
}
