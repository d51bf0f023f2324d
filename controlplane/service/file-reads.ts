/**
 * File contents the API is reading into answers at once (`GET …/versions/:n/file`: a version's
 * file, up to 10 MiB, read whole and answered as JSON text or base64), bounded per process (red
 * team round 5 of 2026-12-05). Each such answer costs about four times the file while it is built
 * (the content, its base64 or text, the JSON, the bytes written), and nothing bounded how many
 * were built at once: 600 requests for one 10 MiB file of the tenant's own, sent without reading
 * the answers, took the platform from 76 MiB to 6.4 GiB (and 120 to 1.6 GiB), growing with the
 * requests, until the kernel's OOM killer would take it. Once written, an answer waiting for its
 * client counts in the gateway's held-response budget (docs/gateway.md, "Slow clients").
 *
 * A workspace reads at most a quarter of `maxBytes` at once: its other reads wait their turn, in
 * order (the console loads a version's files all at once), up to MAX_WAITING of them; a read alone
 * of its workspace is taken whatever its size. Past `maxBytes`, all workspaces together, a read
 * is refused (503 FILE_READS_BUSY): it takes four workspaces' shares, and one tenant's reads
 * never make another's wait.
 */
import { PlatformError } from '../../protocol/index.js';

/** Contents being read into answers at once, per process (default): six 10 MiB files. */
export const DEFAULT_MAX_FILE_READ_BYTES = 64 * 1024 * 1024;
/** Reads one workspace may have waiting for its share; past it they are refused. */
export const MAX_WAITING = 1000;

interface Waiter {
  bytes: number;
  start: () => void;
  refuse: (err: PlatformError) => void;
}

export class FileReads {
  private held = 0;
  private readonly heldOf = new Map<string, number>();
  private readonly waitingOf = new Map<string, Waiter[]>();

  constructor(readonly maxBytes: number = DEFAULT_MAX_FILE_READ_BYTES) {}

  /** Runs `read` holding `bytes` for `workspace` (after its earlier reads, within its share), or throws FILE_READS_BUSY. */
  async with<T>(workspace: string, bytes: number, read: () => Promise<T>): Promise<T> {
    const waiting = this.waitingOf.get(workspace);
    if (waiting !== undefined || !this.fitsShare(workspace, bytes)) {
      const queue = waiting ?? [];
      if (queue.length >= MAX_WAITING) throw busy(`workspace "${workspace}" has ${MAX_WAITING} file reads waiting already`);
      this.waitingOf.set(workspace, queue);
      await new Promise<void>((start, refuse) => queue.push({ bytes, start, refuse }));
    } else {
      this.take(workspace, bytes);
    }
    try {
      return await read();
    } finally {
      this.release(workspace, bytes);
    }
  }

  private fitsShare(workspace: string, bytes: number): boolean {
    const own = this.heldOf.get(workspace) ?? 0;
    return own === 0 || own + bytes <= this.maxBytes / 4;
  }

  /** Holds `bytes` for `workspace`, or throws FILE_READS_BUSY past the total (a read alone always fits). */
  private take(workspace: string, bytes: number): void {
    if (this.held > 0 && this.held + bytes > this.maxBytes) throw busy('the platform is reading as many files as it may at once');
    this.held += bytes;
    this.heldOf.set(workspace, (this.heldOf.get(workspace) ?? 0) + bytes);
  }

  /** A read ended: the workspace's next reads start while they fit its share. */
  private release(workspace: string, bytes: number): void {
    this.held -= bytes;
    const left = (this.heldOf.get(workspace) ?? 0) - bytes;
    if (left > 0) this.heldOf.set(workspace, left);
    else this.heldOf.delete(workspace);
    const queue = this.waitingOf.get(workspace);
    while (queue !== undefined && queue.length > 0 && this.fitsShare(workspace, queue[0]!.bytes)) {
      const next = queue.shift()!;
      try {
        this.take(workspace, next.bytes);
        next.start();
      } catch (err) {
        next.refuse(err as PlatformError);
      }
    }
    if (queue !== undefined && queue.length === 0) this.waitingOf.delete(workspace);
  }
}

function busy(why: string): PlatformError {
  return new PlatformError('FILE_READS_BUSY', `${why}; retry in a moment`, { retryAfterS: 1 });
}
