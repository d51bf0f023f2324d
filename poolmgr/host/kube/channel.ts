/**
 * The frame channel of a runtime in a Pod: handed to the pool at spawn, before the host has a
 * Pod for it, and attached to the TCP connection once it has (the first frame on the connection
 * is the Pod's token). What the pool writes before that is queued in order; a channel that never
 * attaches is closed by the host, which the pool sees as a runtime that never said hello.
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

export class RemoteChannel extends Duplex {
  private socket: Socket | null = null;
  private queued: { chunk: Buffer; done: (err?: Error | null) => void }[] = [];

  constructor() {
    super({ allowHalfOpen: false });
  }

  get attached(): boolean {
    return this.socket !== null;
  }

  /** Connects the channel to `socket` (already authenticated): queued writes go out first. */
  attach(socket: Socket): void {
    if (this.destroyed) {
      socket.destroy();
      return;
    }
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
    const queued = this.queued;
    this.queued = [];
    for (const { chunk, done } of queued) socket.write(chunk, done);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.socket === null) this.queued.push({ chunk, done });
    else this.socket.write(chunk, done);
  }

  override _read(): void {
    this.socket?.resume();
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    this.socket?.destroy();
    for (const { done: cb } of this.queued) cb(err ?? new Error('the channel closed before the runtime connected'));
    this.queued = [];
    done(err);
  }
}
