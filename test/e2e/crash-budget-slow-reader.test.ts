/**
 * Red team round 29: a caller that stops reading a streamed answer, or reads an endless event
 * stream, holds the call until its timeout, and the timeout kills the instance. Counted as the
 * function's own crash (ADR 0158), two such callers (burst 2) made the next caller of the public
 * function get 503 FUNCTION_CRASH_LOOP: anyone could mark it crash-looping. A timeout reached while
 * the call's streamed body was still going out is paced by its client and spends no start budget
 * now, under a timeout of CLIENT_PACED_MIN_TIMEOUT_MS (30 s) or more (red team round 30: under a
 * short one, a function streaming a piece and hanging churned boxes with no budget; ADR 0167,
 * attack-crash-budget-stream). A reader that stops altogether is cut by uWS's idle timeout (~10 s)
 * before such a timeout; one that reads, an event stream's, keeps the call to its deadline.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { py, useGateway } from './gateway-harness.js';

const APP = py(
  'import asyncio',
  'from fastapi import FastAPI',
  'from fastapi.responses import StreamingResponse',
  'app = FastAPI()',
  '@app.get("/events")',
  'async def events():',
  '    async def feed():',
  '        while True:',
  '            yield b"data: tick\\n\\n"',
  '            await asyncio.sleep(0.2)',
  '    return StreamingResponse(feed(), media_type="text/event-stream")',
  '@app.get("/ok")',
  'async def ok():',
  '    return {"ok": True}',
);
// Burst 1: one counted end and the next start waits a minute, past the /ok call's 5 s. The
// client-paced threshold (CLIENT_PACED_MIN_TIMEOUT_MS, 30 s) is set to the function's 5 s timeout:
// the test is about the kill at that timeout, not its 30 s (it waited 30 s of its 31 s in CI).
const TIMEOUT_MS = 5000;
const h = useGateway({ victim: { files: { 'app.py': APP }, manifest: `entrypoint: app:app\nlimits:\n  timeout: ${TIMEOUT_MS / 1000}s` } }, {}, { crashStartBurst: 1, crashStartsPerMinute: 1, clientPacedMinTimeoutMs: TIMEOUT_MS });

it('a client reading an endless event stream to the function\'s deadline (at least the client-paced threshold) does not spend its start budget after crashes', { timeout: 120_000 }, async () => {
  const res = await fetch(`${h.url}/fn/victim/events`);
  assert.equal(res.status, 200, 'the stream started');
  let bytes = 0;
  let ended = '';
  try {
    for await (const chunk of res.body!) bytes += (chunk as Uint8Array).byteLength;
    ended = 'ended';
  } catch (err) {
    ended = `cut: ${(err as Error).message}`; // the instance killed at the deadline
  }
  assert.ok(bytes > 0, `events came (${ended})`);
  const ok = await fetch(`${h.url}/fn/victim/ok`);
  const body = await ok.text();
  assert.equal(ok.status, 200, `after the stream's deadline: ${body.slice(0, 300)}`);
});
