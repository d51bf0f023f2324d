/**
 * Two (or more) workspaces on one platform (docs/adr/0011-tenants.md), for the tenants tests in
 * embedded mode (platform-tenants*.test.ts) and in production mode across two processes
 * (platform-tenants-production.test.ts): the same scenarios, given the platform's URLs (calls are
 * spread over them) and its admin token.
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

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
    const api = new Api(nextUrl(this.p), this.token);
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
  return {
    name,
    root: inWs,
    owner: ownerCaller,
    deployer: new Caller(p, made['deployer']!.secret),
    invoker: new Caller(p, made['invoker']!.secret),
    viewer: new Caller(p, made['viewer']!.secret),
    ids: { owner: owner.body.token.id, deployer: made['deployer']!.id, invoker: made['invoker']!.id, viewer: made['viewer']!.id },
  };
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

export function bearer(token: string): RequestInit {
  return { headers: { authorization: `Bearer ${token}` } };
}

export { functionKey };
