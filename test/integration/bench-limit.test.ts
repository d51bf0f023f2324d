/**
 * The bench's limit baseline (bench/baseline/forwarder.ts + forward_worker.py, issue 11) starts,
 * answers through its Python worker, and keeps pipelined requests apart (each reply to its own
 * request). Speed is the bench's business, not this test's.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { startLimit } from '../../bench/load.js';
import { httpGet } from '../../bench/servers.js';

test('the limit forwarder answers {"ok":true} from its Python worker, also for many requests at once', async (t) => {
  const server = await startLimit();
  t.after(() => server.stop());
  const reply = await httpGet(server.port, '/fn/hello/');
  assert.equal(reply.status, 200);
  assert.deepEqual(JSON.parse(reply.body), { ok: true });
  // 50 requests in flight over keep-alive connections: all answered, none lost or crossed.
  const one = (): Promise<number> => new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path: '/fn/hello/?x=1', method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
  const statuses = await Promise.all(Array.from({ length: 50 }, one));
  assert.deepEqual(new Set(statuses), new Set([200]));
});
