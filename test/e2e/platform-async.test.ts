/**
 * Async invocation end to end (issue 5), on a real embedded platform with Python runtimes:
 * `POST /async/<name>` → 202 → the dispatcher runs the call → the run's state, attempts and
 * output at `GET /api/v1/runs/<id>`; retries with `context.attempt`, idempotency keys, the async
 * body limit, cancel, replay after a fix, and runs queued across a restart.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPlatform, type StartedPlatform, type StartOptions } from '../../platform/start.js';
import { runCli } from '../helpers/cli-harness.js';
import { Api, createFunction, deploy, deployed, errorOf, fnName, py, sleep, TEST_SECRETS_KEY, upload } from './platform-harness.js';
import { request } from './gateway-harness.js';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
/** The dispatcher runs one attempt at a time: a slow call holds it, so later runs stay queued. */
const OPTIONS: StartOptions = { port: 0, poolSize: 2, shutdownGraceMs: 5000, dispatchConcurrency: 1, asyncMaxBodyBytes: 4096, secretsKey: TEST_SECRETS_KEY };

interface Accepted { status: number; runId: string; statusUrl: string; body: Record<string, unknown> }

async function fireAsync(url: string, name: string, body: string, headers: Record<string, string> = {}, path = '/'): Promise<Accepted> {
  const res = await fetch(`${url}/async/${name}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const parsed = (await res.json()) as Record<string, unknown>;
  return { status: res.status, runId: String(parsed['runId']), statusUrl: String(parsed['statusUrl']), body: parsed };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- run views are read as JSON
async function settled(api: Api, runId: string, timeoutMs = 15_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.call('GET', `/runs/${runId}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (FINAL.has(res.body.run.state)) return res.body.run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${res.body.run.state}`);
    await sleep(100);
  }
}

/** Polls until the run has left `queued` (the dispatcher claimed it): an event to wait for, not a delay. */
async function claimed(api: Api, runId: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.call('GET', `/runs/${runId}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (res.body.run.state !== 'queued') return;
    if (Date.now() > deadline) throw new Error(`run ${runId} still queued`);
    await sleep(20);
  }
}

