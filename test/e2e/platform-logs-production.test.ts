/**
 * Live logs across platform processes (production mode: two startPlatform instances on one Redis
 * and FerretDB): `logs --follow` connected to process A gets the lines of a call process B serves,
 * while that call still waits for the test; a stream resumed on a process started after A stopped
 * gets, from the Redis stream, what B's calls wrote meanwhile — no gap, no repeat.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gatedHandler, RawStream, startGate, Tail, type Gate } from './logs-harness.js';
import { deployed, fnName } from './platform-harness.js';
import { clusterOptions, productionSkip, startNode, useServers, type Node } from './production-harness.js';

describe('live logs across two platform processes on one Redis', { skip: productionSkip, timeout: 120_000 }, () => {
  const servers = useServers();
  let options: ReturnType<typeof clusterOptions>;
  let a: Node;
  let b: Node;
  let gate: Gate;
  let configDir: string;
  const tails: Tail[] = [];
  const FN = fnName('plogs');
  const invoke = (node: Node, query: Record<string, string>): Promise<Response> => fetch(`${node.url}/fn/${FN}/?${new URLSearchParams(query)}`);

  before(async () => {
    options = clusterOptions(servers);
    a = await startNode(options);
    b = await startNode(options, a.api.token);
    gate = await startGate();
    configDir = mkdtempSync(join(tmpdir(), 'fp-plogs-'));
    await deployed(a.api, FN, gatedHandler(gate.url));
    // B serves it once the deploy reached it over the config bus.
    for (let i = 0; (await invoke(b, { say: 'deployed?' })).status !== 200; i++) {
      assert.ok(i < 200, 'B never served the function');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(async () => {
    for (const t of tails) t.kill();
    await b?.close();
    await a?.close();
    await gate?.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  it('a tail on A gets the lines of a call B serves, while the call waits for the test', async () => {
    const tail = new Tail(a.url, a.api.token, [FN, '-n', '0'], { FP_CONFIG_DIR: configDir });
    tails.push(tail);
    await tail.waitFor((e) => e.type === 'ready', 'ready');
    // B learns of the tail over Redis pub/sub: until then its lines are not published. Probe until one arrives.
    for (let n = 0; !tail.messages().some((m) => m.startsWith('probe-')); n++) {
      assert.ok(n < 200, 'B never published to the tail on A');
      await invoke(b, { say: `probe-${n}` });
      await new Promise((r) => setTimeout(r, 50));
    }
    const k = Math.random().toString(36).slice(2, 10);
    const call = invoke(b, { say: `from-b-${k}`, wait: k, then: `after-${k}` });
    const line = await tail.line(`from-b-${k}`);
    gate.release(k);
    assert.equal((await call).status, 200);
    await tail.line(`after-${k}`);
    const end = await tail.waitFor((e) => e.type === 'end' && e['runId'] === line['runId'], 'the end of the run');
    assert.equal(end['status'], 'succeeded');
    assert.equal(await tail.stop(), 0);
  });

  it('a stream resumed on a new process gets what B wrote while A was gone, without a gap or a repeat', async () => {
    const k = Math.random().toString(36).slice(2, 10);
    const first = await RawStream.open(`${a.url}/api/v1/functions/${FN}/logs/stream`, { authorization: `Bearer ${a.api.token}` });
    await first.waitFor((e) => e.type === 'ready', 'ready');
    await invoke(b, { say: `before-${k}` });
    const end = await first.waitFor((e) => e.type === 'end' && first.messages().includes(`before-${k}`), 'the first run');
    await first.close();
    await a.close();
    // A is gone; its tail's announcement outlives it (60 s), so B still writes to the stream.
    assert.equal((await invoke(b, { say: `while-away-${k}` })).status, 200);
    a = await startNode(options, b.api.token);
    const resumed = await RawStream.open(`${a.url}/api/v1/functions/${FN}/logs/stream`, { authorization: `Bearer ${a.api.token}`, 'last-event-id': end.id! });
    assert.equal(resumed.status, 200, resumed.text);
    await resumed.waitFor((e) => e.type === 'end', 'the run written while A was gone');
    await resumed.close();
    assert.deepEqual(resumed.events.map((e) => e.type), ['ready', 'logs', 'end']);
    assert.deepEqual(resumed.messages(), [`while-away-${k}`]);
  });
});
