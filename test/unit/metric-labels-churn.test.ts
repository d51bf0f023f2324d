/**
 * Functions created and deleted one after another (a function per branch, deleted after the merge)
 * give their `function` label back (soak1): before, every name a platform ever served kept its
 * label until a restart, and past the cap (400 names for one workspace) every new function was
 * `_other`: no series of its own for its workspace token, its alerts or its dashboards.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { GatewayMetrics } from '../../gateway/metrics.js';
import type { InvocationPool } from '../../gateway/pool.js';
import { FunctionLabels, functionLabelsOf, OTHER_FUNCTION } from '../../protocol/index.js';

const pool = { stats: () => ({ generic: 0, spawning: 0, specializing: 0, warm: 0, busy: 0, queued: 0, functions: {} }) } as unknown as InvocationPool;
const CYCLES = 1200; // three times the cap of one workspace

describe('function labels: created and deleted again and again', () => {
  it(`${CYCLES} functions, each labelled then deleted: the labels in use return to baseline and a new function still gets its own`, () => {
    const labels = new FunctionLabels();
    labels.of('steady'); // a function that stays
    const baseline = labels.size;
    for (let i = 0; i < CYCLES; i++) {
      const name = `pr-${i}`;
      assert.equal(labels.of(name), name, `branch function ${i} has a label of its own`);
      labels.forget(name);
    }
    assert.equal(labels.size, baseline);
    assert.equal(labels.of('pr-new'), 'pr-new');
    assert.equal(labels.of('steady'), 'steady');
  });

  it('the cap still holds for functions that exist: the 401st of one workspace is _other, and a delete makes room for one', () => {
    const labels = new FunctionLabels();
    for (let i = 0; i < 400; i++) assert.equal(labels.of(`f-${i}.ws`), `f-${i}.ws`);
    assert.equal(labels.of('f-400.ws'), OTHER_FUNCTION);
    labels.forget('f-400.ws'); // never had a label: nothing freed
    assert.equal(labels.of('f-401.ws'), OTHER_FUNCTION);
    labels.forget('f-0.ws');
    assert.equal(labels.of('f-401.ws'), 'f-401.ws');
    assert.equal(labels.of('f-402.ws'), OTHER_FUNCTION);
  });

  it('through the gateway\'s metrics: the series of a new function after many deleted ones are its own', async () => {
    const registry = new Registry();
    const metrics = new GatewayMetrics(pool, { registry, processMetrics: false });
    const labels = functionLabelsOf(registry);
    for (let i = 0; i < CYCLES; i++) {
      const name = `pr-${i}`;
      metrics.observe(labels.of(name), 'ok', false, 0.001);
      labels.forget(name);
    }
    metrics.observe(labels.of('fresh'), 'ok', true, 0.001);
    const body = (await metrics.render()).body;
    assert.match(body, /fp_invocations_total\{function="fresh",status="ok",cold="true"\} 1\n/);
    assert.equal(body.includes(OTHER_FUNCTION), false, 'nothing went to _other');
    assert.equal(body.includes('pr-'), false, 'no deleted function\'s series');
  });
});
