/**
 * Red team round 30: since round 29, a timeout reached while a call's streamed body was still going
 * out spends no start budget after crashes (the pace was its client's). "Still going out" is true
 * of any stream the function has not ended, so a function that sends one piece and then hangs
 * (or streams for ever) under a short timeout was killed and started again at every call without
 * the budget ever holding it: the box churn ADR 0158 bounds (bench 5b: 49-117 boxes a second beside
 * a victim), back for any function author. Only a timeout of CLIENT_PACED_MIN_TIMEOUT_MS or more
 * is taken as its client's pace now (ADR 0167).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { py, useGateway } from './gateway-harness.js';

const APP = py(
  'import time',
  'from fastapi import FastAPI',
  'from fastapi.responses import StreamingResponse',
  'app = FastAPI()',
  '@app.get("/spin")',
  'async def spin():',
  '    async def chunks():',
  '        yield b"x"',
  '        time.sleep(3600)  # hangs the box: the timeout kills it',
  '    return StreamingResponse(chunks(), media_type="application/octet-stream")',
);
const h = useGateway({ churn: { files: { 'app.py': APP }, manifest: 'entrypoint: app:app\nlimits:\n  timeout: 300ms' } }, {}, { crashStartBurst: 2, crashStartsPerMinute: 1 });

it('a function that streams a piece and then hangs past a short timeout spends its start budget after crashes', { timeout: 60_000 }, async () => {
  const codes: string[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${h.url}/fn/churn/spin`);
    const body = await res.text().catch((err: Error) => `(cut: ${err.message})`);
    codes.push(res.status === 503 ? (JSON.parse(body) as { error: { code: string } }).error.code : `${res.status}`);
    if (codes.at(-1) === 'FUNCTION_CRASH_LOOP') break;
  }
  assert.equal(codes.at(-1), 'FUNCTION_CRASH_LOOP', `answers: ${codes.join(', ')}`);
  assert.ok(codes.length <= 4, `held after its burst of 2 (and a start in flight): ${codes.join(', ')}`);
});
