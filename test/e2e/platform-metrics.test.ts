/**
 * /metrics of a real embedded platform (issue 9), with Python functions: one strict exposition
 * (test/helpers/prom-text.ts) holding the gateway's, the async wing's, the run sink's and the
 * process's families, each moving as the platform works: retries and dead letters, a run waiting
 * in the SQLite queue (depth and age), a cancel, webhook verdicts, cron ticks, run sink writes.
 * Two platforms in one process keep separate registries.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { startPlatform } from '../../platform/start.js';
import { scrape, sumOf, valueOf } from '../helpers/prom-text.js';
import { assertPlatformFamilies, eventually, fireAsync, settled } from './metrics-harness.js';
import { createFunction, deploy, deployed, filesOf, fnName, py, sleep, TEST_SECRETS_KEY, usePlatform } from './platform-harness.js';

const OK = { 'main.py': py('def handler(event, context):', '    return {"ok": True}') };
const FAILS = { 'main.py': py('def handler(event, context):', '    raise RuntimeError(f"attempt {context.attempt} fails")') };
/** Fails attempts 1 and 2, succeeds at 3. */
const FLAKY = { 'main.py': py('def handler(event, context):', '    if context.attempt < 3: raise RuntimeError("not yet")', '    return {"attempt": context.attempt}') };
const SLOW = { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(float(event["body"].decode() or "1.5"))', '    return "slept"') };

describe('platform /metrics (embedded)', { timeout: 120_000 }, () => {
  // One dispatcher worker: a slow run holds it, so the next run waits in the queue.
  const h = usePlatform({ poolSize: 2, dispatchConcurrency: 1 });
  // The root token: every series (without it, the per-function ones are left out: ADR 0036).
  const metrics = (): ReturnType<typeof scrape> => scrape(h.url, h.api.token);

  it('serves one strict exposition with every family, the process defaults under their standard names', async () => {
    const m = await metrics();
    assertPlatformFamilies(m);
    // Without a token: every family still declared (HELP and TYPE), no series of any function.
    const anyone = await scrape(h.url);
    assertPlatformFamilies(anyone);
    for (const family of anyone.values()) for (const sample of family.samples) assert.equal(sample.labels['function'], undefined, sample.name);
    assert.ok(valueOf(m, 'process_resident_memory_bytes')! > 0);
    assert.ok(valueOf(m, 'process_cpu_user_seconds_total')! > 0);
    for (const name of m.keys()) assert.ok(!name.startsWith('fp_process') && !name.startsWith('fp_nodejs'), name);
    // The sink's destinations in embedded mode, present before any run.
    for (const target of ['runs', 'metrics', 'history']) assert.equal(typeof valueOf(m, 'fp_run_sink_buffered_records', { target }), 'number', target);
  });

  it('attempts by outcome: fails twice then succeeds; one attempt only is failed_final and a dead letter', async () => {
    const flaky = fnName('flaky');
    const once = fnName('once');
    await deployed(h.api, flaky, FLAKY, { retry: { maxAttempts: 3, backoff: '100ms', maxBackoff: '200ms' } });
    await deployed(h.api, once, FAILS, { retry: { maxAttempts: 1 } });
    assert.equal(await settled(h.api, await fireAsync(h.url, flaky)), 'succeeded');
    assert.equal(await settled(h.api, await fireAsync(h.url, once)), 'failed');
    const m = await metrics();
    assert.equal(valueOf(m, 'fp_async_attempts_total', { function: flaky, outcome: 'failed_retry' }), 2);
    assert.equal(valueOf(m, 'fp_async_attempts_total', { function: flaky, outcome: 'succeeded' }), 1);
    assert.equal(valueOf(m, 'fp_async_attempts_total', { function: flaky, outcome: 'failed_final' }), undefined);
    assert.equal(valueOf(m, 'fp_async_attempts_total', { function: once, outcome: 'failed_final' }), 1);
    assert.equal(valueOf(m, 'fp_async_dead_letters_total', { function: once, reason: 'max_attempts' }), 1);
    assert.equal(sumOf(m, 'fp_async_dead_letters_total', { function: flaky }), 0);
    // Every attempt was claimed once: three lag observations, each ready within the test's time.
    assert.equal(valueOf(m, 'fp_async_dispatch_lag_seconds_count', { function: flaky }), 3);
    assert.ok(valueOf(m, 'fp_async_dispatch_lag_seconds_sum', { function: flaky })! < 10);
    // The attempts ran through the gateway: invocations counted there too.
    assert.equal(sumOf(m, 'fp_invocations_total', { function: flaky }), 3);
    // Finished runs leave the queue gauges.
    assert.equal(sumOf(m, 'fp_async_queue_depth', { function: flaky }), 0);
  });

  it('queue gauges: a run waiting behind a busy dispatcher is depth 1 with an age > 0; cancelling it is counted', async () => {
    const slow = fnName('slow');
    const waiting = fnName('waiting');
    await deployed(h.api, slow, SLOW);
    await deployed(h.api, waiting, OK);
    const slowRun = await fireAsync(h.url, slow, '2');
    // The single worker has claimed the slow run once it shows as leased.
    await eventually(metrics, (m) => assert.equal(valueOf(m, 'fp_async_queue_depth', { function: slow, state: 'leased' }), 1));
    const firedAt = performance.now();
    const queued = await fireAsync(h.url, waiting);
    await sleep(300); // time for the run to age: the figure below must show it
    const m = await metrics();
    assert.equal(valueOf(m, 'fp_async_queue_depth', { function: waiting, state: 'ready' }), 1, JSON.stringify([...m.get('fp_async_queue_depth')!.samples, ...m.get('fp_async_attempts_total')!.samples]));
    assert.equal(valueOf(m, 'fp_async_queue_depth', { function: waiting, state: 'delayed' }), 0);
    assert.equal(valueOf(m, 'fp_async_queue_depth', { function: waiting, state: 'leased' }), 0);
    const age = valueOf(m, 'fp_async_queue_oldest_age_seconds', { function: waiting })!;
    // In seconds: at least the wait above, at most the time since the run was sent.
    assert.ok(age >= 0.25 && age <= (performance.now() - firedAt) / 1000, `age ${age}`);
    assert.equal(valueOf(m, 'fp_async_queue_oldest_age_seconds', { function: slow }), 0, 'nothing of slow is waiting');

    const cancel = await h.api.call('POST', `/runs/${queued}/cancel`);
    assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
    const after = await metrics();
    assert.equal(valueOf(after, 'fp_async_runs_cancelled_total', { function: waiting }), 1);
    assert.equal(valueOf(after, 'fp_async_queue_depth', { function: waiting, state: 'ready' }), undefined, 'a function without jobs leaves the gauge');
    assert.equal(await settled(h.api, slowRun), 'succeeded');
  });

  it('webhook verdicts: accepted, a bad signature, a missing one, an unknown trigger', async () => {
    const name = fnName('hook');
    await createFunction(h.api, name);
    const up = await h.api.call('POST', `/functions/${name}/versions`, { files: filesOf(OK), manifest: { kind: 'function', name, triggers: [{ type: 'webhook', id: 'push' }] } });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    await deploy(h.api, name);
    const rotated = await h.api.call('POST', `/functions/${name}/triggers/push/secret/rotate`, { grace: '0s' });
    const secret = rotated.body.secret as string;
    const body = '{"n":1}';
    const post = (path: string, headers: Record<string, string>): Promise<Response> => fetch(`${h.url}/hooks/${name}/${path}`, { method: 'POST', headers, body });
    const sign = (key: string): Record<string, string> => ({ 'x-hub-signature-256': `sha256=${createHmac('sha256', key).update(body).digest('hex')}` });
    assert.equal((await post('push', sign('wrong'))).status, 401);
    assert.equal((await post('push', sign('wrong'))).status, 401);
    assert.equal((await post('push', {})).status, 401);
    assert.equal((await post('nope', sign(secret))).status, 404);
    const accepted = await post('push', sign(secret));
    assert.equal(accepted.status, 202);
    await settled(h.api, ((await accepted.json()) as { runId: string }).runId);
    const m = await metrics();
    const verdict = (v: string): number | undefined => valueOf(m, 'fp_webhook_verdicts_total', { function: name, verdict: v });
    assert.equal(verdict('WEBHOOK_SIGNATURE_INVALID'), 2);
    assert.equal(verdict('WEBHOOK_SIGNATURE_MISSING'), 1);
    assert.equal(verdict('TRIGGER_NOT_FOUND'), 1);
    assert.equal(verdict('accepted'), 1);
  });

  it('cron ticks: a per-second schedule counts fired ticks, and none once paused', async () => {
    const name = fnName('cron');
    await createFunction(h.api, name);
    const up = await h.api.call('POST', `/functions/${name}/versions`, {
      files: filesOf(OK),
      manifest: { kind: 'function', name, triggers: [{ type: 'cron', id: 'each-second', schedule: '* * * * * *' }] },
    });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    await deploy(h.api, name);
    const m = await eventually(metrics, (x) => assert.ok((valueOf(x, 'fp_cron_ticks_total', { function: name, outcome: 'fired' }) ?? 0) >= 2), 15_000);
    assert.equal(sumOf(m, 'fp_cron_ticks_total', { function: name }), valueOf(m, 'fp_cron_ticks_total', { function: name, outcome: 'fired' }), 'one process: every tick fired');
    assert.equal((await h.api.call('POST', `/functions/${name}/pause`, {})).status, 200);
    const paused = sumOf(await metrics(), 'fp_cron_ticks_total', { function: name });
    await sleep(1500);
    assert.equal(sumOf(await metrics(), 'fp_cron_ticks_total', { function: name }), paused, 'a paused function has no ticks');
  });

  it('run sink: records flushed per destination, write latency observed, nothing left buffered', async () => {
    const name = fnName('sync');
    await deployed(h.api, name, OK);
    const before = await metrics();
    const flushedBefore = valueOf(before, 'fp_run_sink_flushed_records_total', { target: 'runs' }) ?? 0;
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${h.url}/fn/${name}/`)).status, 200);
    const m = await eventually(metrics, (x) => {
      assert.ok(valueOf(x, 'fp_run_sink_flushed_records_total', { target: 'runs' })! >= flushedBefore + 5);
      assert.ok(valueOf(x, 'fp_run_sink_flushed_records_total', { target: 'metrics' })! >= 5);
      assert.equal(valueOf(x, 'fp_run_sink_buffered_records', { target: 'runs' }), 0);
    });
    assert.ok(valueOf(m, 'fp_run_sink_flush_duration_seconds_count', { target: 'runs', result: 'ok' })! >= 1);
    assert.equal(sumOf(m, 'fp_run_sink_flush_duration_seconds_count', { result: 'error' }), 0);
    assert.equal(sumOf(m, 'fp_runs_dropped_total'), 0);
  });

  it('two platforms in one process keep their own registries', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'fp-metrics-'));
    const other = await startPlatform({ stateDir, port: 0, poolSize: 1, shutdownGraceMs: 2000, secretsKey: TEST_SECRETS_KEY, log: () => {} });
    const otherToken = other.takeAdminToken() ?? null;
    try {
      const name = fnName('mine');
      await deployed(h.api, name, OK);
      const res = await fetch(`${h.url}/fn/${name}/`);
      assert.equal(res.status, 200, await res.text());
      const [mine, theirs] = await Promise.all([metrics(), scrape(other.url, otherToken)]);
      assertPlatformFamilies(theirs);
      assert.equal(sumOf(mine, 'fp_invocations_total', { function: name }), 1);
      assert.equal(sumOf(theirs, 'fp_invocations_total'), 0, 'the other platform counted nothing');
    } finally {
      await other.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
  // Ops round 2: nothing told an operator which series to alert on. docs/platform.md ("Alerts") now
  // has rules; each names only families this platform exports, with labels their series carry.
  it('the documented alert rules name only families and labels of this exposition', async () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'platform.md'), 'utf8');
    const block = /### Alerts\n[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc);
    assert.ok(block, 'docs/platform.md has an "Alerts" section with a yaml block');
    const rules = (parseYaml(block[1]!) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);
    assert.ok(rules.length >= 8, `${rules.length} rules`);
    // The chart's rule file (its PrometheusRule) is the same rules.
    const chartRules = readFileSync(join(import.meta.dirname, '..', '..', '..', 'deploy', 'helm', 'fastapi-platform', 'alerts', 'fastapi-platform.rules.yaml'), 'utf8');
    assert.deepEqual(parseYaml(chartRules), parseYaml(block[1]!), 'the chart\'s alerts/fastapi-platform.rules.yaml and docs/platform.md differ');
    const m = await metrics();
    const familyOf = (sample: string): string | undefined =>
      m.has(sample) ? sample : [...m.keys()].find((f) => m.get(f)!.type === 'histogram' && /^_(count|sum|bucket)$/.test(sample.slice(f.length)) && sample.startsWith(f));
    for (const { alert, expr } of rules) {
      const selectors = [...expr.matchAll(/\b((?:fp|process|nodejs)_[a-z0-9_]+)(?:\{([^}]*)\})?/g)];
      assert.ok(selectors.length > 0, `${alert}: no platform metric`);
      for (const [, sample, matchers] of selectors) {
        const family = familyOf(sample!);
        assert.ok(family !== undefined, `${alert}: ${sample} is not in /metrics`);
        const series = m.get(family)!.samples;
        const known = new Set(series.flatMap((x) => Object.keys(x.labels)));
        for (const [, label] of (matchers ?? '').matchAll(/([a-z_]+)\s*(?:=~|!=|=)/g)) {
          if (series.length > 0) assert.ok(known.has(label!), `${alert}: ${family} has no label ${label}`);
        }
        for (const [, labels] of expr.matchAll(/by \(([^)]*)\)/g)) {
          for (const label of labels!.split(',').map((l) => l.trim())) {
            if (series.length > 0 && selectors.length === 1) assert.ok(known.has(label), `${alert}: ${family} has no label ${label} (by)`);
          }
        }
      }
    }
  });
});
