/**
 * The gateway's invocation metrics are counted in plain numbers (issue 11: prom-client hashes the
 * labels on every observation) and rendered at scrape time: the text must be what prom-client's
 * own Counter and Histogram give for the same calls.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { GatewayMetrics } from '../../gateway/metrics.js';
import type { InvocationPool } from '../../gateway/pool.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const pool = { stats: () => ({ generic: 0, spawning: 0, specializing: 0, warm: 0, busy: 0, queued: 0, functions: {} }) } as unknown as InvocationPool;

/** The lines of one family (its HELP, TYPE and samples). */
function family(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name}_`) || l.startsWith(`${name} `) || l.endsWith(` ${name} counter`)
    || l.endsWith(` ${name} histogram`) || l.startsWith(`# HELP ${name} `));
}

describe('gateway metrics text', () => {
  it('fp_invocations_total and fp_invocation_duration_seconds render as prom-client renders them', async () => {
    const metrics = new GatewayMetrics(pool, { processMetrics: false });
    const reference = new Registry();
    const counter = new Counter({ name: 'fp_invocations_total', help: 'Function invocations by outcome: status is ok or an error code.', labelNames: ['function', 'status', 'cold'], registers: [reference] });
    const histogram = new Histogram({ name: 'fp_invocation_duration_seconds', help: 'Gateway-measured invocation time, request arrival to response ready.', labelNames: ['function'], buckets: BUCKETS, registers: [reference] });
    const calls: [string, 'ok' | 'FUNCTION_ERROR' | 'FUNCTION_TIMEOUT', boolean, number][] = [
      ['hello', 'ok', true, 0.4], ['hello', 'ok', false, 0.001], ['hello', 'ok', false, 0.0010001], ['shop', 'FUNCTION_ERROR', false, 12],
      ['hello', 'FUNCTION_TIMEOUT', false, 301], ['shop', 'ok', false, 0], ['hello', 'ok', false, 300], ['shop', 'FUNCTION_ERROR', false, 0.03],
    ];
    const feed = (from: number, to: number): void => {
      for (const [fn, status, cold, seconds] of calls.slice(from, to)) {
        metrics.observe(fn, status, cold, seconds);
        counter.inc({ function: fn, status, cold: cold ? 'true' : 'false' });
        histogram.observe({ function: fn }, seconds);
      }
    };
    const compare = async (): Promise<void> => {
      const ours = (await metrics.render()).body;
      const theirs = await reference.metrics();
      assert.deepEqual(family(ours, 'fp_invocation_duration_seconds'), family(theirs, 'fp_invocation_duration_seconds'));
      // Series of a counter may come in another order (they are added at scrape time): compared as sets.
      assert.deepEqual(family(ours, 'fp_invocations_total').sort(), family(theirs, 'fp_invocations_total').sort());
      assert.ok(family(ours, 'fp_invocations_total').length > 2);
    };
    feed(0, 4);
    await compare();
    await compare(); // a second scrape adds nothing twice
    feed(4, calls.length);
    await compare();
    assert.match((await metrics.render()).body, /^fp_invocation_duration_seconds_count\{function="hello"\} 5$/m);
    assert.match((await metrics.render()).body, /^fp_invocations_total\{function="hello",status="ok",cold="false"\} 3$/m);
  });
});
