/**
 * Quotas and rate limits hit exactly at their values under concurrent load (docs/adr/0011-tenants.md),
 * run by the embedded and the production test files (in production, the calls are spread over two
 * processes: the limits hold across them). Bounded: at most 200 calls at once.
 */
import assert from 'node:assert/strict';
import { filesOf, py, sleep } from './platform-harness.js';
import { bearer, Caller, deployAs, echoFunction, functionKey, invoke, makeTenant, type Platform } from './tenants-harness.js';

/** `n` calls at once; the statuses, and the bodies of the refused ones. */
async function burst(p: Platform, path: string, n: number, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: any }[]> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON
  return Promise.all(Array.from({ length: n }, () => invoke(p, path, init)));
}

function count(results: readonly { status: number }[], status: number): number {
  return results.filter((r) => r.status === status).length;
}

/** The functions quota: of 10 concurrent creates against 3, exactly 3 succeed; the rest are 403 naming the quota. */
export async function functionsQuota(p: Platform): Promise<void> {
  const t = await makeTenant(p, { functions: 3 });
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => t.deployer.call('POST', '/functions', { name: `q${i}` })));
  assert.equal(count(results, 201), 3);
  for (const r of results.filter((x) => x.status !== 201)) {
    assert.equal(r.status, 403);
    assert.deepEqual([r.body.error.code, r.body.error.quota, r.body.error.limit, r.body.error.used], ['QUOTA_EXCEEDED', 'functions', 3, 3]);
  }
  const card = await t.viewer.expect(200, 'GET', `/functions/${results.find((r) => r.status === 201)!.body.function.name}`);
  assert.deepEqual(card.body.contract.quotas.functions, { limit: 3, used: 3 });
}

/** A rate limit of 50 in a burst (refill 1 an hour): of 200 concurrent calls exactly 50 pass, 150 are 429 RATE_LIMITED with Retry-After. */
export async function rateLimit(p: Platform): Promise<void> {
  const t = await makeTenant(p);
  await deployAs(t.deployer, 'limited', echoFunction('l'), { limits: { rate: '1/h', burst: 50 } });
  const key = functionKey('limited', t.name);
  const results = await burst(p, `/fn/${key}/`, 200);
  // Each process's probe (servedEverywhere: one test invoke that answered 200) took a token too.
  assert.equal(count(results, 200), 50 - p.urls.length, JSON.stringify(results.filter((r) => r.status !== 200 && r.status !== 429).slice(0, 3).map((r) => r.body)));
  assert.equal(count(results, 429), 150 + p.urls.length);
  const refused = results.find((r) => r.status === 429)!;
  assert.deepEqual([refused.body.error.code, refused.body.error.limit, refused.body.error.burst], ['RATE_LIMITED', '1/h', 50]);
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  // The contract card shows it.
  const card = await t.viewer.expect(200, 'GET', '/functions/limited');
  assert.deepEqual(card.body.contract.rateLimit, { requests: 1, periodMs: 3_600_000, burst: 50 });
  // An async call takes from the same bucket once, when accepted: now refused before anything is queued.
  const later = await invoke(p, `/async/${key}/`, { method: 'POST' });
  assert.equal(later.status, 429);
  // Removing the limit lets calls through: at once on the process that took the change, on the
  // others when its config message reaches them (Redis pub/sub, milliseconds): every process in
  // turn answers 200 within a wait budget of 10 s (not a speed target).
  await t.deployer.expect(200, 'PATCH', '/functions/limited', { limits: { rate: null } });
  const deadline = Date.now() + 10_000;
  let served = 0;
  while (served < p.urls.length) {
    const status = (await invoke(p, `/fn/${key}/`)).status;
    served = status === 200 ? served + 1 : 0;
    if (status !== 200) {
      assert.equal(status, 429, 'only the old limit may still refuse');
      assert.ok(Date.now() < deadline, 'a process still applies the removed limit after 10 s');
      await sleep(20);
    }
  }
}

