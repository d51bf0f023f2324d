/**
 * Red team 7 (December 2026): what one tenant, or anyone who can reach the gateway, can take of
 * what the platform shares between workspaces and between a workspace's functions: the
 * workspace's per-minute quota and a function's rate limit (taken by webhook posts nobody
 * signed), and the async dispatcher's workers (held by one workspace's slow runs, or by one
 * function's runs waiting for its only instance). Each attack
 * goes through the gateway or the API, as a stranger's or a tenant's own scripts would.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Api, deployed, filesOf, py, sleep, usePlatform } from './platform-harness.js';

// Four instance places (and the reserve of one the platform adds for the other workspaces), four
// async workers (and the one more for the other workspaces): small enough to fill in a test.
const h = usePlatform({ poolSize: 2, dispatchConcurrency: 4, maxInstances: 4 });

/** A workspace with `quotas`, and an API client holding an owner token of it. */
async function tenant(quotas: Record<string, number> = {}): Promise<{ name: string; api: Api }> {
  const name = `red-${Math.random().toString(36).slice(2, 8)}`;
  assert.equal((await h.api.call('POST', '/workspaces', { name, quotas })).status, 201);
  const token = await h.api.call('POST', '/tokens', { role: 'owner', label: 'tenant' }, { 'fp-workspace': name });
  assert.equal(token.status, 201, JSON.stringify(token.body));
  return { name, api: new Api(h.url, token.body.secret as string) };
}

/** Waits, if needed, so that the next few seconds stay within one calendar minute (per-minute quotas). */
async function freshMinute(needMs = 15_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < needMs) await sleep(left + 200);
}

/** `n` anonymous posts to a function's /async URL, each accepted (202): their run ids. */
async function postAsync(key: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${h.url}/async/${key}/`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 202);
    ids.push(((await res.json()) as { runId: string }).runId);
  }
  return ids;
}

/** The runs' states now. */
function statesOf(api: Api, runIds: string[]): Promise<string[]> {
  return Promise.all(runIds.map(async (id) => ((await api.call('GET', `/runs/${id}`)).body.run as { state: string }).state));
}

/** Polls a run until it succeeded or `withinMs` passed: its last state and the time taken. */
async function succeededWithin(api: Api, runId: string, withinMs: number): Promise<{ state: string; ms: number }> {
  const started = Date.now();
  let state = '';
  while (Date.now() - started < withinMs) {
    state = ((await api.call('GET', `/runs/${runId}`)).body.run as { state: string }).state;
    if (state === 'succeeded') break;
    await sleep(200);
  }
  return { state, ms: Date.now() - started };
}

const OK = py('def handler(event, context):', '    return {"ok": True}');

describe('attack: unsigned webhook posts against a workspace\'s quota and a function\'s rate limit', () => {
  it('posts without a valid signature are refused 401 and take nothing: the workspace\'s other calls still run', { timeout: 120_000 }, async () => {
    const t = await tenant({ invocationsPerMinute: 4 });
    await t.api.call('POST', '/functions', { name: 'hook', limits: { rate: '2/m' } });
    const manifest = { kind: 'function', name: 'hook', triggers: [{ type: 'webhook', id: 'github' }] };
    const up = await t.api.call('POST', '/functions/hook/versions', { files: filesOf({ 'main.py': OK }), manifest });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    assert.equal((await t.api.call('POST', '/functions/hook/deploy', {})).status, 200);
    const shop = await deployed(t.api, 'shop', { 'main.py': OK }, { auth: 'token' });
    await freshMinute();
    // A stranger: no token, no secret, only the webhook's URL (its id is a word like `github`).
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${h.url}/hooks/hook.${t.name}/github`, { method: 'POST', body: '{"forged": true}', headers: { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` } });
      codes.push(res.status);
      await res.arrayBuffer();
    }
    // Before the fix: 401 401 then 429 RATE_LIMITED (the hook's 2/m were spent), and the
    // workspace's quota was spent too: its token function answered 429 QUOTA_EXCEEDED.
    assert.deepEqual(codes, Array(8).fill(401), `unsigned posts: ${codes.join(' ')}`);
    const call = await fetch(`${h.url}/fn/shop.${t.name}/`, { headers: { authorization: `Bearer ${shop.invokeToken}` } });
    assert.equal(call.status, 200, `the workspace's own call was refused: ${call.status} ${await call.clone().text()}`);
    // The secret's holder still gets through, and the limits still count its deliveries.
    const secret = (await t.api.call('POST', '/functions/hook/triggers/github/secret/rotate', {})).body.secret as string;
    const { createHmac } = await import('node:crypto');
    const signed = async (): Promise<number> => {
      const body = '{"action": "opened"}';
      const sig = createHmac('sha256', secret).update(body).digest('hex');
      const res = await fetch(`${h.url}/hooks/hook.${t.name}/github`, { method: 'POST', body, headers: { 'x-hub-signature-256': `sha256=${sig}` } });
      await res.arrayBuffer();
      return res.status;
    };
    assert.equal(await signed(), 202);
    assert.equal(await signed(), 202);
    assert.equal(await signed(), 429, 'the rate limit (2/m) holds for signed deliveries');
  });
});

