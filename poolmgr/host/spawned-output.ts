/**
 * A spawned runtime's stdout and stderr (no zygote: `FP_ZYGOTES=0`, or a preset's zygote bypassed
 * after repeated failures). A forked runtime's output passes through its box's init, which drops
 * what is past the budget where it is read, in the box (runtime/fp_sandbox/init.c); a spawned one
 * writes to pipes the gateway reads itself, on its event loop. Past the budget the gateway read
 * every byte of a flood (526 MB in 1.5 s from one thread), at the cost of every other function's
 * calls (docs/runtime-protocol.md, "Logs").
 *
 * The same budget here: FORWARD_BYTES of the two streams together per FORWARD_WINDOW_MS go on;
 * past it a chunk is counted and dropped (its stderr's last TAIL_BYTES kept for the end: a crash's
 * traceback), and the pipe is not read again for PAST_BUDGET_PAUSE_MS. So a flood costs the gateway
 * one read (at most 64 KiB) per pause, ~100 a second, and the writer waits for the pipe meanwhile:
 * unlike in a forked box, a writer past its budget is slowed (at most one pause per pipe's worth),
 * which only the flooding function feels.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

export const FORWARD_BYTES = 64 * 1024;
export const FORWARD_WINDOW_MS = 10_000;
export const TAIL_BYTES = 4096;
export const PAST_BUDGET_PAUSE_MS = 10;

type Stream = 'stdout' | 'stderr';

export interface OutputTarget {
  /** Text within the budget, decoded. */
  out(stream: Stream, text: string): void;
  /** Bytes dropped past it (said at the next window, and at the end). */
  dropped(bytes: number): void;
}

export class SpawnedOutput {
  private windowStart = -Infinity;
  private forwarded = 0;
  private droppedBytes = 0;
  private tail: Buffer = Buffer.alloc(0);
  private open = 0;

  constructor(private readonly target: OutputTarget, private readonly now: () => number = Date.now) {}

  /** Reads `pipe` as `stream` under the shared budget, until it ends. */
  read(pipe: Readable | null, stream: Stream): void {
    if (pipe === null) return;
    this.open++;
    let decoder = new StringDecoder('utf8');
    pipe.on('data', (chunk: Buffer) => {
      const now = this.now();
      if (now - this.windowStart >= FORWARD_WINDOW_MS) {
        this.windowStart = now;
        this.forwarded = 0;
        this.sayDropped();
      }
      const room = FORWARD_BYTES - this.forwarded;
      if (chunk.length <= room) {
        this.forwarded += chunk.length;
        const text = decoder.write(chunk);
        if (text.length > 0) this.target.out(stream, text);
        return;
      }
      if (room > 0) {
        this.forwarded = FORWARD_BYTES;
        const text = decoder.write(chunk.subarray(0, room)) + decoder.end();
        decoder = new StringDecoder('utf8'); // what follows a drop starts afresh
        if (text.length > 0) this.target.out(stream, text);
      }
      const rest = chunk.subarray(Math.max(room, 0));
      this.droppedBytes += rest.length;
      if (stream === 'stderr') this.keepTail(rest);
      pipe.pause();
      setTimeout(() => pipe.resume(), PAST_BUDGET_PAUSE_MS).unref();
    });
    pipe.on('close', () => {
      const text = decoder.end();
      if (text.length > 0) this.target.out(stream, text);
      if (--this.open === 0) this.flush();
    });
  }

  /** At the end: the count of what was dropped, then the dropped stderr's tail. */
  private flush(): void {
    this.droppedBytes -= Math.min(this.tail.length, this.droppedBytes);
    this.sayDropped();
    if (this.tail.length > 0) this.target.out('stderr', this.tail.toString('utf8'));
    this.tail = Buffer.alloc(0);
  }

  private sayDropped(): void {
    if (this.droppedBytes === 0) return;
    this.target.dropped(this.droppedBytes);
    this.droppedBytes = 0;
  }

  private keepTail(data: Buffer): void {
    this.tail = data.length >= TAIL_BYTES
      ? Buffer.from(data.subarray(data.length - TAIL_BYTES))
      : Buffer.concat([this.tail, data]).subarray(-TAIL_BYTES);
  }
}
