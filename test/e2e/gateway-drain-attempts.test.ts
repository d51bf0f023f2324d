/**
 * The drain (SIGTERM: `stopAccepting`, then `close` within the grace) and the dispatcher's attempts.
 * An attempt of a queued run (trigger async, cron, webhook) whose job the dispatcher claimed just
 * before the stop runs through the drain. Refused SHUTTING_DOWN, it was abandoned without running,
 * and its job waited a whole lease (30 s) for another process (reliability round 4: 3 runs of
 * 1 500 sent to two platforms while one was SIGTERMed). Test invokes are still refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fnName, py, useGateway } from './gateway-harness.js';

const name = fnName('drain');
const h = useGateway({ [name]: { files: { 'main.py': py('def handler(event, context):', '    return {"ran": context.attempt}') } } });
const request = { method: 'POST', path: '/', rawQuery: '', headers: [] as [string, string][], body: new Uint8Array(0), attempt: 1 };

describe('attempts of queued runs during the drain', () => {
  it('run after new calls are refused; a test invoke is refused', async () => {
    h.gateway.stopAccepting();
    for (const trigger of ['async', 'cron', 'webhook'] as const) {
      const out = await h.gateway.invoke(name, { ...request, runId: crypto.randomUUID() }, trigger);
      assert.equal(out.status, 200, `${trigger}: ${JSON.stringify(out.error)}`);
      assert.deepEqual(JSON.parse(Buffer.from(out.body).toString()), { ran: 1 });
    }
    const refused = await h.gateway.invoke(name, request, 'test');
    assert.equal(refused.status, 503);
    assert.equal(refused.error?.code, 'SHUTTING_DOWN');
  });
});
