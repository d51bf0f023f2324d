/**
 * One raw HTTP/1.1 exchange over a fresh TCP connection, for tests that send bytes no HTTP client
 * would (smuggling shapes, chunk extensions, bodies pipelined behind a refusal): each piece written
 * after `gapMs`, then what came back once the server closed the connection, `until` said the
 * answer is whole (the client then closes it), or `waitMs` passed.
 */
import net from 'node:net';

export interface RawAnswer {
  /** Every byte the server sent. */
  data: Buffer;
  /** The same, as Latin-1. */
  text: string;
  /** The server closed the connection (FIN or RST) before `waitMs` ran out. */
  closed: boolean;
  /** ECONNRESET / EPIPE when the server reset the connection. */
  error: string | null;
}

export interface RawOptions {
  gapMs?: number;
  waitMs?: number;
  /** Called with everything received so far: true closes the connection from the client's side. */
  until?: (data: Buffer) => boolean;
}

export function rawExchange(port: number, pieces: readonly (Buffer | string)[], options: RawOptions = {}): Promise<RawAnswer> {
  const { gapMs = 0, waitMs = 4000, until } = options;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    const chunks: Buffer[] = [];
    let error: string | null = null;
    let closed = false;
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (until !== undefined && until(Buffer.concat(chunks))) socket.destroy();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('end', () => (closed = true));
    socket.on('close', () => {
      clearTimeout(timer);
      const data = Buffer.concat(chunks);
      resolve({ data, text: data.toString('latin1'), closed: closed || error !== null, error });
    });
    // Each piece schedules the next: timers of different lengths (gapMs * i) can run out of order
    // when the event loop is late, and then pieces went out in the wrong order.
    const write = (i: number): void => {
      const piece = pieces[i];
      if (piece === undefined || !socket.writable) return;
      socket.write(typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece);
      setTimeout(() => write(i + 1), gapMs);
    };
    write(0);
  });
}
