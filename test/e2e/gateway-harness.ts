/**
 * Shared pieces of the gateway's end-to-end tests: a temp functions directory, a real
 * PoolManager with real Python runtimes, a real gateway on port 0, and small HTTP helpers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before } from 'node:test';
import { createGateway, DirectoryRegistry, MemoryRunSink, type Gateway, type GatewaySettings } from '../../gateway/index.js';
import { gatewaySettings, loadConfig } from '../../platform/config.js';
import { defaultPoolConfig, PoolManager, type PoolConfig } from '../../poolmgr/index.js';

/** A random DNS-label function name: `<prefix>-<6 hex>`. */
export function fnName(prefix = 'f'): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** Python source from lines (keeps indentation readable in TypeScript). */
export function py(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

export interface FunctionFiles {
  /** File name → content; `main.py` by default holds `handler`. */
  files: Record<string, string>;
  /** Extra manifest lines (YAML), e.g. `entrypoint: app:app` or a `limits:` block. */
  manifest?: string;
}

export function writeFunction(root: string, name: string, fn: FunctionFiles): void {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(fn.files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), content);
  }
  writeFileSync(join(dir, 'platform.yaml'), `kind: function\nname: ${name}\n${fn.manifest ?? ''}\n`);
}

export interface Harness {
  gateway: Gateway;
  pool: PoolManager;
  runs: MemoryRunSink;
  registry: DirectoryRegistry;
  url: string;
}

/**
 * Registers before/after hooks for one test file: writes `functions` into a fresh temp dir,
 * starts the pool and the gateway, and tears everything down afterwards. The returned object is
 * filled in `before`. `poolOptions` override the pool's defaults, `gatewayOptions` the gateway's
 * settings from `env` (such as `slowClientWindowMs`, which no option sets).
 */
export function useGateway(
  functions: Record<string, FunctionFiles>,
  env: Record<string, string> = {},
  poolOptions: Partial<PoolConfig> = {},
  gatewayOptions: Partial<GatewaySettings> = {},
): Harness {
  const h = {} as Harness;
  let root = '';
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'fp-gw-'));
    for (const [name, fn] of Object.entries(functions)) writeFunction(root, name, fn);
    h.registry = await DirectoryRegistry.load(root);
    const config = loadConfig({ FP_PORT: '0', FP_SHUTDOWN_GRACE_MS: '2000', ...env });
    h.pool = new PoolManager(defaultPoolConfig({ poolSize: 2, idleTimeoutMs: config.idleTimeoutMs, shutdownGraceMs: 1000, codeRoots: [root], ...poolOptions }));
    await h.pool.start();
    h.runs = new MemoryRunSink();
    h.gateway = await createGateway({ config: { ...gatewaySettings(config), ...gatewayOptions }, pool: h.pool, registry: h.registry, runSink: h.runs });
    h.url = h.gateway.url;
  });
  after(async () => {
    await h.gateway?.close();
    await h.pool?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });
  return h;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A request through node:http, for what fetch cannot do: repeated request headers (array
 * values), chunked uploads written piece by piece, reading slowly.
 */
export function request(
  url: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders; body?: Buffer | Buffer[]; agent?: http.Agent; readDelayMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      if (options.readDelayMs) {
        res.pause();
        setTimeout(() => res.resume(), options.readDelayMs);
      }
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    // The server may answer (413) and close while the upload is still going: the response
    // already arrived then, so a late EPIPE/ECONNRESET is not a failure of the request.
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const body = options.body;
    if (Array.isArray(body)) {
      for (const piece of body) req.write(piece);
      req.end();
    } else {
      req.end(body);
    }
  });
}

/** The `error` object of a JSON error body. */
export function errorOf(body: Buffer | string): { code: string; component: string; runId?: string; [key: string]: unknown } {
  const parsed = JSON.parse(body.toString()) as { error: { code: string; component: string; runId?: string } };
  return parsed.error;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `get` every 10 ms until `done` holds for its value (a wait budget of 15 s, not a speed target). */
export async function eventually<T>(get: () => T, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = get();
    if (done(value)) return value;
    assert.ok(Date.now() < deadline, `still ${JSON.stringify(value)}`);
    await sleep(10);
  }
}

/** Run records are handed to the sink on setImmediate: wait until `runId` shows up (a wait budget, not a speed target). */
export async function runRecord(h: Harness, runId: string, timeoutMs = 15_000): Promise<NonNullable<ReturnType<MemoryRunSink['get']>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = h.runs.get(runId);
    if (run) return run;
    if (Date.now() > deadline) throw new Error(`no run record ${runId}`);
    await sleep(10);
  }
}
