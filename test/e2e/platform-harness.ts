/**
 * Shared pieces of the control plane's end-to-end tests: a real platform (store, pool with real
 * Python runtimes, gateway with the API mounted) on port 0 over a fresh temp state directory,
 * an API client that returns status, headers and parsed body, and helpers to create and deploy
 * functions from Python source.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { startPlatform, type StartedPlatform, type StartOptions } from '../../platform/start.js';
import { scrape, valueOf } from '../helpers/prom-text.js';
import { sleep } from './gateway-harness.js';

export { fnName, py, sleep } from './gateway-harness.js';

export interface ApiAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when the body is not JSON, or null when empty. */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test assertions read arbitrary JSON shapes
}

/** The `error` of an API error body. */
export function errorOf(answer: ApiAnswer): { code: string; field?: string; [key: string]: unknown } {
  return (answer.body as { error: { code: string; field?: string } }).error;
}

export class Api {
  constructor(
    readonly url: string,
    public token: string | null,
  ) {}

  /** An API call under /api/v1; `body` is sent as JSON unless it is bytes or a string. */
  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
    const init: RequestInit = { method, headers: { ...(this.token !== null ? { authorization: `Bearer ${this.token}` } : {}), ...headers } };
    if (body instanceof Uint8Array || typeof body === 'string') init.body = body;
    else if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(`${this.url}/api/v1${path}`, init);
    const text = await res.text();
    let parsed: unknown = null;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, headers: res.headers, body: parsed };
  }
}

/**
 * The secrets key of every platform a test process starts (a cluster's nodes must share one; a
 * restart must find it again), so no test writes a key file into the real ~/.config.
 */
export const TEST_SECRETS_KEY = randomBytes(32).toString('base64');

export interface PlatformHarness {
  platform: StartedPlatform;
  api: Api;
  url: string;
  stateDir: string;
  /** Lines the platform logged (store or worker failures). */
  logs: string[];
}

/**
 * Registers before/after hooks for one test file: a platform on port 0 over a fresh state
 * directory (poolSize 1 unless given), closed and deleted afterwards. `setup` runs once the
 * platform is up, in the same hook (root-level hooks of a file do not wait for each other).
 */
export function usePlatform(options: StartOptions = {}, setup?: (h: PlatformHarness) => Promise<void>): PlatformHarness {
  const h = { logs: [] as string[] } as PlatformHarness;
  before(async () => {
    h.stateDir = mkdtempSync(join(tmpdir(), 'fp-cp-'));
    h.platform = await startPlatform({ stateDir: h.stateDir, port: 0, poolSize: 1, shutdownGraceMs: 2000, secretsKey: TEST_SECRETS_KEY, log: (line) => h.logs.push(line), ...options });
    h.url = h.platform.url;
    h.api = new Api(h.url, h.platform.takeAdminToken() ?? null);
    await setup?.(h);
  });
  after(async () => {
    await h.platform?.close();
    if (h.stateDir) rmSync(h.stateDir, { recursive: true, force: true });
  });
  return h;
}

/**
 * Resolves once the platform's run sink holds no run record (`fp_run_sink_buffered_records
 * {target="runs"}` is 0): every run of a call answered before this was called is in the store.
 * The event to wait for instead of a guessed "run records are written in batches" delay; the 15 s
 * are a budget for a loaded machine.
 */
export async function runsWritten(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const buffered = valueOf(await scrape(url), 'fp_run_sink_buffered_records', { target: 'runs' });
    if (buffered === 0) return;
    if (Date.now() > deadline) throw new Error(`${buffered} run records still buffered after ${timeoutMs} ms`);
    await sleep(20);
  }
}

export function b64(content: string | Uint8Array): string {
  return Buffer.from(content).toString('base64');
}

