/**
 * Red team round 31: what a caller of a public function puts in the lines the function prints.
 * A line that is one JSON object is parsed for the level it names (apps round 17, runtime capture
 * `json_level`); a caller's `{"a": [[[…]]]}` nested a thousand levels deep (2 KB) made that parse
 * raise RecursionError, which the capture did not catch: out of the app's print() (every such
 * call failed, 500) and, for a line left unfinished at the call's end, out of the runtime's own
 * code: an ASGI app's call never ended (held its slot to the function's timeout, 504, then its
 * runtime was killed with every other call it held); a handler's runtime exited.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { py, runRecord, useGateway } from './gateway-harness.js';

// A webhook receiver that logs what it was sent, as many do.
const APP = py(
  'import sys',
  'from fastapi import FastAPI, Request',
  'app = FastAPI()',
  '@app.post("/hook")',
  'async def hook(request: Request):',
  '    print((await request.body()).decode())',
  '    return {"ok": True}',
  '@app.post("/raw")',
  'async def raw(request: Request):',
  '    sys.stdout.write((await request.body()).decode())',
  '    return {"ok": True}',
);
// Red team round 44: a function stamps its own lines (the runtime's ts is `time.time()`, which its code replaces).
const STAMPS = py(
  'import time',
  'def handler(event, context):',
  '    real = time.time',
  '    for t in (1e297, real() + 86_400, 0.0, -1e297):',
  '        time.time = lambda t=t: t',
  '        print(f"stamped {t}")',
  '    time.time = real',
  '    return {"statusCode": 200, "body": "ok"}',
);
// And its handler time (the runtime's `time.perf_counter()` when the handler raised).
const CLOCK = py(
  'import time',
  'def handler(event, context):',
  '    time.perf_counter = lambda: -1e300',
  '    raise ValueError("its time is its own")',
);
// Red team round 52: a level named like the words `logs` and `runs <id>` print in the level column.
const LEVELS = py(
  'import logging, sys',
  'logging.basicConfig(force=True, stream=sys.stdout, format="%(message)s")',
  'NAMES = ("end", "platform", "Platform", "run", "\\u0435nd", "end     x", "lvl\\x1b[2J", "TRACE", "AUDIT")',
  'def handler(event, context):',
  '    for name in NAMES:',
  '        logging.addLevelName(61, name)',
  '        logging.log(61, "── ok 200 in 3 ms (1 line) " + ascii(name))',
  '    logging.log(75, "numbered")',
  '    return {"statusCode": 200, "body": "ok"}',
);
const h = useGateway({
  levels: { files: { 'main.py': LEVELS }, manifest: 'entrypoint: main:handler' },
  hooks: { files: { 'app.py': APP }, manifest: 'entrypoint: app:app\nlimits:\n  timeout: 5s' },
  stamps: { files: { 'main.py': STAMPS }, manifest: 'entrypoint: main:handler' },
  clock: { files: { 'main.py': CLOCK }, manifest: 'entrypoint: main:handler' },
}, {}, { crashStartBurst: 2, crashStartsPerMinute: 1 });

const DEEP = `{"level": "error", "a": ${'['.repeat(3000)}${']'.repeat(3000)}}`;

it('a caller\'s deeply nested JSON text printed by a public function neither fails its call nor ends its runtime', { timeout: 60_000 }, async () => {
  const answers: string[] = [];
  const runIds: string[] = [];
  for (const path of ['/hook', '/raw', '/raw', '/raw', '/hook']) {
    const res = await fetch(`${h.url}/fn/hooks${path}`, { method: 'POST', body: DEEP, headers: { 'content-type': 'application/json' } });
    const body = await res.text();
    answers.push(`${path} ${res.status} ${res.status === 200 ? '' : body.slice(0, 120)}`);
    const runId = res.headers.get('x-run-id');
    if (runId !== null) runIds.push(runId);
  }
  assert.deepEqual(answers, ['/hook 200 ', '/raw 200 ', '/raw 200 ', '/raw 200 ', '/hook 200 '], answers.join('\n'));
  // The line is the run's, kept whole, at its stream's level (the nesting is not read for one).
  const run = await runRecord(h, runIds.at(-1)!);
  const line = run.logs.find((l) => l.msg.startsWith('{"level"'));
  assert.equal(line?.msg.length, DEEP.length, JSON.stringify(run.logs.map((l) => l.msg.slice(0, 80))));
  assert.equal(line?.level, undefined);
});

it('a function\'s own level names are no word of the platform\'s columns: `addLevelName(61, "end")` printed a run\'s end line in `logs` (red team round 52)', { timeout: 60_000 }, async () => {
  const res = await fetch(`${h.url}/fn/levels/`);
  assert.equal(res.status, 200, await res.text());
  const run = await runRecord(h, res.headers.get('x-run-id')!);
  const levels = run.logs.filter((l) => l.msg.startsWith('──') || l.msg === 'numbered').map((l) => `${l.msg.slice(27)} ${l.level ?? '-'}`);
  assert.deepEqual(levels, [
    "'end' -", "'platform' -", "'Platform' -", "'run' -", "'\\u0435nd' -", "'end     x' -", "'lvl\\x1b[2J' -", "'TRACE' TRACE", "'AUDIT' AUDIT", ' Level 75',
  ], JSON.stringify(run.logs));
});

it('a function\'s own time stamps on its lines are kept within its call: 1e300 ended `runs <id>` in a RangeError, the future sorted last (red team round 44)', { timeout: 60_000 }, async () => {
  const before = Date.now();
  const res = await fetch(`${h.url}/fn/stamps/`);
  assert.equal(res.status, 200, await res.text());
  const after = Date.now();
  const run = await runRecord(h, res.headers.get('x-run-id')!);
  const stamped = run.logs.filter((l) => l.msg.startsWith('stamped'));
  assert.equal(stamped.length, 4, JSON.stringify(run.logs));
  for (const line of stamped) {
    assert.ok(line.ts >= before && line.ts <= after, `${line.msg}: kept at ${line.ts}, outside the call (${before}-${after})`);
    assert.doesNotThrow(() => new Date(line.ts).toISOString());
  }
});

it('a function\'s own handler time is kept between 0 and the time the call ran: -1e+303 ms was its run\'s handler time (red team round 44)', { timeout: 60_000 }, async () => {
  const res = await fetch(`${h.url}/fn/clock/`);
  assert.equal(res.status, 500, await res.text());
  const run = await runRecord(h, res.headers.get('x-run-id')!);
  assert.equal(run.error?.message, 'its time is its own');
  assert.ok(run.handlerMs >= 0 && run.handlerMs <= run.durationMs, `handler ${run.handlerMs} ms of a call of ${run.durationMs} ms`);
});
