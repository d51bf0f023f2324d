/**
 * Cron e2e helpers: a function that reports each tick it runs for to a small HTTP sink on
 * 127.0.0.1 (a sandboxed function writes nothing the host can read, but it may call out, as a
 * real function calls an API), and the sink's lines read back.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Api, ApiAnswer } from './platform-harness.js';
import { scrape, sumOf } from '../helpers/prom-text.js';
import { createFunction, filesOf, py } from './platform-harness.js';

/** POSTs `<x-fp-cron-tick> <body>` per run to `$OUT_URL`. */
export const TICK_WRITER = {
  'main.py': py(
    'import os, urllib.request',
    'def handler(event, context):',
    '    tick = event["headers"].get("x-fp-cron-tick")',
    '    line = f"{tick} {event[\'body\'].decode()}".encode()',
    '    urllib.request.urlopen(urllib.request.Request(os.environ["OUT_URL"], data=line), timeout=5).read()',
    '    return {"tick": tick}',
  ),
};

/** Collects the lines functions POST to `url`. */
export interface TickSink {
  url: string;
  lines: string[];
  close(): Promise<void>;
}

export async function startTickSink(): Promise<TickSink> {
  const lines: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      lines.push(Buffer.concat(chunks).toString('utf8'));
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/tick`,
    lines,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Resolves once the sink has `count` lines (ticks arrive once a second; 15 s is a budget for a loaded machine). */
export async function untilTicks(sink: TickSink, count: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (sink.lines.length < count) {
    if (Date.now() > deadline) throw new Error(`${sink.lines.length} of ${count} ticks after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Resolves once the async queue holds no run of `name` (none waiting, none running: the
 * `fp_async_queue_depth` gauges of the platform `api` talks to, read with its token: without one
 * /metrics has no per-function series, ADR 0036, and the depth would read 0 at once), so every
 * tick it ran has reported to the sink: the event to wait for after a pause, instead of a guessed delay.
 */
export async function queueDrained(api: Api, name: string, timeoutMs = 15_000): Promise<void> {
  if (api.token === null) throw new Error('queueDrained needs a token that sees the function\'s series');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const depth = sumOf(await scrape(api.url, api.token), 'fp_async_queue_depth', { function: name });
    if (depth === 0) return;
    if (Date.now() > deadline) throw new Error(`${depth} runs of ${name} still queued or running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function cronManifest(name: string, triggers: unknown[]): Record<string, unknown> {
  return { kind: 'function', name, triggers };
}

/** Creates the function (env OUT_URL = the sink) and uploads a version with `triggers`; the upload's answer. */
export async function uploadCron(api: Api, name: string, sink: TickSink, triggers: unknown[]): Promise<ApiAnswer> {
  await createFunction(api, name, { env: { OUT_URL: sink.url } });
  return api.call('POST', `/functions/${name}/versions`, { files: filesOf(TICK_WRITER), manifest: cronManifest(name, triggers) });
}

/** The lines received so far: `[tick, body]`. */
export function ticksIn(sink: TickSink): [string, string][] {
  return sink.lines.map((l) => {
    const at = l.indexOf(' ');
    return [l.slice(0, at), l.slice(at + 1)];
  });
}

/** How many times each tick ran. */
export function countByTick(sink: TickSink): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [tick] of ticksIn(sink)) counts.set(tick, (counts.get(tick) ?? 0) + 1);
  return counts;
}
