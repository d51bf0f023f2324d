/**
 * A WebSocket client over a raw socket (RFC 6455), for tests: Node 20 has no WebSocket without a
 * flag, and a raw client can also do what a browser never does (stop reading, send a message of
 * any size, close without a close frame). Client frames are masked, server frames are read whole
 * (a fragmented message is joined), pings are answered.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';

export type WsEvent = { kind: 'text'; text: string } | { kind: 'binary'; data: Buffer } | { kind: 'close'; code: number; reason: string };

export interface WsRefused {
  status: number;
  head: string;
  body: string;
}

export class RawWebSocket {
  /** The 101 answer's headers (names lower-case). */
  headers: Record<string, string> = {};
  private buffer = Buffer.alloc(0);
  private events: WsEvent[] = [];
  private waiters: ((e: WsEvent) => void)[] = [];
  private fragments: Buffer[] = [];
  private fragmentKind = 0;
  /** The connection ended (a close frame or the socket's end). */
  ended = false;

  /** Resolves when the server has ended the TCP connection (its FIN, or the socket closed). */
  private readonly serverEnded: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    this.serverEnded = new Promise((resolve) => {
      socket.once('end', resolve);
      socket.once('close', resolve);
    });
  }

  /** The server ended the TCP connection within `timeoutMs` (after its close frame, it shuts the socket down). */
  tcpEnded(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not end the TCP connection within ${timeoutMs} ms`)), timeoutMs);
      void this.serverEnded.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Opens `url` (ws://host:port/path; `headers` may name another Host or Connection); rejects with WsRefused on any answer but 101. */
  /** Answers a close frame with its own and waits for the server to end the connection (as Python's websockets does), instead of ending it. */
  private answerClose = false;

  static connect(url: string, opts: { protocols?: string[]; headers?: Record<string, string>; answerClose?: boolean } = {}): Promise<RawWebSocket> {
    const u = new URL(url);
    const key = randomBytes(16).toString('base64');
    const own = (name: string): boolean => Object.keys(opts.headers ?? {}).some((k) => k.toLowerCase() === name);
    const lines = [`GET ${u.pathname}${u.search} HTTP/1.1`, ...(own('host') ? [] : [`Host: ${u.host}`]), 'Upgrade: websocket', ...(own('connection') ? [] : ['Connection: Upgrade']),
      `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13'];
    if (opts.protocols?.length) lines.push(`Sec-WebSocket-Protocol: ${opts.protocols.join(', ')}`);
    for (const [k, v] of Object.entries(opts.headers ?? {})) lines.push(`${k}: ${v}`);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(u.port), u.hostname, () => socket.write(`${lines.join('\r\n')}\r\n\r\n`));
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const text = head.subarray(0, end).toString('latin1');
        const status = Number(text.split(' ')[1]);
        if (status !== 101) {
          // Read the rest of a refusal (its Content-Length) before answering.
          const length = Number(/content-length: *(\d+)/i.exec(text)?.[1] ?? '0');
          if (head.length - end - 4 < length) return;
          socket.off('data', onData);
          socket.destroy();
          reject(Object.assign(new Error(`handshake answered ${status}`), { status, head: text, body: head.subarray(end + 4, end + 4 + length).toString() } satisfies WsRefused));
          return;
        }
        socket.off('data', onData);
        const ws = new RawWebSocket(socket);
        ws.answerClose = opts.answerClose === true;
        for (const line of text.split('\r\n').slice(1)) {
          const at = line.indexOf(':');
          ws.headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
        }
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        if (ws.headers['sec-websocket-accept'] !== accept) {
          socket.destroy();
          reject(new Error(`bad Sec-WebSocket-Accept in ${text}`));
          return;
        }
        socket.on('data', (more: Buffer) => ws.feed(more));
        socket.on('close', () => ws.push({ kind: 'close', code: 1006, reason: '' }));
        socket.on('error', () => undefined);
        ws.feed(head.subarray(end + 4));
        resolve(ws);
      };
      socket.on('data', onData);
      socket.on('error', reject);
    });
  }

  /** The next message or the close (1006: the socket ended without a close frame). */
  next(timeoutMs = 20_000): Promise<WsEvent> {
    const ready = this.events.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no WebSocket event within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((e) => {
        clearTimeout(timer);
        resolve(e);
      });
    });
  }

  /** Events until the close, which is returned. */
  async closed(timeoutMs = 20_000): Promise<{ code: number; reason: string; before: WsEvent[] }> {
    const before: WsEvent[] = [];
    for (;;) {
      const e = await this.next(timeoutMs);
      if (e.kind === 'close') return { code: e.code, reason: e.reason, before };
      before.push(e);
    }
  }

  sendText(text: string): void {
    this.frame(1, Buffer.from(text, 'utf8'));
  }

  sendBinary(data: Buffer): void {
    this.frame(2, data);
  }

  /** A close frame; the server answers with its own and ends the connection. */
  close(code = 1000, reason = ''): void {
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    this.frame(8, payload);
  }

  /** A frame of any opcode and payload, as given (an invalid one included). */
  sendFrame(opcode: number, payload: Buffer): void {
    this.frame(opcode, payload);
  }

  /** Stops reading: the socket's buffers fill and the server sees backpressure. */
  pause(): void {
    this.socket.pause();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private frame(opcode: number, payload: Buffer): void {
    const mask = randomBytes(4);
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x80 | opcode, 0x80 | n])
      : n < 65536 ? Buffer.from([0x80 | opcode, 0x80 | 126, n >> 8, n & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), (() => {
          const b = Buffer.alloc(8);
          b.writeBigUInt64BE(BigInt(n));
          return b;
        })()]);
    const masked = Buffer.alloc(n);
    for (let i = 0; i < n; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
    if (!this.socket.destroyed) this.socket.write(Buffer.concat([head, mask, masked]));
  }

  private feed(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) return;
      let len = b[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (b.length < at + len) return;
      const fin = (b[0]! & 0x80) !== 0;
      const opcode = b[0]! & 0x0f;
      const payload = Buffer.from(b.subarray(at, at + len));
      this.buffer = b.subarray(at + len);
      if (opcode === 9) this.frame(10, payload);
      else if (opcode === 8) {
        this.push({ kind: 'close', code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString('utf8') });
        if (this.answerClose) this.frame(8, payload.subarray(0, 2));
        else this.socket.end();
      } else if (opcode === 0 || opcode === 1 || opcode === 2) {
        if (opcode !== 0) this.fragmentKind = opcode;
        this.fragments.push(payload);
        if (fin) {
          const data = Buffer.concat(this.fragments);
          this.fragments = [];
          this.push(this.fragmentKind === 1 ? { kind: 'text', text: data.toString('utf8') } : { kind: 'binary', data });
        }
      }
    }
  }

  private push(e: WsEvent): void {
    if (this.ended) return;
    if (e.kind === 'close') this.ended = true;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter(e);
    else this.events.push(e);
  }
}

/** A FastAPI app (entrypoint `main:handler`) echoing each text message at `/ws`: the WebSocket tests' simplest function. */
export const WS_ECHO_APP = [
  'from fastapi import FastAPI, WebSocket',
  'handler = FastAPI()',
  '',
  '@handler.websocket("/ws")',
  'async def echo(ws: WebSocket):',
  '    await ws.accept()',
  '    while True:',
  '        await ws.send_text(await ws.receive_text())',
  '',
].join('\n');
