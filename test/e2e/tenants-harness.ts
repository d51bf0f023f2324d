/**
 * Two (or more) workspaces on one platform (docs/adr/0011-tenants.md), for the tenants tests in
 * embedded mode (platform-tenants*.test.ts) and in production mode across two processes
 * (platform-tenants-production.test.ts): the same scenarios, given the platform's URLs and its
 * admin token. API calls go to the first process; invocations are spread over all of them, once
 * every process serves what the API changed (`settle`: a change reaches the other processes over
 * the config bus, within a second — docs/stores.md, "Config propagation").
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { functionKey } from '../../protocol/index.js';
import { Api, filesOf, py, type ApiAnswer } from './platform-harness.js';

export interface Platform {
  /** Every process's URL; calls go round-robin over them. */
  urls: string[];
  rootToken: string;
}

let turn = 0;

/** The next process's URL (round-robin), so concurrent load reaches every process. */
export function nextUrl(p: Platform): string {
  return p.urls[turn++ % p.urls.length]!;
}

/** A caller: a token, optionally acting in a named workspace (FP-Workspace). */
export class Caller {
  constructor(readonly p: Platform, readonly token: string, readonly workspace?: string) {}

  /** The same token on another process. */
  on(url: string): Caller {
    return new Caller({ urls: [url], rootToken: this.p.rootToken }, this.token, this.workspace);
  }

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
    const api = new Api(this.p.urls[0]!, this.token);
    return api.call(method, path, body, { ...(this.workspace !== undefined ? { 'fp-workspace': this.workspace } : {}), ...headers });
  }

  /** The answer, which must have this status (else the assertion shows the body). */
  async expect(status: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
    const res = await this.call(method, path, body, headers);
    assert.equal(res.status, status, `${method} ${path}: ${JSON.stringify(res.body)}`);
    return res;
  }

  /** The error code of a refused call, with its status. */
  async refused(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<[number, string]> {
    const res = await this.call(method, path, body, headers);
    return [res.status, (res.body as { error?: { code?: string } })?.error?.code ?? `(no error: ${JSON.stringify(res.body)})`];
  }
}

export function workspaceName(prefix = 'ws'): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** A function that answers its workspace's name (so a test sees which one served it) and logs a line. */
export function echoFunction(tag: string): Record<string, string> {
  return { 'main.py': py('def handler(event, context):', `    print("served by ${tag}")`, `    return {"tag": "${tag}", "name": context.function_name}`) };
}

/** Creates (with `settings`), uploads and deploys a function as `caller`; returns the create answer. */
export async function deployAs(caller: Caller, name: string, files: Record<string, string>, settings: Record<string, unknown> = {}): Promise<ApiAnswer> {
  const created = await caller.expect(201, 'POST', '/functions', { name, ...settings });
  await caller.expect(201, 'POST', `/functions/${name}/versions`, { files: filesOf(files) });
  await caller.expect(200, 'POST', `/functions/${name}/deploy`);
  const whoami = await caller.expect(200, 'GET', '/whoami');
  await servedEverywhere(caller.p, whoami.body.workspace, name);
  return created;
}

/** A workspace with tokens of every role (made by its first owner, made by the root token). */
export interface Tenant {
  name: string;
  root: Caller;
  owner: Caller;
  deployer: Caller;
  invoker: Caller;
  viewer: Caller;
  /** Token ids by role. */
  ids: Record<'owner' | 'deployer' | 'invoker' | 'viewer', string>;
}

export async function makeTenant(p: Platform, quotas: Record<string, unknown> = {}, name = workspaceName()): Promise<Tenant> {
  const root = new Caller(p, p.rootToken);
  await root.expect(201, 'POST', '/workspaces', { name, quotas });
  const inWs = new Caller(p, p.rootToken, name);
  const owner = await inWs.expect(201, 'POST', '/tokens', { role: 'owner', label: `${name}-owner` });
  const ownerCaller = new Caller(p, owner.body.secret);
  const made: Record<string, { secret: string; id: string }> = {};
  for (const role of ['deployer', 'invoker', 'viewer'] as const) {
    const res = await ownerCaller.expect(201, 'POST', '/tokens', { role, label: `${name}-${role}` });
    made[role] = { secret: res.body.secret, id: res.body.token.id };
  }
  const tenant = {
    name,
    root: inWs,
    owner: ownerCaller,
    deployer: new Caller(p, made['deployer']!.secret),
    invoker: new Caller(p, made['invoker']!.secret),
    viewer: new Caller(p, made['viewer']!.secret),
    ids: { owner: owner.body.token.id, deployer: made['deployer']!.id, invoker: made['invoker']!.id, viewer: made['viewer']!.id },
  };
  await tokensEverywhere(p, tenant.owner, tenant.deployer, tenant.invoker, tenant.viewer);
  return tenant;
}

/** Calls `/fn/<key>/` (or `/async/`, `/hooks/`) on one of the processes. */
export async function invoke(p: Platform, path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON
  const res = await fetch(`${nextUrl(p)}${path}`, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body };
}

/**
 * Waits until `ready(url)` holds on every process (bounded: 10 s each): for a change made through
 * one process to reach the others. With one process it holds at once.
 */
export async function settle(p: Platform, ready: (url: string) => Promise<boolean>): Promise<void> {
  for (const url of p.urls) {
    const deadline = Date.now() + 10_000;
    while (!(await ready(url))) {
      if (Date.now() > deadline) throw new Error(`${url} did not catch up within 10 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** Every process knows these tokens (and their workspace). */
export async function tokensEverywhere(p: Platform, ...callers: Caller[]): Promise<void> {
  for (const caller of callers) await settle(p, async (url) => (await caller.on(url).call('GET', '/whoami')).status === 200);
}

/** Every process serves the active version of `name` in `workspace` (a test invoke through each: it counts against the function's rate limit and its workspace's
 * invocationsPerMinute, as any call does). */
export async function servedEverywhere(p: Platform, workspace: string, ...names: string[]): Promise<void> {
  const root = new Caller(p, p.rootToken, workspace);
  for (const name of names) {
    await settle(p, async (url) => (await root.on(url).call('POST', `/functions/${name}/invoke`, { method: 'GET' })).status === 200);
  }
}

export function bearer(token: string): RequestInit {
  return { headers: { authorization: `Bearer ${token}` } };
}

export { functionKey };
