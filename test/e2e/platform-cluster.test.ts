/**
 * Two platform processes (two startPlatform instances, different ports) sharing one Redis and one
 * FerretDB: a change made through one reaches the other (Redis pub/sub; the test prints how soon), and both
 * record into the same Redis, so usage counts the calls made through either.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createFunction, deploy, deployed, fnName, handlerReturning, upload } from './platform-harness.js';
import { clusterOptions, productionSkip, startNode, useServers, type Node } from './production-harness.js';
import { callMany, usageWhen } from './usage-harness.js';

/**
 * Polls `check` every 20 ms; resolves with the time it took, or fails after `timeoutMs`. The
 * budget is for a loaded machine, not a speed target: a change reaches the other process only
 * through Redis pub/sub (no periodic re-read), so arriving at all shows the bus carried it. How
 * fast it arrives (within a second: docs/platform.md) is printed, not asserted (test/README.md).
 */
async function within(timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}

/** How long a change may take to reach the other process before the test gives up (a budget, not a target). */
const PROPAGATION_BUDGET_MS = 15_000;

async function valueAt(url: string, name: string, headers: Record<string, string> = {}): Promise<unknown> {
  const res = await fetch(`${url}/fn/${name}/`, { headers });
  const body = (await res.json().catch(() => null)) as { value?: unknown } | null;
  return res.status === 200 ? body?.value : res.status;
}

describe('two platform processes on one Redis + MongoDB', { skip: productionSkip, timeout: 120_000 }, () => {
  const servers = useServers();
  let a: Node;
  let b: Node;
  let options: ReturnType<typeof clusterOptions>;
  before(async () => {
    options = { ...clusterOptions(servers), warmReportIntervalMs: 500 };
    a = await startNode(options);
    b = await startNode(options, a.api.token);
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('a deploy, rollback and pause through one is served by the other', async (t) => {
    const name = fnName();
    await deployed(a.api, name, handlerReturning('one'));
    await within(PROPAGATION_BUDGET_MS, async () => (await valueAt(b.url, name)) === 'one');
    await upload(a.api, name, handlerReturning('two'));
    await deploy(a.api, name);
    const took = await within(PROPAGATION_BUDGET_MS, async () => (await valueAt(b.url, name)) === 'two');
    t.diagnostic(`the deploy was served by the other process ${took} ms after it answered`);
    assert.equal((await a.api.call('POST', `/functions/${name}/rollback`, {})).status, 200);
    await within(PROPAGATION_BUDGET_MS, async () => (await valueAt(b.url, name)) === 'one');
    assert.equal((await b.api.call('POST', `/functions/${name}/pause`, {})).status, 200);
    await within(PROPAGATION_BUDGET_MS, async () => (await valueAt(a.url, name)) === 503);
    assert.equal((await a.api.call('POST', `/functions/${name}/resume`, {})).status, 200);
    await within(PROPAGATION_BUDGET_MS, async () => (await valueAt(b.url, name)) === 'one');
  });

  it('token rotation and settings changes reach the other process', async () => {
    const name = fnName();
    const created = await createFunction(a.api, name, { auth: 'token' });
    await upload(a.api, name, handlerReturning('secret'));
    await deploy(a.api, name);
    const first = { authorization: `Bearer ${created.invokeToken as string}` };
    await within(PROPAGATION_BUDGET_MS, async () => (await valueAt(b.url, name, first)) === 'secret');
    const rotated = await a.api.call('POST', `/functions/${name}/tokens/rotate`, {});
    assert.equal(rotated.status, 200);
    const second = { authorization: `Bearer ${rotated.body.invokeToken as string}` };
    await within(PROPAGATION_BUDGET_MS, async () => (await valueAt(b.url, name, first)) === 401 && (await valueAt(b.url, name, second)) === 'secret');
    assert.equal((await a.api.call('PATCH', `/functions/${name}`, { auth: 'public' })).status, 200);
    await within(PROPAGATION_BUDGET_MS, async () => (await valueAt(b.url, name)) === 'secret');
    assert.equal((await b.api.call('DELETE', `/functions/${name}`)).status, 204);
    await within(PROPAGATION_BUDGET_MS, async () => (await valueAt(a.url, name)) === 404);
  });

  it('both record into one Redis: usage counts the calls made through either', async () => {
    const name = fnName();
    await deployed(a.api, name, handlerReturning('x'));
    // The wait makes calls through b; the ones b served are runs of the function (a call b
    // answered 404, not knowing it yet, is not): once all of those are counted, count from there.
    let served = 0;
    await within(PROPAGATION_BUDGET_MS, async () => {
      const value = await valueAt(b.url, name);
      if (value === 'x') served++;
      return value === 'x';
    });
    // The 15-minute window (usageWhen's default): the 1-minute one is the current minute's bucket
    // only, and a call made just before a minute turned was not in it (seen in CI).
    const before = (await usageWhen(a.api, name, (x) => x.invocations >= served)).invocations as number;
    assert.equal(before, served);
    await Promise.all([callMany(a.url, name, 10), callMany(b.url, name, 10)]);
    const u = await usageWhen(b.api, name, (x) => x.invocations === before + 20);
    assert.ok(u.p95Ms > 0);
    await usageWhen(a.api, name, (x) => x.warmInstances >= 2);
  });

  // Ops round 1: a process restarted with --rotate-admin-token revoked every admin token in the
  // store but told nobody: the other processes kept the lost (or leaked) token working, and the
  // new one answered 401 there, until each was restarted.
  it('an admin token rotated at a process start (--rotate-admin-token) works on the other processes, and the old one stops', async () => {
    const old = a.api.token!;
    const c = await startNode({ ...options, rotateAdminToken: true });
    try {
      const fresh = c.api.token!;
      assert.notEqual(fresh, old);
      const status = async (url: string, token: string) => (await fetch(`${url}/api/v1/functions`, { headers: { authorization: `Bearer ${token}` } })).status;
      assert.equal(await status(c.url, old), 401);
      for (const other of [b, a]) {
        let seen = '';
        await within(PROPAGATION_BUDGET_MS, async () => {
          seen = `old ${await status(other.url, old)}, new ${await status(other.url, fresh)}`;
          return seen === 'old 401, new 200';
        }).catch((err: Error) => assert.fail(`${other === a ? 'a' : 'b'}: ${err.message}: ${seen}`));
      }
      a.api.token = fresh;
      b.api.token = fresh;
    } finally {
      await c.close();
    }
  });
});
