/**
 * Red team round 48 (docs/adr/0139-who-sees-the-platform-series.md): `/metrics`' platform series
 * (no `function` label) are the platform's load summed over every tenant, served without a token
 * (ADR 0036): per-second counts of every call (`fp_run_sink_flushed_records_total`), busy runtimes,
 * the Node version. With a few tenants, one reads another's traffic from the sums, through its
 * workspace token or its function's loopback. FP_METRICS_PLATFORM_SERIES=root serves them to the
 * root token only: no token is 401, a workspace token sees its own functions' series alone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deployed, newTenant, py, usePlatform } from './platform-harness.js';

const h = usePlatform({ metricsPlatformSeries: 'root' });

describe('attack: the platform\'s series with FP_METRICS_PLATFORM_SERIES=root', () => {
  it('no token: 401; a workspace token: its own functions only; the root token: everything', { timeout: 60_000 }, async () => {
    const t = await newTenant(h, { role: 'viewer' });
    await deployed(h.api, 'counted', { 'main.py': py('def handler(event, context):', '    return {"ok": True}') }, {}, {});
    assert.equal((await fetch(`${h.url}/fn/counted/`)).status, 200);

    const anonymous = await fetch(`${h.url}/metrics`);
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as { error: { code: string } }).error.code, 'ADMIN_TOKEN_REQUIRED');

    const tenant = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${t.api.token!}` } });
    assert.equal(tenant.status, 200);
    const seen = await tenant.text();
    const samples = seen.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.deepEqual(samples, [], 'a workspace token read the platform\'s series (every tenant\'s load) or another\'s');
    assert.match(seen, /^# TYPE fp_pool_runtimes gauge$/m);

    const all = await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${h.api.token!}` } })).text();
    assert.match(all, /^fp_pool_runtimes\{state="[a-z]+"\} \d+$/m);
    assert.match(all, /^nodejs_version_info\{/m);
    assert.match(all, /function="counted"/);
  });

  // Red team round 49: `/readyz` answered anyone the pool's totals (busy, queued, warm: the
  // `fp_pool_runtimes` series the setting keeps to the root token), the runtimes that failed to
  // start and the number of functions of every workspace: the same side channel, one URL over.
  it('/readyz without the root token: status, problems and sandbox, no pool totals, functions or starts', { timeout: 60_000 }, async () => {
    const t = await newTenant(h, { role: 'viewer' });
    const load = ['pool', 'functions', 'starts'];
    for (const headers of [{}, { authorization: `Bearer ${t.api.token!}` }, { authorization: 'Bearer not-a-token' }]) {
      const res = await fetch(`${h.url}/readyz`, { headers });
      assert.equal(res.status, 200);
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body['status'], 'ready');
      assert.ok(Array.isArray(body['problems']));
      assert.equal(typeof body['sandbox'], 'object');
      for (const key of load) assert.equal(key in body, false, `/readyz told ${key} (every tenant's load) to ${JSON.stringify(headers)}`);
    }
    const root = (await (await fetch(`${h.url}/readyz`, { headers: { authorization: `Bearer ${h.api.token!}` } })).json()) as Record<string, unknown>;
    assert.equal(typeof (root['pool'] as { busy?: unknown }).busy, 'number');
    assert.equal(typeof root['functions'], 'number');
  });
});
