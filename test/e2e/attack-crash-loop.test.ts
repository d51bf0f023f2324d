/**
 * A tenant whose calls end their own instance (docs/adr/0158-a-start-budget-after-crashes.md),
 * over HTTP against a platform with a small start budget after crashes (2 back to back, 12 a
 * minute: one every 5 s): the crash loop meets the budget and its callers and run records say so,
 * another tenant's calls go on, a deploy resets it, it comes back on its own, and it holds for a
 * WebSocket app's connections and for an async run's retries.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RawWebSocket, type WsRefused } from '../helpers/ws-client.js';
import { createFunction, deploy, deployed, newTenant, py, until, upload, usePlatform } from './platform-harness.js';

const h = usePlatform({ poolSize: 2, crashStartBurst: 2, crashStartsPerMinute: 12 });

const EXITS = { 'main.py': py('import os', 'def handler(event, context):', '    os._exit(3)') };
/** Timeout 2 s: shorter than the 5 s the budget takes to give back a start, so a call past it is refused at once. */
const SHORT = { limits: { timeout: '2s' } };

interface Answer { status: number; code: string | null; retryAfter: string | null; runId: string | null }

async function call(url: string): Promise<Answer> {
  const res = await fetch(url);
  const text = await res.text();
  const error = res.status >= 400 ? (JSON.parse(text) as { error?: { code?: string; runId?: string } }).error : undefined;
  return { status: res.status, code: error?.code ?? null, retryAfter: res.headers.get('retry-after'), runId: error?.runId ?? null };
}

describe('attack: calls that end their own instance meet the start budget after crashes', () => {
  it('a crash loop meets the budget (503 FUNCTION_CRASH_LOOP, Retry-After, a run record saying why) while another tenant\'s calls succeed; a deploy resets it; it comes back', { timeout: 120_000 }, async () => {
    const attacker = await newTenant(h);
    const victim = await newTenant(h);
    await deployed(attacker.api, 'boom', EXITS, SHORT, { check: false });
    await deployed(victim.api, 'shop', { 'main.py': py('def handler(event, context):', '    return {"ok": 1}') });
    const boom = `${h.url}/fn/boom.${attacker.name}/`;
    const shop = `${h.url}/fn/shop.${victim.name}/`;

    const answers: Answer[] = [];
    for (let i = 0; i < 6; i++) {
      answers.push(await call(boom));
      // The other tenant, between each of them (its first call a cold start): always served.
      assert.equal((await call(shop)).status, 200);
    }
    assert.deepEqual(answers.slice(0, 2).map((a) => a.code), ['RUNTIME_CRASHED', 'RUNTIME_CRASHED'], 'within the budget nothing changes');
    for (const refused of answers.slice(2)) {
      assert.equal(refused.status, 503, JSON.stringify(refused));
      assert.equal(refused.code, 'FUNCTION_CRASH_LOOP');
      assert.ok(Number(refused.retryAfter) >= 1, `Retry-After ${refused.retryAfter}`);
    }
    // The run record says why, as the caller was told.
    const record = await attacker.api.call('GET', `/runs/${answers[2]!.runId}`);
    assert.equal(record.status, 200, JSON.stringify(record.body));
    assert.equal(record.body.run.errorCode, 'FUNCTION_CRASH_LOOP', JSON.stringify(record.body.run));
    assert.match(record.body.run.error.message, /ended 2 times lately/);

    // A deploy of a new version (still broken) starts with a full budget: crashes, not refusals.
    await deploy(attacker.api, 'boom', await upload(attacker.api, 'boom', { 'main.py': py('import os', 'def handler(event, context):', '    os._exit(4)') }), { check: false });
    assert.equal((await call(boom)).code, 'RUNTIME_CRASHED', 'the deploy reset the budget');
    assert.equal((await call(boom)).code, 'RUNTIME_CRASHED');
    assert.equal((await call(boom)).code, 'FUNCTION_CRASH_LOOP');

    // It comes back on its own: a start is allowed again (and the instance crashes again).
    await until('the budget to give back a start', async () => (await call(boom)).code === 'RUNTIME_CRASHED', 30_000);
    assert.equal((await call(shop)).status, 200);
  });

  it('holds for a WebSocket app whose connections end its instance: past the budget the handshake is refused with the code', { timeout: 120_000 }, async () => {
    const t = await newTenant(h);
    const app = py(
      'import os',
      'from fastapi import FastAPI, WebSocket',
      'app = FastAPI()',
      '@app.websocket("/ws")',
      'async def ws(sock: WebSocket):',
      '    await sock.accept()',
      '    os._exit(3)',
    );
    await createFunction(t.api, 'chat', SHORT);
    await deploy(t.api, 'chat', await upload(t.api, 'chat', { 'main.py': app }, { entrypoint: 'main:app' }), { check: false });
    const url = `${h.url.replace('http', 'ws')}/fn/chat.${t.name}/ws`;
    const refusals: string[] = [];
    for (let i = 0; i < 5 && refusals.length === 0; i++) {
      try {
        const ws = await RawWebSocket.connect(url);
        await ws.tcpEnded(30_000); // the instance ended under it
      } catch (err) {
        const body = (err as WsRefused).body;
        if (body !== undefined && body.includes('FUNCTION_CRASH_LOOP')) refusals.push(body);
      }
    }
    assert.equal(refusals.length, 1, 'a handshake was refused with FUNCTION_CRASH_LOOP');
  });

  it('holds for an async run with retries: its attempts past the budget wait or are refused, the run fails naming it', { timeout: 120_000 }, async () => {
    const t = await newTenant(h);
    await deployed(t.api, 'job', EXITS, { ...SHORT, invocation: 'async', retry: { maxAttempts: 5, backoff: '10ms', maxBackoff: '20ms' } }, { check: false });
    const accepted = await fetch(`${h.url}/async/job.${t.name}/`, { method: 'POST' });
    assert.equal(accepted.status, 202);
    const { runId } = (await accepted.json()) as { runId: string };
    let run: { state: string; attempts?: { errorCode: string | null }[] } = { state: '' };
    await until('the run to fail', async () => {
      run = (await t.api.call('GET', `/runs/${runId}`)).body.run;
      return run.state === 'failed';
    }, 60_000);
    // Two attempts crashed; the later ones met the budget (5 s per start, a 2 s timeout).
    const codes = (run.attempts ?? []).map((a) => a.errorCode);
    assert.deepEqual(codes.slice(0, 2), ['RUNTIME_CRASHED', 'RUNTIME_CRASHED'], JSON.stringify(codes));
    assert.equal(codes.at(-1), 'FUNCTION_CRASH_LOOP', JSON.stringify(codes));
  });
});
