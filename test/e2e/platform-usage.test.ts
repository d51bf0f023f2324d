/**
 * Usage in the embedded default: `GET /api/v1/functions/:name/usage` and `fastapi-platform usage`
 * report the calls made (invocations, errors, percentiles, cold starts, warm instances, last
 * success) from in-memory HotMetrics, and the paused state after a pause.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli-harness.js';
import { deployed, errorOf, fnName, usePlatform } from './platform-harness.js';
import { callMany, FLAKY, usageWhen } from './usage-harness.js';

describe('usage (embedded)', { timeout: 60_000 }, () => {
  const h = usePlatform();

  it('counts calls, errors and cold starts, with percentiles, warm state and the last success', async () => {
    const name = fnName();
    await deployed(h.api, name, FLAKY);
    assert.deepEqual(await callMany(h.url, name, 6), [200, 200, 200, 200, 200, 200]);
    assert.deepEqual(await callMany(h.url, name, 2, '?fail=1'), [500, 500]);
    const u = await usageWhen(h.api, name, (b) => b.invocations === 8);
    assert.equal(u.window, '15m');
    assert.equal(u.errors, 2);
    assert.equal(u.errorRate, 0.25);
    assert.equal(u.coldStarts, 1);
    assert.equal(u.coldStartRatio, 1 / 8);
    for (const p of ['p50Ms', 'p95Ms', 'p99Ms']) assert.ok(typeof u[p] === 'number' && u[p] > 0, p);
    assert.ok(u.p50Ms <= u.p95Ms && u.p95Ms <= u.p99Ms);
    assert.equal(u.state, 'warm');
    assert.ok(u.warmInstances >= 1);
    assert.ok(u.lastSuccess !== null && typeof u.lastSuccess.runId === 'string');
    assert.deepEqual(u.totals, { invocations: 8, errors: 2, coldStarts: 1 });
  });

  it('a burst waiting for one instance\'s start is one cold start: each call answers cold, the start counts once', async () => {
    const name = fnName();
    await deployed(h.api, name, { 'main.py': 'import time\ndef handler(event, context):\n    time.sleep(0.3)\n    return 1\n' }, { limits: { maxInstances: 1, concurrency: 8 } });
    const answers = await Promise.all(Array.from({ length: 8 }, async () => {
      const res = await fetch(`${h.url}/fn/${name}/`);
      await res.arrayBuffer();
      return [res.status, res.headers.get('x-cold-start')];
    }));
    assert.deepEqual(answers, Array.from({ length: 8 }, () => [200, '1']), 'each call paid the start');
    const u = await usageWhen(h.api, name, (b) => b.invocations === 8);
    assert.equal(u.coldStarts, 1, 'one instance started');
    assert.equal(u.coldStartRatio, 1 / 8);
    assert.deepEqual(u.totals, { invocations: 8, errors: 0, coldStarts: 1 });
    let runs: { cold: boolean; sharedStart?: true }[] = [];
    for (let i = 0; i < 100 && runs.length < 8; i++) {
      runs = (await h.api.call('GET', `/runs?function=${name}&limit=20`)).body.items as typeof runs;
      if (runs.length < 8) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(runs.length, 8);
    assert.ok(runs.every((r) => r.cold));
    assert.equal(runs.filter((r) => r.sharedStart === true).length, 7, 'the start is the first call\'s');
  });

  it('shows paused after a pause; checks the window and the function', async () => {
    const name = fnName();
    await deployed(h.api, name, FLAKY);
    assert.equal((await h.api.call('POST', `/functions/${name}/pause`, {})).status, 200);
    await usageWhen(h.api, name, (b) => b.state === 'paused' && b.invocations === 0, '1m');
    const bad = await h.api.call('GET', `/functions/${name}/usage?window=2d`);
    assert.equal(bad.status, 400);
    assert.equal(errorOf(bad).code, 'INVALID_FIELD');
    // A function created but never deployed is not "cold" (functions list and console say so too).
    const created = fnName();
    assert.equal((await h.api.call('POST', '/functions', { name: created })).status, 201);
    const fresh = await h.api.call('GET', `/functions/${created}/usage`);
    assert.equal(fresh.status, 200);
    assert.equal((fresh.body as { state: string }).state, 'not deployed');
    const missing = await h.api.call('GET', `/functions/${fnName()}/usage`);
    assert.equal(missing.status, 404);
    assert.equal(errorOf(missing).code, 'FUNCTION_NOT_FOUND');
  });

  it('7d from the hourly rollups in platform.db: counts the calls once written, with the live state', async () => {
    const name = fnName();
    await deployed(h.api, name, FLAKY);
    assert.deepEqual(await callMany(h.url, name, 4), [200, 200, 200, 200]);
    assert.deepEqual(await callMany(h.url, name, 1, '?fail=1'), [500]);
    // The rollup recorder lingers (5 s by default) before it writes.
    const u = await usageWhen(h.api, name, (b) => b.invocations === 5, '7d', 20_000);
    assert.equal(u.window, '7d');
    assert.deepEqual([u.errors, u.coldStarts], [1, 1]);
    assert.equal(u.errorRate, 0.2);
    assert.ok(typeof u.p95Ms === 'number' && u.p95Ms > 0);
    assert.ok(u.to - u.from > 6 * 24 * 3_600_000);
    assert.equal(u.state, 'warm');
    assert.deepEqual(u.totals, { invocations: 5, errors: 1, coldStarts: 1 });
    const month = await h.api.call('GET', `/functions/${name}/usage?window=30d`);
    assert.equal((month.body as { invocations: number }).invocations, 5);
    const text = await runCli(['usage', name, '--window', '7d', '--url', h.url, '--token', h.api.token!]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /last 7d/);
    assert.match(text.stdout, /invocations\s+5 \(errors 1, 20\.0 %\)/);
  });

  it('the CLI: `usage <name>` as text and --json; a bad window is a usage error', async () => {
    const name = fnName();
    await deployed(h.api, name, FLAKY);
    await callMany(h.url, name, 3);
    await usageWhen(h.api, name, (b) => b.invocations === 3);
    const target = ['--url', h.url, '--token', h.api.token!];
    const text = await runCli(['usage', name, '--window', '1h', ...target]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /invocations\s+3 \(errors 0, 0\.0 %\)/);
    assert.match(text.stdout, /state\s+warm/);
    const json = await runCli(['usage', name, '--json', ...target]);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as { ok: boolean; usage: { invocations: number; window: string } };
    assert.deepEqual([doc.ok, doc.usage.invocations, doc.usage.window], [true, 3, '15m']);
    assert.equal((await runCli(['usage', name, '--window', '2d', ...target])).code, 2);
    // Without a name: one line per function of the workspace (it was a usage error).
    const all = await runCli(['usage', '--window', '1h', ...target]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^Last 1h:\nNAME\s+STATE\s+CALLS\s+ERRORS\s+P50\s+P95\s+COLD/);
    assert.match(all.stdout, new RegExp(`^${name}\\s+warm\\s+3\\s+0\\.0 %`, 'm'));
    const allJson = JSON.parse((await runCli(['usage', '--json', ...target])).stdout) as { window: string; items: { function: string; invocations: number }[] };
    assert.equal(allJson.window, '15m');
    assert.equal(allJson.items.find((u) => u.function === name)?.invocations, 3);
    const help = await runCli(['usage', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--window/);
  });
});