export function sha256(content: string | Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Files as the API takes them, with their content. */
export function filesOf(files: Record<string, string>): { path: string; contentBase64: string }[] {
  return Object.entries(files).map(([path, content]) => ({ path, contentBase64: b64(content) }));
}

/** Creates a function (201 expected) and returns the answer's body. */
export async function createFunction(api: Api, name: string, settings: Record<string, unknown> = {}): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON
  const res = await api.call('POST', '/functions', { name, ...settings });
  if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Uploads a version (201 expected) and returns its number. */
export async function upload(api: Api, name: string, files: Record<string, string>, extra: Record<string, unknown> = {}): Promise<number> {
  const res = await api.call('POST', `/functions/${name}/versions`, { files: filesOf(files), ...extra });
  if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { version: { version: number } }).version.version;
}

/** `check: false`: without the start check (a test of code that does not load on purpose, at its calls). */
export async function deploy(api: Api, name: string, version?: number, options: { check?: boolean } = {}): Promise<void> {
  const res = await api.call('POST', `/functions/${name}/deploy`, { ...(version === undefined ? {} : { version }), ...options });
  if (res.status !== 200) throw new Error(`deploy ${name}: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Creates, uploads and deploys; returns the create answer (with invokeToken for `auth: token`). */
export async function deployed(api: Api, name: string, files: Record<string, string>, settings: Record<string, unknown> = {}, options: { check?: boolean } = {}): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON
  const created = await createFunction(api, name, settings);
  await upload(api, name, files);
  await deploy(api, name, undefined, options);
  return created;
}

/** A handler returning `value` as JSON, plus the version the platform says it is. */
export function handlerReturning(value: unknown): Record<string, string> {
  return {
    'main.py': `import json\nVALUE = json.loads(${JSON.stringify(JSON.stringify(value))})\ndef handler(event, context):\n    return {"value": VALUE, "version": context.function_version}\n`,
  };
}

export function randomText(bytes: number): string {
  return randomBytes(Math.ceil(bytes / 2)).toString('hex').slice(0, bytes);
}

/**
 * A tenant: a new workspace (with `quotas`) and an API client holding a token of it with `role`
 * (never the root token), as the red-team suites attack through.
 */
export async function newTenant(h: PlatformHarness, options: { quotas?: Record<string, number>; role?: string } = {}): Promise<{ name: string; api: Api }> {
  const name = `red-${Math.random().toString(36).slice(2, 8)}`;
  const created = await h.api.call('POST', '/workspaces', { name, ...(options.quotas !== undefined ? { quotas: options.quotas } : {}) });
  if (created.status !== 201) throw new Error(`workspace ${name}: ${created.status} ${JSON.stringify(created.body)}`);
  const token = await h.api.call('POST', '/tokens', { role: options.role ?? 'deployer', label: 'tenant' }, { 'fp-workspace': name });
  if (token.status !== 201) throw new Error(`token of ${name}: ${token.status} ${JSON.stringify(token.body)}`);
  return { name, api: new Api(h.url, token.body.secret as string) };
}

/** Waits until `test()` holds (or resolves true), checking every 25 ms; fails naming `what` after `timeoutMs`. */
export async function until(what: string, test: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(25);
  }
}

/** Polls the version's deps until they leave `building`. */
export async function depsSettled(api: Api, name: string, version: number, timeoutMs = 60_000): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON
  const start = Date.now();
  for (;;) {
    const res = await api.call('GET', `/functions/${name}/versions/${version}/deps`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (res.body.deps === null || res.body.deps.state !== 'building') return res.body.deps;
    assert.ok(Date.now() - start < timeoutMs, `deps of ${name}@${version} still building`);
    await sleep(100);
  }
}

/** A handler that answers its version, after 1.5 s on `/slow` (a call still running on a version that goes). */
export const VERSION_HANDLER = [
  'import time',
  'def handler(event, context):',
  '    if event["path"] == "/slow":',
  '        time.sleep(1.5)',
  '    return {"version": context.function_version}',
  '',
].join('\n');
