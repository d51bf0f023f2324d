/**
 * Live-logs e2e helpers: a gate the test opens (a function blocks on `GET <gate>/wait/<key>` until
 * the test releases the key: "log, then wait until the test has seen the line"), a `logs --follow
 * --json` process read event by event, and the raw SSE stream read with fetch.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { BIN } from '../helpers/cli-harness.js';
import { SseParser, type SseEvent } from '../../cli/sse.js';
import { py } from './platform-harness.js';

/** Waits up to this long for something a test expects to happen (a failure, never a pass condition). */
const EXPECT_MS = 30_000;

export interface Gate {
  url: string;
  /** Lets the function waiting on `key` go on (now, or as soon as it asks). */
  release(key: string): void;
  close(): Promise<void>;
}

export async function startGate(): Promise<Gate> {
  const released = new Set<string>();
  const waiting = new Map<string, ServerResponse[]>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const key = decodeURIComponent((req.url ?? '').replace(/^\/wait\//, ''));
    if (released.has(key)) {
      res.end('go');
      return;
    }
    waiting.set(key, [...(waiting.get(key) ?? []), res]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    release(key) {
      released.add(key);
      for (const res of waiting.get(key) ?? []) res.end('go');
      waiting.delete(key);
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * A TCP proxy on a fixed address in front of a platform whose port changes: a restarted platform
 * is reached at the same URL (as behind a load balancer). A restart on the very same port may be
 * refused for a minute (the old connections' TIME_WAIT: uWebSockets.js sets no SO_REUSEADDR).
 */
export interface Proxy {
  url: string;
  /** Where new connections go from now on. */
  target(port: number): void;
  close(): Promise<void>;
}

export async function startProxy(port: number): Promise<Proxy> {
  let upstream = port;
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    const up = connect(upstream, '127.0.0.1');
    for (const s of [client, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        up.destroy();
      });
    }
    client.pipe(up);
    up.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: own } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${own}`,
    target(next) {
      upstream = next;
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/**
 * A handler steered by the query: `say` (printed), `log` (a logging.warning message: may hold
 * anything, newlines included), `wait` (a gate key: blocks until released), `then` (printed after).
 */
export function gatedHandler(gateUrl: string): Record<string, string> {
  return {
    'main.py': py(
      'import logging, urllib.request',
      `GATE = ${JSON.stringify(gateUrl)}`,
      'def handler(event, context):',
      '    q = event["query"]',
      '    if "say" in q: print(q["say"], flush=True)',
      '    if "log" in q: logging.getLogger("app").warning(q["log"])',
      '    if "wait" in q: urllib.request.urlopen(GATE + "/wait/" + q["wait"], timeout=120).read()',
      '    if "then" in q: print(q["then"], flush=True)',
      '    if "raise" in q: raise ValueError(q["raise"])',
      '    return {"ok": True}',
    ),
  };
}

export type TailEvent = Record<string, unknown> & { type: string };

/** `fastapi-platform logs <fn> --follow --json …` as a user runs it. */
export class Tail {
  readonly events: TailEvent[] = [];
  stderr = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private waiters: (() => void)[] = [];

  constructor(url: string, token: string | null, args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [BIN, 'logs', ...args, '--follow', '--json', '--url', url, ...(token ? ['--token', token] : [])], {
      env: { PATH: process.env.PATH ?? '', TZ: 'UTC', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let at: number;
      while ((at = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 1);
        if (line.trim() === '') continue;
        this.events.push(JSON.parse(line) as TailEvent);
      }
      this.wake();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => {
      resolve(code);
      this.wake();
    }));
  }

  /** The line events' messages, in order. */
  messages(): string[] {
    return this.events.filter((e) => e.type === 'line').map((e) => e['msg'] as string);
  }

  /** Resolves with the first event (from `from` on) that matches; fails if the process exits first or after EXPECT_MS. */
  async waitFor(match: (e: TailEvent) => boolean, what: string, from = 0): Promise<TailEvent> {
    const deadline = Date.now() + EXPECT_MS;
    let exited = false;
    void this.exited.then(() => { exited = true; });
    for (;;) {
      const found = this.events.slice(from).find(match);
      if (found) return found;
      if (exited) throw new Error(`logs --follow exited before ${what}\nstdout: ${JSON.stringify(this.events)}\nstderr: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${EXPECT_MS} ms\nevents: ${JSON.stringify(this.events)}\nstderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  line(msg: string, from = 0): Promise<TailEvent> {
    return this.waitFor((e) => e.type === 'line' && e['msg'] === msg, `line ${JSON.stringify(msg)}`, from);
  }

  /** The exit code once the process ends by itself, or 'running' if it still runs after `ms`. */
  async exitWithin(ms: number): Promise<number | null | 'running'> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'running'>((resolve) => { timer = setTimeout(() => resolve('running'), ms); });
    const code = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    return code;
  }

  /** SIGTERM (Ctrl-C); resolves with the exit code. */
  async stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return this.exited;
  }

  /** Ends the process whatever its state (cleanup). */
  kill(): void {
    this.child.kill('SIGKILL');
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** The raw SSE stream of the live-logs endpoint, read with fetch. */
export class RawStream {
  readonly events: SseEvent[] = [];
  text = '';
  status = 0;
  private readonly controller = new AbortController();
  private waiters: (() => void)[] = [];
  private done: Promise<void> = Promise.resolve();

  static async open(url: string, headers: Record<string, string>): Promise<RawStream> {
    const s = new RawStream();
    const res = await fetch(url, { headers, signal: s.controller.signal });
    s.status = res.status;
    if (!res.ok || res.body === null) {
      s.text = await res.text();
      return s;
    }
    const parser = new SseParser((e) => {
      s.events.push(e);
      s.wake();
    });
    const body = res.body;
    s.done = (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of body) {
          const text = decoder.decode(chunk as Uint8Array, { stream: true });
          s.text += text;
          parser.push(text);
        }
      } catch {
        // aborted
      }
      s.wake();
    })();
    return s;
  }

  async waitFor(match: (e: SseEvent) => boolean, what: string): Promise<SseEvent> {
    const deadline = Date.now() + EXPECT_MS;
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${what} within ${EXPECT_MS} ms; got ${this.text}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Messages of the `logs` events so far. */
  messages(): string[] {
    return this.events.filter((e) => e.type === 'logs').flatMap((e) => (JSON.parse(e.data) as { lines: { msg: string }[] }).lines.map((l) => l.msg));
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.done;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
