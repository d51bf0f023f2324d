/**
 * `invocation` (platform.yaml or the API's function settings) decides which public routes take a
 * function's calls: `sync` only `/fn/` (and its own host), `async` only `/async/`, `both` (the
 * default) either. The other route answers 409 INVOCATION_MODE_NOT_ALLOWED, after the token
 * check. Triggers and the API's synchronous test invoke are not concerned; a sync-only function is
 * never queued, not even through the API (docs/adr/0047-sync-never-queued.md). docs/adr/0046-invocation-mode.md.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request } from './gateway-harness.js';
import { deployed, py, usePlatform } from './platform-harness.js';

const tag = Math.random().toString(36).slice(2, 7);
const SYNC = `only-sync-${tag}`;
const ASYNC = `only-async-${tag}`;
const BOTH = `either-${tag}`;
const DEFAULT = `default-${tag}`;
const TOKENED = `tokened-async-${tag}`;
const handler = py('def handler(event, context):', '    return {"ok": True}');

const h = usePlatform({ poolSize: 1 }, async (p) => {
  await deployed(p.api, SYNC, { 'main.py': handler }, { invocation: 'sync' });
  await deployed(p.api, ASYNC, { 'main.py': handler }, { invocation: 'async', retry: { maxAttempts: 1 } });
  await deployed(p.api, BOTH, { 'main.py': handler }, { invocation: 'both' });
  await deployed(p.api, DEFAULT, { 'main.py': handler });
  await deployed(p.api, TOKENED, { 'main.py': handler }, { invocation: 'async', auth: 'token' });
});

async function call(route: 'fn' | 'async', name: string, headers: Record<string, string> = {}): Promise<{ status: number; body: { error?: { code: string; message: string; invocation?: string } } }> {
  const res = await fetch(`${h.url}/${route}/${name}/`, { method: 'POST', body: '{}', headers });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
}

describe('invocation mode', () => {
  it('sync takes /fn/ and refuses /async/ with 409 INVOCATION_MODE_NOT_ALLOWED naming the route that takes it', async () => {
    assert.equal((await call('fn', SYNC)).status, 200);
    const refused = await call('async', SYNC);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error?.code, 'INVOCATION_MODE_NOT_ALLOWED');
    assert.match(refused.body.error!.message, new RegExp(`/fn/${SYNC}/`));
    assert.equal(refused.body.error?.invocation, 'sync');
  });

  it('async takes /async/ and refuses /fn/ (and its own host) before running anything', async () => {
    assert.equal((await call('async', ASYNC)).status, 202);
    const refused = await call('fn', ASYNC);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error?.code, 'INVOCATION_MODE_NOT_ALLOWED');
    assert.match(refused.body.error!.message, new RegExp(`/async/${ASYNC}/`));
    const atRoot = await request(`${h.url}/`, { headers: { host: `${ASYNC}.localhost:${new URL(h.url).port}` } });
    assert.equal(atRoot.status, 409);
    const runs = (await h.api.call('GET', `/runs?function=${ASYNC}`)).body as { items: { trigger: string }[] };
    assert.ok(runs.items.every((r) => r.trigger !== 'http'), 'no sync run was recorded for the refused calls');
  });

  it('both, and a function that does not say (the default), take either route', async () => {
    for (const name of [BOTH, DEFAULT]) {
      assert.equal((await call('fn', name)).status, 200, name);
      assert.equal((await call('async', name)).status, 202, name);
    }
    assert.equal(((await h.api.call('GET', `/functions/${DEFAULT}`)).body as { function: { invocation: string } }).function.invocation, 'both');
  });

  it('the mode is told only to a caller with the token: without it, 401 as for any call', async () => {
    const refused = await call('fn', TOKENED);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error?.code, 'INVOKE_TOKEN_REQUIRED');
  });

  it('test invokes through the API: an async-only function can be run synchronously by its owner', async () => {
    const res = await h.api.call('POST', `/functions/${ASYNC}/invoke`, { body: {} });
    assert.equal(res.status, 200);
    const queued = await h.api.call('POST', `/functions/${BOTH}/invoke/async`, { body: {} });
    assert.equal(queued.status, 202);
  });

  // Red team 4: the API's async test invoke (role invoker) queued a sync-only function, and the
  // dispatcher retried it (a failing one ran three times): what `sync` promises never to do.
  it('a sync-only function is never queued: the async test invoke and a replay refuse it (409)', async () => {
    const queued = await h.api.call('POST', `/functions/${SYNC}/invoke/async`, { body: {} });
    assert.equal(queued.status, 409);
    assert.equal((queued.body as { error: { code: string } }).error.code, 'INVOCATION_MODE_NOT_ALLOWED');
    // A failed run of a function that takes both, then made sync-only: its replay is a new run, refused.
    const flip = `flip-${tag}`;
    await deployed(h.api, flip, { 'main.py': py('def handler(event, context):', '    raise RuntimeError("no")') }, { invocation: 'both', retry: { maxAttempts: 1 } });
    const accepted = await fetch(`${h.url}/async/${flip}/`, { method: 'POST', body: '{}' });
    assert.equal(accepted.status, 202);
    const { runId } = (await accepted.json()) as { runId: string };
    for (let i = 0; i < 200; i++) {
      if (((await h.api.call('GET', `/runs/${runId}`)).body as { run?: { state?: string } }).run?.state === 'failed') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await h.api.call('PATCH', `/functions/${flip}`, { invocation: 'sync' })).status, 200);
    const replay = await h.api.call('POST', `/runs/${runId}/replay`);
    assert.equal(replay.status, 409, JSON.stringify(replay.body));
    assert.equal((replay.body as { error: { code: string } }).error.code, 'INVOCATION_MODE_NOT_ALLOWED');
  });
});
