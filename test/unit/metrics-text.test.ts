/**
 * The strict exposition reader the /metrics tests rely on (test/helpers/prom-text.ts): it reads what
 * prom-client writes and refuses what breaks the text format; and the shared `function` label cap.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FunctionLabels, functionLabelsOf, OTHER_FUNCTION } from '../../protocol/index.js';
import { parseExposition, sumOf, valueOf } from '../helpers/prom-text.js';

describe('exposition reader', () => {
  it('reads prom-client output: escapes, labels, histograms, NaN', async () => {
    const registry = new Registry();
    const registers = [registry];
    new Counter({ name: 'fp_things_total', help: 'a "help" with \\ and\nnewline', labelNames: ['l'], registers }).inc({ l: 'q"\\\n' }, 2);
    new Gauge({ name: 'fp_nan', help: 'not a number', registers }).set(NaN);
    const h = new Histogram({ name: 'fp_wait_seconds', help: 'h', labelNames: ['f'], buckets: [0.1, 1], registers });
    h.observe({ f: 'a' }, 0.5);
    h.observe({ f: 'a' }, 5);
    const m = parseExposition(await registry.metrics());
    assert.equal(m.get('fp_things_total')?.help, 'a "help" with \\ and\nnewline');
    assert.equal(valueOf(m, 'fp_things_total', { l: 'q"\\\n' }), 2);
    assert.ok(Number.isNaN(valueOf(m, 'fp_nan')));
    assert.equal(valueOf(m, 'fp_wait_seconds_bucket', { f: 'a', le: '1' }), 1);
    assert.equal(valueOf(m, 'fp_wait_seconds_count', { f: 'a' }), 2);
    assert.equal(sumOf(m, 'fp_wait_seconds_bucket', { f: 'a' }), 3);
  });

  it('refuses what breaks the format', () => {
    const bad: Record<string, string> = {
      'no TYPE or HELP': 'x 1\n',
      'no newline at the end': '# HELP x h\n# TYPE x gauge\nx 1',
      'bad value': '# HELP x h\n# TYPE x gauge\nx one\n',
      'bad escape': '# HELP x h\n# TYPE x gauge\nx{a="\\t"} 1\n',
      'unquoted label': '# HELP x h\n# TYPE x gauge\nx{a=1} 1\n',
      'series twice': '# HELP x h\n# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n',
      'not contiguous': '# HELP x h\n# TYPE x gauge\nx 1\n# HELP y h\n# TYPE y gauge\ny 1\nx{a="2"} 1\n',
      'TYPE twice': '# HELP x h\n# TYPE x gauge\n# TYPE x gauge\nx 1\n',
      'no HELP': '# TYPE x gauge\nx 1\n',
      'negative counter': '# HELP x_total h\n# TYPE x_total counter\nx_total -1\n',
      'fp counter without _total': '# HELP fp_x h\n# TYPE fp_x counter\nfp_x 1\n',
      'histogram not cumulative': '# HELP h h\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      'histogram without +Inf': '# HELP h h\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
      'bare histogram sample': '# HELP h h\n# TYPE h histogram\nh 1\n',
    };
    for (const [why, text] of Object.entries(bad)) assert.throws(() => parseExposition(text), Error, why);
  });
});

describe('function labels', () => {
  it('keeps the last fifth for workspaces holding less than a tenth: one workspace cannot take them all', () => {
    const labels = new FunctionLabels(20); // 4 reserved, "small" below 2
    const greedy = Array.from({ length: 30 }, (_, i) => labels.of(`f${i}.greedy`));
    assert.equal(greedy.filter((l) => l !== OTHER_FUNCTION).length, 16, 'the greedy workspace stops at max - reserved');
    // Every other workspace still gets its first labels, up to the small share each, while room is left.
    assert.deepEqual(['a.one', 'b.one', 'c.one'].map((n) => labels.of(n)), ['a.one', 'b.one', OTHER_FUNCTION]);
    assert.deepEqual(['a', 'b'].map((n) => labels.of(n)), ['a', 'b'], 'the default workspace too');
    assert.equal(labels.of('x.two'), OTHER_FUNCTION, 'the cap is full');
    assert.equal(labels.of('f0.greedy'), 'f0.greedy', 'a label once given stays');
  });

  it('names the first `max` functions, then _other; one cap per registry', () => {
    const labels = new FunctionLabels(2);
    assert.deepEqual(['a', 'b', 'c', 'a', 'd'].map((n) => labels.of(n)), ['a', 'b', OTHER_FUNCTION, 'a', OTHER_FUNCTION]);
    const registry = new Registry();
    assert.equal(functionLabelsOf(registry, 1), functionLabelsOf(registry));
    assert.equal(functionLabelsOf(registry).max, 1);
    assert.notEqual(functionLabelsOf(new Registry()), functionLabelsOf(registry));
  });
});