describe('attack: one workspace\'s slow calls against every other workspace\'s cold starts', () => {
  it('a workspace never holds every instance place: another workspace\'s cold call is served while five slow calls hold the hog\'s', { timeout: 120_000 }, async () => {
    const hog = await tenant();
    const good = await tenant();
    // A public function anyone may call, which takes its time (up to its timeout, 1 h at most).
    await deployed(hog.api, 'slow', { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(12)', '    return 1') }, { limits: { timeout: '30s' } });
    await deployed(good.api, 'quick', { 'main.py': OK });
    let slowEnded = 0;
    const slow = Array.from({ length: 5 }, () => fetch(`${h.url}/fn/slow.${hog.name}/`, { method: 'POST', body: '{}' }).then(async (r) => { await r.arrayBuffer(); slowEnded += 1; return r.status; }));
    await sleep(2500); // the hog's four instances are busy, its fifth call waits
    const res = await fetch(`${h.url}/fn/quick.${good.name}/`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    // Before the fix it was served only once the first of the hog's calls ended and gave up its
    // place (~9.5 s later; with a timeout of an hour, at this call's own timeout).
    assert.equal(slowEnded, 0, 'another workspace\'s cold call was served while all of the hog\'s calls still ran');
    assert.deepEqual(await Promise.all(slow), [200, 200, 200, 200, 200], 'the hog\'s own calls are all served');
  });
});

describe('a function\'s async runs and the workspace\'s other functions', () => {
  it('a slow function with one instance runs one attempt at a time; the workspace\'s other async runs do not wait behind its queue', { timeout: 120_000 }, async () => {
    const ws = await tenant();
    await deployed(ws.api, 'single', { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(6)', '    return 1') }, { limits: { timeout: '30s', maxInstances: 1 } });
    await deployed(ws.api, 'quick', { 'main.py': OK });
    const slowRuns = await postAsync(`single.${ws.name}`, 5);
    await sleep(1500);
    const [runId] = await postAsync(`quick.${ws.name}`, 1);
    // Before: the single instance's five runs took the workspace's four workers (each waiting for
    // that instance), and this run stayed `queued` until the first of them ended (~6 s).
    const { state, ms } = await succeededWithin(ws.api, runId!, 4_500);
    assert.equal(state, 'succeeded', `another function's async run was still ${state} after ${ms} ms`);
    const states = await statesOf(ws.api, slowRuns);
    assert.equal(states.filter((st) => st === 'running').length, 1, `the single instance's runs: ${states.join(' ')}`);
    assert.equal(states.filter((st) => st === 'queued').length, 4, `the single instance's runs: ${states.join(' ')}`);
    // Nothing left for the next test's workers: the queued ones cancelled, the running one ended.
    for (const [i, id] of slowRuns.entries()) {
      if (states[i] === 'queued') assert.equal((await ws.api.call('POST', `/runs/${id}/cancel`, {})).status, 200);
    }
    for (const [i, id] of slowRuns.entries()) if (states[i] === 'running') assert.equal((await succeededWithin(ws.api, id, 10_000)).state, 'succeeded');
  });
});

describe('attack: one workspace\'s slow async runs against every other workspace\'s', () => {
  it('a workspace never holds every dispatcher worker: another workspace\'s run starts while six slow ones wait', { timeout: 120_000 }, async () => {
    const hog = await tenant();
    const good = await tenant();
    // The hog: a public function anyone may call on /async, which takes its time (up to its timeout).
    await deployed(hog.api, 'slow', { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(20)', '    return 1') }, { limits: { timeout: '30s' } });
    await deployed(good.api, 'quick', { 'main.py': OK });
    const hogRuns = await postAsync(`slow.${hog.name}`, 6);
    await sleep(1500); // the hog's runs are claimed and running
    const [runId] = await postAsync(`quick.${good.name}`, 1);
    // Before the fix: `queued` for ~20 s, until the first of the hog's four running calls ended
    // (and with a timeout of an hour, for an hour).
    const { state, ms } = await succeededWithin(good.api, runId!, 12_000);
    assert.equal(state, 'succeeded', `another workspace's async run was still ${state} after ${ms} ms`);
    // The hog still runs its four at once (concurrency 4), not fewer: the fifth worker is the others'.
    const states = await statesOf(hog.api, hogRuns);
    assert.equal(states.filter((s) => s === 'running').length, 4, `the hog's runs: ${states.join(' ')}`);
  });
});

describe('attack: a caller posing as a webhook delivery or a cron tick', () => {
  it('x-fp-trigger-id and x-fp-cron-tick from a caller of /fn, /async or the API\'s test invoke never reach the handler; a signed delivery\'s does', { timeout: 120_000 }, async () => {
    const t = await tenant();
    const echo = py('def handler(event, context):', '    h = event["headers"]', '    return {"trigger": h.get("x-fp-trigger-id"), "tick": h.get("x-fp-cron-tick"), "names": sorted(k for k in h if "fp" in k),',
      '            "run": h.get("x-fp-run-id") == context.run_id if "x-fp-run-id" in h else None, "attempt": h.get("x-fp-attempt")}');
    // As `init --template webhook` makes it: public (the default), with a GitHub-style trigger.
    await t.api.call('POST', '/functions', { name: 'receiver' });
    const manifest = { kind: 'function', name: 'receiver', triggers: [{ type: 'webhook', id: 'github' }] };
    assert.equal((await t.api.call('POST', '/functions/receiver/versions', { files: filesOf({ 'main.py': echo }), manifest })).status, 201);
    assert.equal((await t.api.call('POST', '/functions/receiver/deploy', {})).status, 200);
    // With `_` for `-` too: WSGI's environ (HTTP_X_FP_TRIGGER_ID) and Django fold the two (red team, 2026-12-04).
    const forged = {
      'x-fp-trigger-id': 'github', 'x-fp-cron-tick': '2026-12-24T00:00:00.000Z', 'content-type': 'application/json',
      'x_fp_trigger_id': 'github', 'X_FP_Cron_Tick': '2026-12-24T00:00:00.000Z', 'x-fp_trigger-id': 'github',
      'x-fp-run-id': 'forged-run', 'x_fp_attempt': '9',
    };
    // A direct run (async, test invoke, delivery) gets its own run id and attempt from the platform, never the caller's.
    const DIRECT = { trigger: null, tick: null, names: ['x-fp-attempt', 'x-fp-run-id'], run: true, attempt: '1' };
    // Before the fix: {"trigger": "github", "tick": "2026-12-24…"}, as a verified delivery's.
    const sync = await fetch(`${h.url}/fn/receiver.${t.name}/`, { method: 'POST', headers: forged, body: '{}' });
    assert.deepEqual(await sync.json(), { trigger: null, tick: null, names: [], run: null, attempt: null });
    const queued = await fetch(`${h.url}/async/receiver.${t.name}/`, { method: 'POST', headers: forged, body: '{}' });
    assert.equal(queued.status, 202);
    const { runId } = (await queued.json()) as { runId: string };
    const result = async (id: string): Promise<unknown> => {
      for (let i = 0; ; i++) {
        const run = (await t.api.call('GET', `/runs/${id}`)).body.run as { state: string; result?: { body?: unknown } };
        if (run.state === 'succeeded') return run.result?.body;
        assert.ok(i < 150, JSON.stringify(run));
        await sleep(100);
      }
    };
    assert.deepEqual(await result(runId), DIRECT);
    // The API's test invoke (an invoker token's, a saved test case's), sync and async: dropped too.
    const invoker = await t.api.call('POST', '/tokens', { role: 'invoker', label: 'tests' });
    const asInvoker = new Api(h.url, invoker.body.secret as string);
    const tested = await asInvoker.call('POST', '/functions/receiver/invoke', { headers: forged, body: {} });
    assert.equal(tested.status, 200, JSON.stringify(tested.body));
    assert.deepEqual(tested.body.body, DIRECT);
    const testedAsync = await asInvoker.call('POST', '/functions/receiver/invoke/async', { headers: forged, body: {} });
    assert.equal(testedAsync.status, 202, JSON.stringify(testedAsync.body));
    assert.deepEqual(await result(testedAsync.body.runId as string), DIRECT);
    // The real delivery still carries the trigger's id (set by the platform).
    const secret = (await t.api.call('POST', '/functions/receiver/triggers/github/secret/rotate', {})).body.secret as string;
    const { createHmac } = await import('node:crypto');
    const body = '{}';
    const signed = await fetch(`${h.url}/hooks/receiver.${t.name}/github`, { method: 'POST', body, headers: { 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`, 'x-fp-cron-tick': 'forged', 'x_fp_trigger_id': 'forged' } });
    assert.equal(signed.status, 202);
    const delivered = (await signed.json()) as { runId: string };
    assert.deepEqual(await result(delivered.runId), { ...DIRECT, trigger: 'github', names: ['x-fp-attempt', 'x-fp-run-id', 'x-fp-trigger-id'] });
  });
});
