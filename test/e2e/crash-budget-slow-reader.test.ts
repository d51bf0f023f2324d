/**
 * Red team round 29: a caller that stops reading a streamed answer holds the call until its
 * timeout, and the timeout kills the instance. Counted as the function's own crash (ADR 0158), two
 * paused readers (burst 2) made the next caller of the public function get 503 FUNCTION_CRASH_LOOP:
 * anyone could mark it crash-looping. A timeout reached while the call's streamed body was still
 * going out is paced by its client and spends no start budget now.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { it } from 'node:test';
import { py, sleep, useGateway } from './gateway-harness.js';

const APP = py(
  'from fastapi import FastAPI',
  'from fastapi.responses import StreamingResponse',
  'app = FastAPI()',
  '@app.get("/endless")',
  'async def endless():',
  '    async def chunks():',
  '        while True:',
  '            yield b"x" * 65536',
  '    return StreamingResponse(chunks(), media_type="application/octet-stream")',
  '@app.get("/ok")',
  'async def ok():',
  '    return {"ok": True}',
);
const h = useGateway({ victim: { files: { 'app.py': APP }, manifest: 'entrypoint: app:app\nlimits:\n  timeout: 30s' } }, {}, { crashStartBurst: 1, crashStartsPerMinute: 1 });

it('callers that stop reading a streamed answer until its timeout do not spend the function\'s start budget after crashes', { timeout: 120_000 }, async () => {
  // One is enough with a burst of 1: counted, the next start would wait a minute for the budget.
  for (let i = 0; i < 2; i++) {
    let status = 0;
    const req = http.get(`${h.url}/fn/victim/endless`, { agent: false }, (res) => { status = res.statusCode ?? 0; res.pause(); });
    req.on('error', () => {});
    // Past the 30 s timeout (the instance is killed then), with room for a loaded machine.
    await sleep(33_000);
    req.destroy();
    assert.equal(status, 200, 'the stream started');
    const ok = await fetch(`${h.url}/fn/victim/ok`);
    const body = await ok.text();
    assert.equal(ok.status, 200, `after paused reader ${i + 1}: ${body.slice(0, 300)}`);
  }
});
