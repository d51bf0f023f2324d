/**
 * The Kubernetes host behind the pool manager, on a real API server with the test kubelet
 * (kube-harness.ts): the pool fills, a lease relabels a Pod, calls run over TCP, idle instances'
 * Pods are deleted, a Pod deleted mid-call fails its call with a clear error and is replaced, a
 * restarted platform adopts its warm Pods and deletes strays, two gateways never share a Pod, and
 * the watch re-lists after the API server restarts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { defaultPoolConfig, PoolManager, RedisCoordinator, type KubeHost } from '../../poolmgr/index.js';
import { tmpdir } from 'node:os';
import { kubeTierUnavailable, sleep } from '../helpers/kube-cluster.js';
import { serverSkip, startRedis, type ServerProcess } from '../helpers/servers.js';
import { ev, fnVersion, removeFunction, STEERED_HANDLER, writeFunction } from '../integration/poolmgr-harness.js';
import { startWorld, type KubeWorld } from './kube-harness.js';

const skip = kubeTierUnavailable() ?? false;
const LEASED = 'fastapi-platform.dev/state=leased';
const WARM = 'fastapi-platform.dev/state=warm';

describe('Kubernetes host: the pool on a real API server', { skip }, () => {
  let world: KubeWorld;
  let admin: CoreV1Api;
  let dir: string;
  before(async () => {
    world = await startWorld({ compact: true });
    admin = world.cluster.config('admin').makeApiClient(CoreV1Api);
    dir = await writeFunction({ 'main.py': STEERED_HANDLER });
  });
  after(async () => {
    await removeFunction(dir);
    await world?.close();
  });

  const pods = async (selector = ''): Promise<V1Pod[]> => {
    const sel = [`fastapi-platform.dev/pool=${world.pool}`, selector].filter((s) => s !== '').join(',');
    const list = await admin.listNamespacedPod({ namespace: world.cluster.namespace, labelSelector: sel });
    return list.items.filter((p) => p.metadata?.deletionTimestamp === undefined);
  };
  const readyWarm = async (preset = 'm128'): Promise<V1Pod[]> => (await pods(`${WARM},fastapi-platform.dev/preset=${preset}`))
    .filter((p) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'));
  const until = async (what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  };
  /** A host of the pool, closed after the test whatever happens (a leftover host would keep filling the pool). */
  const newHost = (t: TestContext, overrides: Parameters<KubeWorld['host']>[0] = {}): KubeHost => {
    const host = world.host(overrides);
    t.after(() => host.close());
    return host;
  };
  /** A pool manager on `host`, closed (with the host) after the test whatever happens. */
  const pool = (t: TestContext, host: KubeHost, overrides = {}): PoolManager => {
    const pm = new PoolManager(defaultPoolConfig({ poolSize: 0, codeRoots: [tmpdir()], spawnTimeoutMs: 30_000, shutdownGraceMs: 1_000, ...overrides }), host);
    t.after(() => pm.close());
    return pm;
  };
  /** Deletes every Pod of the pool and waits until they are gone (a clean slate between tests). */
  const clean = async (): Promise<void> => {
    for (const p of await pods()) await admin.deleteNamespacedPod({ name: p.metadata!.name!, namespace: world.cluster.namespace, gracePeriodSeconds: 0 }).catch(() => {});
    await until('no Pods left', async () => (await pods()).length === 0);
  };

  it('fills the warm pool, leases a Pod by relabelling it, and runs calls on it over TCP', async (t) => {
    const host = newHost(t);
    await host.start();
    await until('2 warm Pods Ready', async () => (await readyWarm()).length === 2);
    assert.equal((await pods('fastapi-platform.dev/preset=m512')).length, 0, 'a preset with no warm target gets no Pod');
    const warmBefore = new Set((await readyWarm()).map((p) => p.metadata!.name!));

    const pm = pool(t, host);
    await pm.start();
    const fn = fnVersion(dir);
    const first = await pm.invoke(fn, ev());
    assert.equal(first.error, null, JSON.stringify(first.error));
    assert.equal(first.response?.status, 200);
    assert.equal(first.start, 'spawn');
    const leased = await pods(LEASED);
    assert.equal(leased.length, 1);
    const pod = leased[0]!;
    assert.ok(warmBefore.has(pod.metadata!.name!), 'the lease took a warm Pod');
    assert.equal(pod.metadata?.labels?.['fastapi-platform.dev/holder'] !== undefined, true);
    await until('the Pod annotated with its function', async () => (await pods(LEASED))[0]?.metadata?.annotations?.['fastapi-platform.dev/function'] === `${fn.name}@v1`);
    // The warm pool refills behind the lease.
    await until('the warm pool refilled', async () => (await readyWarm()).length === 2);
    const warm = await pm.invoke(fn, ev());
    assert.equal(warm.start, 'warm');
    assert.equal(warm.error, null);

    // A function that needs more memory gets a Pod of a larger preset, created for it.
    const big = await pm.invoke(fnVersion(dir, { memoryBytes: 256 * 1024 * 1024 }), ev());
    assert.equal(big.error, null, JSON.stringify(big.error));
    assert.equal((await pods(`${LEASED},fastapi-platform.dev/preset=m512`)).length, 1);
    await pm.close();
    await until('leased Pods deleted at close', async () => (await pods(LEASED)).length === 0);
  });

  it('deletes the Pod of an instance once it has been idle', async (t) => {
    const host = newHost(t);
    await host.start();
    const pm = pool(t, host, { idleTimeoutMs: 500, reapIntervalMs: 100 });
    await pm.start();
    const r = await pm.invoke(fnVersion(dir), ev());
    assert.equal(r.error, null);
    const name = (await pods(LEASED))[0]!.metadata!.name!;
    await until('the idle instance\'s Pod deleted', async () => !(await pods()).some((p) => p.metadata!.name === name), 15_000);
    await pm.close();
  });

  it('fails a call whose Pod is deleted mid-call with a clear error, and serves the next call on a new Pod', async (t) => {
    const host = newHost(t);
    await host.start();
    const pm = pool(t, host);
    await pm.start();
    const fn = fnVersion(dir, { timeoutMs: 60_000 });
    const call = pm.invoke(fn, ev({ sleep: '30' }));
    await until('the call\'s Pod leased', async () => (await pods(LEASED)).length === 1);
    await until('the call running on its instance', async () => pm.stats().busy === 1);
    const name = (await pods(LEASED))[0]!.metadata!.name!;
    await admin.deleteNamespacedPod({ name, namespace: world.cluster.namespace });
    const failed = await call;
    assert.equal(failed.error?.code, 'RUNTIME_CRASHED', JSON.stringify(failed.error));
    assert.match(failed.error?.message ?? '', /deleted/);
    const next = await pm.invoke(fn, ev());
    assert.equal(next.error, null, JSON.stringify(next.error));
    assert.notEqual((await pods(LEASED))[0]?.metadata?.name, name);
    await pm.close();
  });

  it('fails a call whose Pod crashes or is evicted with the codes a local process gets, and replaces the Pod', async (t) => {
    const host = newHost(t);
    await host.start();
    const pm = pool(t, host);
    await pm.start();
    const fn = fnVersion(dir, { timeoutMs: 60_000 });
    const midCall = async (kill: (pod: string) => void): Promise<Awaited<ReturnType<PoolManager['invoke']>>> => {
      const before = new Set((await pods(LEASED)).map((p) => p.metadata!.name!));
      const call = pm.invoke(fn, ev({ sleep: '30' }));
      let name = '';
      await until('the call\'s Pod leased', async () => {
        name = (await pods(LEASED)).map((p) => p.metadata!.name!).find((n) => !before.has(n)) ?? '';
        return name !== '';
      });
      await until('the call running on its instance', async () => pm.stats().busy === 1);
      kill(name);
      return call;
    };
    const crashed = await midCall((name) => world.kubelet.crash(name));
    assert.equal(crashed.error?.code, 'RUNTIME_CRASHED', JSON.stringify(crashed.error));
    assert.equal(crashed.error?.type, 'RuntimeExited', 'as a local runtime that died during the call');
    assert.match(crashed.error?.message ?? '', /SIGKILL/);
    const evicted = await midCall((name) => world.kubelet.evict(name));
    assert.equal(evicted.error?.code, 'RUNTIME_CRASHED', JSON.stringify(evicted.error));
    assert.match(evicted.error?.message ?? '', /evicted: The node was low on resource: memory/);
    // The function's own exit is reported as locally too.
    const exited = await pm.invoke(fn, ev({ exit: '3' }));
    assert.equal(exited.error?.code, 'RUNTIME_CRASHED', JSON.stringify(exited.error));
    assert.match(exited.error?.message ?? '', /exit code 3/);
    assert.equal((await pm.invoke(fn, ev())).error, null, 'the next call is served on a new Pod');
  });

  it('a restarted platform adopts the warm Pods and deletes strays', async (t) => {
    await clean();
    const first = newHost(t);
    await first.start();
    await until('2 warm Pods Ready', async () => (await readyWarm()).length === 2);
    const adopted = new Set((await readyWarm()).map((p) => p.metadata!.name!));
    await first.close(); // keeps the warm Pods (deleteWarmOnClose is off)
    // A stray: a Pod leased by a holder that is gone.
    const stray = structuredClone((await readyWarm())[0]!);
    const strayName = `${world.pool}-rt-m128-stray`;
    await admin.createNamespacedPod({
      namespace: world.cluster.namespace,
      body: { metadata: { name: strayName, labels: { ...stray.metadata!.labels, 'fastapi-platform.dev/state': 'leased', 'fastapi-platform.dev/holder': 'gone' }, annotations: stray.metadata!.annotations ?? {} }, spec: stray.spec! },
    });
    const second = newHost(t);
    await second.start();
    await until('the stray deleted', async () => !(await pods()).some((p) => p.metadata!.name === strayName));
    assert.deepEqual(new Set((await readyWarm()).map((p) => p.metadata!.name!)), adopted, 'the same warm Pods, none created');
    const pm = pool(t, second);
    await pm.start();
    const r = await pm.invoke(fnVersion(dir), ev());
    assert.equal(r.error, null, JSON.stringify(r.error));
    assert.ok(adopted.has((await pods(LEASED))[0]!.metadata!.name!), 'an adopted Pod served the call');
    await pm.close();
  });

  describe('two gateways on one pool (Redis)', { skip: serverSkip('redis-server') }, () => {
    let redis: ServerProcess;
    before(async () => { redis = await startRedis(); });
    after(async () => { await redis?.stop(); });

    it('never lease the same Pod, and fill the warm pool once between them', async (t) => {
      await clean();
      const prefix = `t${Date.now()}`;
      const ids = [0, 1].map((i) => `gw-${i}-${Date.now()}`);
      const hosts = await Promise.all(ids.map(async (hostId) => {
        const coordinator = await RedisCoordinator.open({ redisUrl: redis.url, prefix, pool: world.pool, hostId, ttlMs: 3_000 });
        const host = newHost(t, { hostId, coordinator });
        await host.start();
        return host;
      }));
      await until('2 warm Pods Ready', async () => (await readyWarm()).length === 2);
      await sleep(1_500);
      assert.equal((await pods(WARM)).length, 2, 'one filler: the warm target is not doubled');
      const pms = hosts.map((h) => pool(t, h));
      for (const pm of pms) await pm.start();
      // Six concurrent cold starts on each gateway: every one gets a Pod of its own.
      const calls = pms.flatMap((pm) => Array.from({ length: 6 }, () => pm.invoke(fnVersion(dir), ev({ sleep: '1' }))));
      const results = await Promise.all(calls);
      for (const r of results) assert.equal(r.error, null, JSON.stringify(r.error));
      // Each call's instance still holds its Pod (idle for less than idleTimeoutMs): twelve Pods, two holders.
      const leased = await pods(LEASED);
      assert.equal(leased.length, 12, JSON.stringify(leased.map((p) => [p.metadata!.name, p.metadata!.labels])));
      const holders = leased.map((p) => p.metadata!.labels!['fastapi-platform.dev/holder']);
      assert.deepEqual([...new Set(holders)].sort(), ids.sort());
      for (const pm of pms) await pm.close();
    });
  });

  it('re-lists after the API server restarts, and keeps the pool filled', async (t) => {
    await clean();
    const lines: string[] = [];
    const host = newHost(t, { log: (line) => lines.push(line) });
    await host.start();
    await until('2 warm Pods Ready', async () => (await readyWarm()).length === 2);
    // Other objects change (as they always do in a cluster), the API server crashes before it tells
    // the watch (no bookmark), and the datastore compacts its history while it is down (kine here,
    // every second): after the restart the watch's resourceVersion is one nobody has any more.
    for (let i = 0; i < 30; i++) await admin.createNamespacedConfigMap({ namespace: world.cluster.namespace, body: { metadata: { generateName: 'other-' }, data: { i: String(i) } } });
    await world.cluster.restartApiServer({ crash: true, downMs: 3_000 });
    await until('the watch re-listed', async () => lines.some((l) => /re-listing/.test(l)), 30_000);
    // Changes after the restart are seen: a deleted warm Pod is replaced.
    const gone = (await readyWarm())[0]!.metadata!.name!;
    await admin.deleteNamespacedPod({ name: gone, namespace: world.cluster.namespace, gracePeriodSeconds: 0 });
    await until('a replacement Ready', async () => {
      const warm = await readyWarm();
      return warm.length === 2 && !warm.some((p) => p.metadata!.name === gone);
    });
    const pm = pool(t, host);
    await pm.start();
    assert.equal((await pm.invoke(fnVersion(dir), ev())).error, null);
    await pm.close();
  });
});
