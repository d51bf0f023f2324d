/**
 * One raw HTTP/1.1 exchange over a fresh TCP connection, for tests that send bytes no HTTP client
 * would (chunk extensions, bodies pipelined behind a refusal): each piece written after `gapMs`,
 * then what came back once the server closed the connection or `waitMs` passed.
 */
import net from 'node:net';

export interface RawAnswer {
  /** Every byte the server sent, as Latin-1. */
  text: string;
  /** The server ended or reset the connection (not our timer). */
  closed: boolean;
}

export function rawExchange(port: number, pieces: readonly (Buffer | string)[], options: { gapMs?: number; waitMs?: number } = {}): Promise<RawAnswer> {
  const { gapMs = 0, waitMs = 4000 } = options;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => (closed = true));
    socket.on('end', () => (closed = true));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    });
    const write = (i: number): void => {
      const piece = pieces[i];
      if (piece === undefined || !socket.writable) return;
      socket.write(typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece);
      setTimeout(() => write(i + 1), gapMs);
    };
    write(0);
  });
}
