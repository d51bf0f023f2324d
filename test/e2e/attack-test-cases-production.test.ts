/**
 * Red team round 9 (red12): saved test cases at once against the production store. A function's
 * test cases hold at most 1 MiB together (red team round 7), checked by reading them before the
 * save: in production each read and write is a round trip to FerretDB, so saves of distinct cases
 * sent at once each read the same cases and all passed the check.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterOptions, productionSkip, startNode, useServers, type Node } from './production-harness.js';

describe('attack: test cases saved at once (production)', { skip: productionSkip }, () => {
  const servers = useServers();
  const nodes: Node[] = [];
  before(async () => {
    nodes.push(await startNode({ ...clusterOptions(servers) }));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.close()));
  });

  it('40 saves of 300 KiB at once leave at most 1 MiB of test cases', { timeout: 120_000 }, async () => {
    const api = nodes[0]!.api;
    assert.equal((await api.call('POST', '/functions', { name: 'cases' })).status, 201);
    const big = { mode: 'sync', request: { body: 'x'.repeat(300 * 1024) } };
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => api.call('PUT', `/functions/cases/test-cases/c${i}`, big).then((r) => r.status)));
    const list = await api.call('GET', '/functions/cases/test-cases');
    const stored = (list.body.items as unknown[]).length;
    assert.ok(stored <= 3, `${stored} cases of 300 KiB stored (${statuses.filter((s) => s === 200).length} saves answered 200)`);
  });
});