/**
 * The workspace's calls per minute: 50, against 200 concurrent calls over two functions: exactly 50
 * pass, the rest 429 QUOTA_EXCEEDED with Retry-After (seconds to the next minute). The window is a
 * calendar minute; a burst that would straddle one waits for the next (a guard, not an assertion).
 */
export async function invocationsPerMinute(p: Platform, beforeMinuteEnds: () => Promise<void>): Promise<void> {
  const t = await makeTenant(p, { invocationsPerMinute: 50 });
  await beforeMinuteEnds();
  await deployAs(t.deployer, 'one', echoFunction('1'));
  await deployAs(t.deployer, 'two', echoFunction('2'));
  // The deploys' probes (test invokes) count too: what they used of this minute is not left for the burst.
  const used = (await t.root.expect(200, 'GET', `/workspaces/${t.name}`)).body.usage.invocationsPerMinute.used as number;
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => invoke(p, `/fn/${functionKey(i % 2 === 0 ? 'one' : 'two', t.name)}/`)));
  assert.equal(count(results, 200), 50 - used);
  assert.equal(count(results, 429), 150 + used);
  const refused = results.find((r) => r.status === 429)!;
  assert.deepEqual([refused.body.error.code, refused.body.error.quota, refused.body.error.limit], ['QUOTA_EXCEEDED', 'invocationsPerMinute', 50]);
  const retry = Number(refused.headers.get('retry-after'));
  assert.ok(retry >= 1 && retry <= 60, String(retry));
  // Each refusal is counted where an operator looks (ops round 1: they were in no metric and no usage figure).
  let counted = 0;
  for (const url of p.urls) {
    const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${p.rootToken}` } })).text();
    for (const line of text.split('\n')) {
      const m = /^fp_invocations_refused_total\{function="([^"]+)",code="QUOTA_EXCEEDED"\} (\d+)$/.exec(line);
      if (m !== null && (m[1] === functionKey('one', t.name) || m[1] === functionKey('two', t.name))) counted += Number(m[2]);
    }
  }
  assert.equal(counted, 150 + used);
  const card = await t.viewer.expect(200, 'GET', '/functions/one');
  assert.equal(card.body.contract.quotas.invocationsPerMinute.limit, 50);
  // Another workspace is not touched by this one's quota.
  const other = await makeTenant(p);
  await deployAs(other.deployer, 'free', echoFunction('f'));
  assert.equal((await invoke(p, `/fn/${functionKey('free', other.name)}/`)).status, 200);
}

/** Instances (per process): a workspace capped at 2 never holds more, however many of its functions are busy; past the queue, 429 QUOTA_EXCEEDED. */
export async function instancesQuota(p: Platform): Promise<void> {
  const t = await makeTenant(p, { instances: 2 });
  const slow = { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(float(event["query"].get("s", "0.3")))', '    return {"ok": True}') };
  await deployAs(t.deployer, 'slow-a', slow, { limits: { maxInstances: 5 } });
  await deployAs(t.deployer, 'slow-b', slow, { limits: { maxInstances: 5 } });
  await deployAs(t.deployer, 'strict', slow, { limits: { maxInstances: 5, maxQueue: 0 } });
  const url = p.urls[0]!;
  const one: Platform = { urls: [url], rootToken: p.rootToken };
  const used = async (): Promise<number> => (await new Caller(one, p.rootToken).expect(200, 'GET', `/workspaces/${t.name}`)).body.usage.instances.used;
  let most = 0;
  let done = false;
  const calls = Promise.all(Array.from({ length: 6 }, (_, i) => invoke(one, `/fn/${functionKey(i % 2 === 0 ? 'slow-a' : 'slow-b', t.name)}/?s=1`))).finally(() => (done = true));
  // Watch the workspace's instances while the calls run; meanwhile, a call that cannot even queue is refused.
  let refusedSeen = false;
  while (!done) {
    const now = await used();
    most = Math.max(most, now);
    if (now === 2 && !refusedSeen) {
      const strict = await invoke(one, `/fn/${functionKey('strict', t.name)}/?s=0`);
      if (strict.status === 429) {
        assert.deepEqual([strict.body.error.code, strict.body.error.quota, strict.body.error.limit], ['QUOTA_EXCEEDED', 'instances', 2]);
        assert.equal(strict.headers.get('retry-after'), '1');
        refusedSeen = true;
      }
    }
    await sleep(20);
  }
  const results = await calls;
  assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200, 200, 200], 'queued calls are served once an instance frees up');
  assert.ok(most <= 2, `the workspace held ${most} instances`);
  assert.equal(await used(), 2, 'two instances were made and stay warm');
  assert.ok(refusedSeen, 'a call with no queue was refused while the workspace was full');
}

/** codeBytes: an upload that would pass the quota is 403 and stores nothing; logBytes: runs past it keep no lines, with a marker. */
export async function storageQuotas(p: Platform): Promise<void> {
  const t = await makeTenant(p, { codeBytes: 1000, logBytes: 600 });
  const big = `# ${'x'.repeat(500)}\n`;
  await t.deployer.expect(201, 'POST', '/functions', { name: 'code' });
  await t.deployer.expect(201, 'POST', '/functions/code/versions', { files: filesOf({ 'main.py': `${big}def handler(event, context):\n    print("y" * 200)\n    return {}\n` }) });
  const over = await t.deployer.refused('POST', '/functions/code/versions', { files: filesOf({ 'main.py': `${big}${big}def handler(e, c):\n    return {}\n` }) });
  assert.deepEqual(over, [403, 'QUOTA_EXCEEDED']);
  const versions = await t.viewer.expect(200, 'GET', '/functions/code/versions');
  assert.equal(versions.body.items.length, 1);
  await t.deployer.expect(200, 'POST', '/functions/code/deploy');
  const key = functionKey('code', t.name);
  const one: Platform = { urls: [p.urls[0]!], rootToken: p.rootToken };
  // Each run logs ~230 bytes (its line as stored): two fit in 600, the third does not.
  const runIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await invoke(one, `/fn/${key}/`);
    assert.equal(res.status, 200);
    runIds.push(res.headers.get('x-run-id')!);
    await t.viewer.expect(200, 'GET', '/runs?limit=1'); // written before the next call (the list flushes)
  }
  const logsOf = async (id: string): Promise<{ stream: string; msg: string }[]> => (await t.viewer.expect(200, 'GET', `/runs/${id}`)).body.run.logs;
  assert.ok((await logsOf(runIds[0]!)).some((l) => l.msg.includes('yyyy')));
  assert.ok((await logsOf(runIds[1]!)).some((l) => l.msg.includes('yyyy')));
  const third = await logsOf(runIds[2]!);
  assert.equal(third.length, 1);
  assert.equal(third[0]!.stream, 'platform');
  assert.match(third[0]!.msg, /logBytes quota/);
  const ws = await new Caller(p, p.rootToken).expect(200, 'GET', `/workspaces/${t.name}`);
  assert.ok(ws.body.usage.logBytes.used <= 600 + 400, JSON.stringify(ws.body.usage.logBytes));
  assert.equal(ws.body.usage.codeBytes.used, versions.body.items[0].totalBytes);
  void bearer;
}

/**
 * Waits, when the current calendar minute has less than 15 s left, for the next one: the
 * invocationsPerMinute window is a calendar minute, and a burst must fall in one to be counted
 * against one quota. A guard on where the test starts, not an assertion on time.
 */
export async function startOfAMinute(now: () => number = Date.now): Promise<void> {
  const left = 60_000 - (now() % 60_000);
  if (left < 15_000) await sleep(left + 50);
}