describe('async invocation (embedded platform)', () => {
  let stateDir: string;
  let platform: StartedPlatform;
  let api: Api;
  const logs: string[] = [];
  const start = async (): Promise<void> => {
    platform = await startPlatform({ ...OPTIONS, stateDir, log: (line) => logs.push(line) });
    api.token ??= platform.takeAdminToken() ?? null;
    (api as { url: string }).url = platform.url;
  };
  const echo = fnName('echo');
  const slow = fnName('slow');

  before(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'fp-async-'));
    api = new Api('', null);
    await start();
    await deployed(api, echo, { 'main.py': py('def handler(event, context):', '    print(f"echo {context.run_id}")', '    return {"body": event["body"].decode(), "path": event["path"], "attempt": context.attempt, "q": event["query"].get("x")}') });
    await deployed(api, slow, { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(1.5)', '    return {"slept": True}') });
  });
  after(async () => {
    await platform?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('answers 202 with a run id, then the run succeeds with its output', async () => {
    const a = await fireAsync(platform.url, echo, '{"hello":1}', {}, '/items?x=7');
    assert.equal(a.status, 202, JSON.stringify(a.body));
    assert.equal(a.statusUrl, `/api/v1/runs/${a.runId}`);
    const run = await settled(api, a.runId);
    assert.equal(run.state, 'succeeded');
    assert.equal(run.function, echo);
    assert.deepEqual(run.transitions.map((t: { state: string }) => t.state), ['queued', 'running', 'succeeded']);
    assert.equal(run.attempts.length, 1);
    assert.equal(run.result.status, 200);
    assert.deepEqual(run.result.body, { body: '{"hello":1}', path: '/items', attempt: 1, q: '7' });
  });

  // Apps round 22: a FastAPI route answered 201 and its BackgroundTask raised after the answer; the run was
  // retried, so the route ran three times (an order made three times), where a sender under uvicorn had its
  // 201 and sent nothing more. Not retried now: one attempt, the run failed with the task's error (ADR 0180).
  it('does not retry an ASGI app that answered, then raised in a background task: one attempt, failed, the answer kept', async () => {
    const name = fnName('bgfail');
    await createFunction(api, name);
    await upload(api, name, { 'main.py': py(
      'import os',
      'from fastapi import BackgroundTasks, FastAPI',
      'app = FastAPI()',
      'def notify():',
      '    raise RuntimeError("the e-mail server refused")',
      '@app.post("/orders", status_code=201)',
      'def order(tasks: BackgroundTasks):',
      '    with open("/tmp/orders.txt", "a") as f: f.write("o\\n")',
      '    tasks.add_task(notify)',
      '    return {"orders": len(open("/tmp/orders.txt").read().split())}',
    ) }, { entrypoint: 'main:app' });
    await deploy(api, name);
    const a = await fireAsync(platform.url, name, '{}', {}, '/orders');
    assert.equal(a.status, 202);
    const run = await settled(api, a.runId, 20_000);
    assert.deepEqual(run.transitions.map((t: { state: string }) => t.state), ['queued', 'running', 'failed'], JSON.stringify(run.transitions));
    assert.match(run.transitions.at(-1).detail ?? run.transitions.at(-1).reason ?? JSON.stringify(run.transitions.at(-1)), /non_retryable answered:201 class:user_error/);
    assert.deepEqual(run.attempts.map((x: { attempt: number; errorCode: string | null }) => [x.attempt, x.errorCode]), [[1, 'FUNCTION_ERROR']]);
    assert.deepEqual([run.result.status, run.result.body], [201, { orders: 1 }]);
  });

  it('retries a function that fails twice: retried → succeeded, three attempts', async () => {
    const name = fnName('flaky');
    await deployed(api, name, {
      'main.py': py(
        'import os',
        'COUNTER = "/tmp/calls.txt"  # the instance\'s private /tmp (its code directory is read-only)',
        'def handler(event, context):',
        '    calls = int(open(COUNTER).read()) + 1 if os.path.exists(COUNTER) else 1',
        '    with open(COUNTER, "w") as f: f.write(str(calls))',
        '    print(f"attempt {context.attempt} of run {context.run_id}")',
        '    if context.attempt < 3: raise RuntimeError(f"attempt {context.attempt} fails")',
        '    return {"attempt": context.attempt, "calls": calls, "runId": context.run_id, "requestId": context.request_id}',
      ),
    });
    const a = await fireAsync(platform.url, name, '{}');
    assert.equal(a.status, 202);
    const run = await settled(api, a.runId, 20_000);
    assert.equal(run.state, 'succeeded');
    assert.deepEqual(run.transitions.map((t: { state: string }) => t.state), ['queued', 'running', 'retried', 'running', 'retried', 'running', 'succeeded']);
    assert.deepEqual(run.attempts.map((x: { attempt: number; status: string; errorCode: string | null }) => [x.attempt, x.status, x.errorCode]), [
      [1, 'failed', 'FUNCTION_ERROR'],
      [2, 'failed', 'FUNCTION_ERROR'],
      [3, 'succeeded', null],
    ]);
    // One run identity: the handler saw the 202's run id on every attempt, and each attempt's
    // record (its own logs and timings) hangs under that id.
    assert.deepEqual(run.result.body, { attempt: 3, calls: 3, runId: a.runId, requestId: a.runId });
    for (const x of run.attempts as { attempt: number; logs: { msg: string }[]; handlerMs: number }[]) {
      assert.deepEqual(x.logs.map((l) => l.msg), [`attempt ${x.attempt} of run ${a.runId}`], `attempt ${x.attempt}`);
      assert.ok(typeof x.handlerMs === 'number' && x.handlerMs > 0, `attempt ${x.attempt} handlerMs ${x.handlerMs}`);
    }
    assert.equal(run.attempts[0].error.type, 'RuntimeError');
    // The run list shows the run once, by its id, at its latest attempt.
    const listed = await api.call('GET', `/runs?function=${name}`);
    assert.deepEqual(listed.body.items.map((r: { runId: string; attempt: number; status: string }) => [r.runId, r.attempt, r.status]), [[a.runId, 3, 'succeeded']]);
  });

  it('an ASGI app sees the run id and attempt as x-fp-run-id / x-fp-attempt, never a caller\'s', async () => {
    const name = fnName('asgiretry');
    await deployed(api, name, {
      'main.py': py(
        'from fastapi import FastAPI, Request',
        'app = handler = FastAPI()  # the default entrypoint, main:handler, is the app',
        '@app.post("/charge")',
        'async def charge(request: Request):',
        '    attempt = int(request.headers["x-fp-attempt"])',
        '    if attempt < 2: raise RuntimeError("first attempt fails")',
        '    return {"runId": request.headers["x-fp-run-id"], "attempt": attempt}',
        '@app.get("/seen")',
        'async def seen(request: Request):',
        '    return {k: v for k, v in request.headers.items() if k.startswith("x-fp") or k.startswith("x_fp")}',
      ),
    });
    const a = await fireAsync(platform.url, name, '{}', { 'x-fp-run-id': 'forged', 'x-fp-attempt': '9' }, '/charge');
    assert.equal(a.status, 202);
    const run = await settled(api, a.runId, 20_000);
    assert.equal(run.state, 'succeeded');
    assert.deepEqual(run.result.body, { runId: a.runId, attempt: 2 });
    // A sync caller cannot make them up either.
    const sync = await fetch(`${platform.url}/fn/${name}/seen`, { headers: { 'x-fp-run-id': 'forged', x_fp_attempt: '9' } });
    assert.deepEqual(await sync.json(), {});
  });

  it('honours a per-function retry policy: maxAttempts 1 fails after one attempt, dead-lettered', async () => {
    const name = fnName('once');
    const created = await deployed(api, name, { 'main.py': py('def handler(event, context):', '    raise RuntimeError(f"attempt {context.attempt} fails")') }, { retry: { maxAttempts: 1 } });
    assert.deepEqual(created.function.retry, { maxAttempts: 1, backoffBaseMs: 1000, backoffMaxMs: 60_000, maxEventAgeMs: 6 * 3_600_000 });
    assert.equal(created.contract.retry.maxAttempts, 1);
    const a = await fireAsync(platform.url, name, '{}');
    const run = await settled(api, a.runId);
    assert.equal(run.state, 'failed');
    assert.deepEqual(run.transitions.map((t: { state: string }) => t.state), ['queued', 'running', 'failed']);
    assert.deepEqual(run.attempts.map((x: { attempt: number; errorCode: string | null }) => [x.attempt, x.errorCode]), [[1, 'FUNCTION_ERROR']]);
    // Dead-lettered: its payload is kept, so it can be replayed.
    const replay = await api.call('POST', `/runs/${a.runId}/replay`);
    assert.equal(replay.status, 202, JSON.stringify(replay.body));
    assert.equal((await settled(api, replay.body.runId)).attempts.length, 1);
    // PATCH merges with the current policy and checks the bounds.
    const patched = await api.call('PATCH', `/functions/${name}`, { retry: { backoff: '2s' } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.function.retry.maxAttempts, 1);
    assert.equal(patched.body.contract.retry.backoffBaseMs, 2000);
    const bad = await api.call('PATCH', `/functions/${name}`, { retry: { maxAttempts: 11 } });
    assert.equal(bad.status, 400);
    assert.equal(errorOf(bad).field, 'retry.maxAttempts');
  });

  it('returns the same run for a repeated Idempotency-Key with the same request, 422 IDEMPOTENCY_KEY_REUSED for another', async () => {
    const first = await fireAsync(platform.url, echo, '{"n":1}', { 'idempotency-key': 'order-42' });
    const again = await fireAsync(platform.url, echo, '{"n":1}', { 'idempotency-key': 'order-42', 'x-trace': 'other' });
    assert.equal(first.status, 202);
    assert.equal(again.status, 202);
    assert.equal(again.runId, first.runId);
    assert.equal(again.body['created'], false);
    // Another body, path or query under the same key is another request: refused, nothing queued.
    for (const [body, path] of [['{"n":2}', '/'], ['{"n":1}', '/other'], ['{"n":1}', '/?q=1']] as const) {
      const reused = await fireAsync(platform.url, echo, body, { 'idempotency-key': 'order-42' }, path);
      assert.equal(reused.status, 422, JSON.stringify(reused.body));
      assert.equal((reused.body['error'] as { code: string }).code, 'IDEMPOTENCY_KEY_REUSED');
    }
    const run = await settled(api, first.runId);
    assert.equal(run.attempts.length, 1);
    assert.deepEqual(run.result.body.body, '{"n":1}');
    // Two keys in one request (a proxy may read the first; the last won): refused, nothing queued.
    const twice = await request(`${platform.url}/async/${echo}/`, { method: 'POST', headers: { 'idempotency-key': ['order-43', 'order-44'] }, body: Buffer.from('{}') });
    assert.equal(twice.status, 400, twice.body.toString());
    assert.match(twice.body.toString(), /repeats Idempotency-Key/);
    const listed = (await api.call('GET', `/runs?function=${echo}&status=queued`)).body.items as unknown[];
    assert.equal(listed.length, 0);
  });

  it('refuses a body over the async limit (413, the API\'s async test invoke too), unknown functions (404) and paused ones (503)', async () => {
    const big = await fetch(`${platform.url}/async/${echo}/`, { method: 'POST', body: 'x'.repeat(5000) });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
    // The API's async test invoke stands for /async/: the same limit (it took what /async/ refuses).
    const tested = await api.call('POST', `/functions/${echo}/invoke/async`, { bodyBase64: Buffer.from('x'.repeat(5000)).toString('base64') });
    assert.equal(tested.status, 413, JSON.stringify(tested.body));
    assert.equal(errorOf(tested).code, 'PAYLOAD_TOO_LARGE');
    assert.equal(errorOf(tested).field, 'bodyBase64');
    assert.equal((await api.call('POST', `/functions/${echo}/invoke/async`, { bodyBase64: Buffer.from('x'.repeat(4000)).toString('base64') })).status, 202);
    const missing = await fetch(`${platform.url}/async/${fnName('nope')}/`, { method: 'POST', body: '{}' });
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
    const paused = fnName('paused');
    await deployed(api, paused, { 'main.py': py('def handler(event, context):', '    return 1') });
    assert.equal((await api.call('POST', `/functions/${paused}/pause`)).status, 200);
    const refused = await fetch(`${platform.url}/async/${paused}/`, { method: 'POST', body: '{}' });
    assert.equal(refused.status, 503);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'FUNCTION_PAUSED');
  });

  it('needs the invoke token for a token-mode function', async () => {
    const name = fnName('tok');
    const created = await deployed(api, name, { 'main.py': py('def handler(event, context):', '    return 1') }, { auth: 'token' });
    const denied = await fetch(`${platform.url}/async/${name}/`, { method: 'POST', body: '{}' });
    assert.equal(denied.status, 401);
    await denied.arrayBuffer();
    const ok = await fireAsync(platform.url, name, '{}', { authorization: `Bearer ${created.invokeToken as string}` });
    assert.equal(ok.status, 202);
    assert.equal((await settled(api, ok.runId)).state, 'succeeded');
  });

  it('cancels a queued run; a running or finished one is 409', async () => {
    const busy = await fireAsync(platform.url, slow, '{}');
    const waiting = await fireAsync(platform.url, echo, '{"cancel":"me"}');
    // The one dispatcher slot is taken by the slow call: the second run stays queued.
    await claimed(api, busy.runId);
    const cancelled = await api.call('POST', `/runs/${waiting.runId}/cancel`);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.run.state, 'cancelled');
    const running = await api.call('POST', `/runs/${busy.runId}/cancel`);
    assert.equal(running.status, 409);
    assert.equal(errorOf(running).code, 'RUN_NOT_CANCELLABLE');
    assert.equal((await settled(api, busy.runId)).state, 'succeeded');
    const run = await settled(api, waiting.runId);
    assert.equal(run.state, 'cancelled');
    assert.equal(run.attempts.length, 0);
    assert.equal((await api.call('POST', `/runs/${waiting.runId}/cancel`)).status, 409);
  });

  it('a pause holds the runs queued before it until the resume (each used up its retries on FUNCTION_PAUSED in ~2 s)', async () => {
    const busy = await fireAsync(platform.url, slow, '{}');
    await claimed(api, busy.runId);
    const queued = [await fireAsync(platform.url, echo, '{"n":1}'), await fireAsync(platform.url, echo, '{"n":2}')];
    assert.equal((await api.call('POST', `/functions/${echo}/pause`, {})).status, 200);
    assert.equal((await settled(api, busy.runId)).state, 'succeeded');
    await sleep(1500); // the dispatcher's slot is free: before, the two runs failed here
    for (const q of queued) assert.equal((await api.call('GET', `/runs/${q.runId}`)).body.run.state, 'queued');
    assert.equal((await api.call('POST', `/functions/${echo}/resume`, {})).status, 200);
    for (const q of queued) {
      const run = await settled(api, q.runId);
      assert.equal(run.state, 'succeeded', JSON.stringify(run));
      assert.equal(run.attempts.length, 1);
    }
  });

  it('lists async runs by state (running, queued, cancelled) newest first and paged; another workspace never sees them', async () => {
    const hold = fnName('hold');
    await deployed(api, hold, { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(4)', '    return {"held": True}') });
    const busy = await fireAsync(platform.url, hold, '{}');
    await claimed(api, busy.runId);
    const waiting: string[] = [];
    for (const n of [1, 2, 3]) {
      waiting.unshift((await fireAsync(platform.url, echo, `{"list":${n}}`)).runId);
      await sleep(5); // distinct acceptance times: the order is theirs
    }
    const running = await api.call('GET', `/runs?status=running&function=${hold}`);
    assert.equal(running.status, 200, JSON.stringify(running.body));
    assert.deepEqual(running.body.items.map((r: { runId: string }) => r.runId), [busy.runId]);
    const [item] = running.body.items;
    assert.deepEqual({ ...item, acceptedAt: 0, updatedAt: 0 }, { runId: busy.runId, function: hold, workspace: 'default', trigger: 'async', state: 'running', acceptedAt: 0, updatedAt: 0, attempts: 0, replayOf: null });
    const first = await api.call('GET', `/runs?status=queued&function=${echo}&limit=2`);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body.items.map((r: { runId: string }) => r.runId), waiting.slice(0, 2));
    assert.equal(typeof first.body.nextCursor, 'string');
    const second = await api.call('GET', `/runs?status=queued&function=${echo}&limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    assert.deepEqual(second.body.items.map((r: { runId: string }) => r.runId), waiting.slice(2));
    assert.equal(second.body.nextCursor, null);
    // The whole workspace (no function): the same three queued runs.
    const all = await api.call('GET', '/runs?status=queued');
    assert.deepEqual(all.body.items.map((r: { runId: string }) => r.runId), waiting);
    assert.equal((await api.call('GET', '/runs?status=queued&cursor=bogus')).status, 400);
    // Another workspace: its own token, and the admin's naming it, list none of them.
    assert.equal((await api.call('POST', '/workspaces', { name: 'otherlist' })).status, 201);
    const token = await api.call('POST', '/tokens', { role: 'owner', label: 'neighbour' }, { 'fp-workspace': 'otherlist' });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    const neighbour = new Api(platform.url, token.body.secret as string);
    for (const state of ['queued', 'running', 'retried', 'cancelled']) {
      for (const query of [`status=${state}`, `status=${state}&function=${echo}`, `status=${state}&function=${hold}`]) {
        const seen = await neighbour.call('GET', `/runs?${query}`);
        assert.equal(seen.status, 200, JSON.stringify(seen.body));
        assert.deepEqual(seen.body.items, [], query);
        const named = await api.call('GET', `/runs?${query}`, undefined, { 'fp-workspace': 'otherlist' });
        assert.deepEqual(named.body.items, [], query);
      }
    }
    // Cancelled: listed as such; the CLI lists a state too.
    assert.equal((await api.call('POST', `/runs/${waiting[1]}/cancel`)).status, 200);
    const cancelled = await api.call('GET', `/runs?status=cancelled&function=${echo}`);
    assert.equal(cancelled.body.items[0].runId, waiting[1]);
    const env = { FP_CONFIG_DIR: join(stateDir, 'cli-config'), HOME: stateDir };
    const cli = await runCli(['runs', echo, '--status', 'queued', '--url', platform.url, '--token', api.token!], { env });
    assert.equal(cli.code, 0, cli.stderr);
    for (const id of [waiting[0], waiting[2]]) assert.match(cli.stdout, new RegExp(`${id}\\s+${echo}\\s+async\\s+queued`));
    assert.doesNotMatch(cli.stdout, new RegExp(waiting[1]!));
    const none = await runCli(['runs', echo, '--status', 'queued', '--url', platform.url, '--token', token.body.secret as string], { env });
    assert.doesNotMatch(none.stdout + none.stderr, new RegExp(waiting[0]!));
    for (const id of waiting) await settled(api, id);
  });

  it('a sync run is 409 to cancel and to replay (GET /runs shows it), not RUN_NOT_FOUND', async () => {
    const res = await fetch(`${platform.url}/fn/${echo}/`);
    await res.arrayBuffer();
    const runId = res.headers.get('x-run-id')!;
    assert.equal((await api.call('GET', `/runs/${runId}`)).status, 200, 'the sync run is there');
    const cancel = await api.call('POST', `/runs/${runId}/cancel`);
    assert.deepEqual([cancel.status, errorOf(cancel).code], [409, 'RUN_NOT_CANCELLABLE']);
    assert.match(String(errorOf(cancel).message), /is a sync call/);
    const replay = await api.call('POST', `/runs/${runId}/replay`);
    assert.deepEqual([replay.status, errorOf(replay).code], [409, 'RUN_NOT_REPLAYABLE']);
    // Another workspace's token still learns nothing: the same id is "no run" there.
    assert.equal((await api.call('POST', '/workspaces', { name: 'otherasync' })).status, 201);
    const other = await api.call('POST', `/runs/${runId}/cancel`, undefined, { 'fp-workspace': 'otherasync' });
    assert.deepEqual([other.status, errorOf(other).code], [404, 'RUN_NOT_FOUND']);
  });

  it('replays a failed run against the fixed version as a new linked run', async () => {
    const name = fnName('broken');
    // An import error is not retried (a new version fixes it, not waiting): one attempt, failed.
    await deployed(api, name, { 'main.py': py('raise RuntimeError("broken at import")', 'def handler(event, context):', '    return 1') }, {}, { check: false });
    const a = await fireAsync(platform.url, name, '{"payload":"kept"}');
    const failed = await settled(api, a.runId);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.attempts[0].errorCode, 'FUNCTION_INIT_FAILED');
    // Fix the code (v2), then replay the original.
    await upload(api, name, { 'main.py': py('def handler(event, context):', '    return {"fixed": event["body"].decode()}') });
    await deploy(api, name);
    const replay = await api.call('POST', `/runs/${a.runId}/replay`);
    assert.equal(replay.status, 202, JSON.stringify(replay.body));
    assert.equal(replay.body.replayOf, a.runId);
    const run = await settled(api, replay.body.runId);
    assert.equal(run.state, 'succeeded');
    assert.equal(run.replayOf, a.runId);
    assert.deepEqual(run.result.body, { fixed: '{"payload":"kept"}' });
    const original = (await api.call('GET', `/runs/${a.runId}`)).body.run;
    assert.ok(original.replays.includes(replay.body.runId));
    const notFailed = await api.call('POST', `/runs/${replay.body.runId}/replay`);
    assert.equal(notFailed.status, 409);
    assert.equal(errorOf(notFailed).code, 'RUN_NOT_REPLAYABLE');
    // The version it failed on deleted: the replay runs the active one, as above.
    assert.equal((await api.call('DELETE', `/functions/${name}/versions/1`)).status, 204);
    const again = await api.call('POST', `/runs/${a.runId}/replay`);
    assert.equal(again.status, 202, JSON.stringify(again.body));
    assert.equal((await settled(api, again.body.runId)).state, 'succeeded');
    // The function deleted: nothing is queued (it was 202, then failed FUNCTION_NOT_FOUND at its attempt; reliability round 5).
    assert.equal((await api.call('DELETE', `/functions/${name}`)).status, 204);
    const gone = await api.call('POST', `/runs/${a.runId}/replay`);
    assert.deepEqual([gone.status, errorOf(gone).code], [404, 'FUNCTION_NOT_FOUND'], JSON.stringify(gone.body));
  });

  it('CLI: invoke --async prints the run id, --wait shows the result, runs <id> the timeline', async () => {
    const env = { FP_CONFIG_DIR: join(stateDir, 'cli-config'), HOME: stateDir };
    const target = ['--url', platform.url, '--token', api.token!];
    const queued = await runCli(['invoke', echo, '--async', '--data', '{"cli":1}', '--json', ...target], { env });
    assert.equal(queued.code, 0, queued.stderr);
    const { runId } = JSON.parse(queued.stdout) as { runId: string };
    assert.equal((await settled(api, runId)).state, 'succeeded');
    // A repeated key: the first run's id, said to be that (not a new run); a different request: 422, exit 1.
    const keyed = ['invoke', echo, '--async', '--idempotency-key', 'cli-k', '--data', '{"cli":3}', ...target];
    const first = await runCli([...keyed, '--json'], { env });
    assert.equal(JSON.parse(first.stdout).created, true, first.stdout);
    const again = await runCli(keyed, { env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), JSON.parse(first.stdout).runId);
    assert.match(again.stderr, /was sent before with this request: .* nothing new was queued/);
    const other = await runCli(['invoke', echo, '--async', '--idempotency-key', 'cli-k', '--data', '{"cli":4}', ...target], { env });
    assert.equal(other.code, 4); // the platform refused it (ADR 0174)
    assert.match(other.stdout, /IDEMPOTENCY_KEY_REUSED/);
    const waited = await runCli(['invoke', echo, '--async', '--wait', '--data', '{"cli":2}', ...target], { env });
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stdout, /succeeded/);
    assert.match(waited.stdout, /\\"cli\\":2|"cli":2/);
    // --output writes the result's body, as for a sync call (apps round 6: it was ignored, nothing written).
    const saved = join(stateDir, 'async-result.json');
    const written = await runCli(['invoke', echo, '--async', '--wait', '--data', '{"cli":5}', '-o', saved, ...target], { env });
    assert.equal(written.code, 0, written.stderr);
    assert.match(written.stdout, /bytes written to /);
    assert.match(readFileSync(saved, 'utf8'), /\\?"cli\\?":5/);
    const unwaited = await runCli(['invoke', echo, '--async', '--data', '{"cli":6}', '-o', join(stateDir, 'never.json'), ...target], { env });
    assert.equal(unwaited.code, 2, '--output without --wait: nothing to write, refused before anything is queued');
    assert.equal(existsSync(join(stateDir, 'never.json')), false);
    const shown = await runCli(['runs', runId, ...target], { env });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /timeline/);
    assert.match(shown.stdout, /queued[\s\S]*running[\s\S]*succeeded/);
    // The attempt with its own logs, under the run's id.
    assert.match(shown.stdout, new RegExp(`#1 [\\d:.]+ succeeded[\\s\\S]*stdout  echo ${runId}`));
    const replay = await runCli(['runs', 'replay', runId, ...target], { env });
    assert.equal(replay.code, 4, 'a succeeded run is not replayed');
    assert.match(replay.stderr + replay.stdout, /RUN_NOT_REPLAYABLE/);
    assert.match(replay.stderr, new RegExp(`run ${runId} succeeded; only failed runs are replayed`)); // not "is succeeded"
    const cancel = await runCli(['runs', 'cancel', runId, ...target], { env });
    assert.equal(cancel.code, 4);
    assert.match(cancel.stderr + cancel.stdout, /RUN_NOT_CANCELLABLE/);
  });

  it('runs the runs still queued at shutdown after a restart (none lost)', async () => {
    const busy = await fireAsync(platform.url, slow, '{}');
    const queued = [];
    for (let i = 0; i < 3; i++) queued.push(await fireAsync(platform.url, echo, `{"i":${i}}`));
    await claimed(api, busy.runId); // running at shutdown, the others still queued
    await platform.close();
    await start();
    for (const a of [busy, ...queued]) assert.equal((await settled(api, a.runId)).state, 'succeeded', a.runId);
  });
});
