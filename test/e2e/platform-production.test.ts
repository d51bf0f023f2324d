/**
 * The platform in production mode (FP_STORE=production) against a real Redis and FerretDB: the
 * same API, functions kept in MongoDB, usage read from Redis.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deployed, fnName, sleep } from './platform-harness.js';
import { RawWebSocket, WS_ECHO_APP } from '../helpers/ws-client.js';
import { clusterOptions, productionSkip, startNode, usePair, useServers, type Node } from './production-harness.js';
import { callMany, FLAKY, usageWhen } from './usage-harness.js';

describe('platform in production mode', { skip: productionSkip, timeout: 90_000 }, () => {
  const servers = useServers();
  let node: Node;
  before(async () => {
    node = await startNode({ ...clusterOptions(servers), warmReportIntervalMs: 500 });
  });
  after(() => node?.close());

  it('serves a deployed function and reports its usage from Redis', async () => {
    const name = fnName();
    await deployed(node.api, name, FLAKY);
    assert.deepEqual(await callMany(node.url, name, 4), [200, 200, 200, 200]);
    assert.deepEqual(await callMany(node.url, name, 1, '?fail=1'), [500]);
    const u = await usageWhen(node.api, name, (b) => b.invocations === 5); // 15 minutes: the 1-minute window can miss a call made as the minute turns
    assert.deepEqual([u.errors, u.coldStarts, u.state], [1, 1, 'warm']);
    assert.ok(u.warmInstances >= 1);
    assert.ok(u.p95Ms > 0);
    assert.ok(u.lastSuccess !== null);
    const runs = await node.api.call('GET', `/runs?function=${name}`);
    assert.equal(runs.status, 200);
    assert.equal(runs.body.items.length, 5, 'every run is in MongoDB');
    assert.equal((await node.api.call('POST', `/functions/${name}/pause`, {})).status, 200);
    await usageWhen(node.api, name, (b) => b.state === 'paused', '1m');
  });

  it('says at shutdown how many run records it could not write (MongoDB down), instead of dropping them silently', async () => {
    const other = await startNode({ ...clusterOptions(servers), shutdownGraceMs: 500 });
    let closed = false;
    try {
      const name = fnName('lost');
      await deployed(other.api, name, FLAKY);
      await servers.ferret.stop('SIGKILL');
      try {
        assert.deepEqual(await callMany(other.url, name, 3), [200, 200, 200]);
        await other.close();
        closed = true;
      } finally {
        await servers.ferret.start();
      }
      // Before: only "stopped", and the three records were gone without a word (reliability round, N1).
      assert.ok(other.logs.some((l) => /controlplane: stopping with \d+ run records not written \(dropped\)/.test(l)), other.logs.join('\n'));
    } finally {
      if (!closed) await other.close();
    }
  });

  it('warns at start that its Redis takes no password, which any function can indeed reach (docs/security.md, "Network")', async (t) => {
    if (node.platform.isolation.mode === 'off') return t.skip('functions are not sandboxed here: no such warning');
    const port = new URL(servers.redis.url).port;
    assert.ok(node.logs.some((l) => l.startsWith(`platform: warning: Redis at 127.0.0.1:${port} takes commands without a password`)), node.logs.join('\n'));
    const name = fnName('reach');
    await deployed(node.api, name, { 'main.py': [
      'import socket',
      'def handler(event, context):',
      `    s = socket.create_connection(("127.0.0.1", ${port}), timeout=5)`,
      '    s.sendall(b"PING\\r\\n")',
      '    return {"answer": s.recv(16).decode()}',
      '',
    ].join('\n') });
    const res = await fetch(`${node.url}/fn/${name}/`);
    assert.deepEqual(await res.json(), { answer: '+PONG\r\n' }, 'the warning is true: a function reached the open Redis');
  });
});

describe('a WebSocket connection in one process when another pauses its function (red team round 8)', { skip: productionSkip, timeout: 90_000 }, () => {
  const servers = useServers();
  const pair = usePair(servers);

  // The pause reaches the other process by the bus (controlplane/service/sync.ts); without it the
  // connection there went on until the function's timeout (120 s here).
  it('is closed 1001 by the process that serves it', async () => {
    const name = fnName('wsheld');
    await deployed(pair.a.api, name, {
      'main.py': WS_ECHO_APP,
    }, { limits: { timeout: '120s' } });
    let ws: RawWebSocket | null = null;
    for (let i = 0; ws === null && i < 100; i++) {
      ws = await RawWebSocket.connect(`${pair.b.url.replace('http:', 'ws:')}/fn/${name}/ws`).catch(() => null);
      if (ws === null) await sleep(100); // the deploy reaches b by the bus
    }
    assert.ok(ws !== null, 'b never served the function');
    ws.sendText('still here');
    assert.deepEqual(await ws.next(20_000), { kind: 'text', text: 'still here' });
    const closing = ws.closed(30_000);
    assert.equal((await pair.a.api.call('POST', `/functions/${name}/pause`, {})).status, 200);
    const end = await closing;
    assert.deepEqual([end.code, end.reason], [1001, 'the function was paused']);
    ws.destroy();
  });
});
