/**
 * Operating the gateway over real HTTP: client aborts, large responses under backpressure,
 * /healthz, /readyz, /metrics, run records, and graceful shutdown.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { describe, it } from 'node:test';
import { createGateway, MemoryRunSink } from '../../gateway/index.js';
import { gatewaySettings, loadConfig } from '../../platform/config.js';
import { parseExposition } from '../helpers/prom-text.js';
import { errorOf, eventually, fnName, py, request, runRecord, useGateway } from './gateway-harness.js';

const SLOW = fnName('slow');
const BIG = fnName('big');
const HELLO = fnName('hello');
const FAILS = fnName('fails');
const TWENTY_MIB = 20 * 1024 * 1024;

const h = useGateway({
  [SLOW]: { files: { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(float(event["query"].get("s", "1")))', '    return "slept"') } },
  [BIG]: {
    files: {
      // 20 MiB of a repeating 0..255 pattern: any lost, duplicated or reordered chunk shows.
      'main.py': py('BLOB = bytes(range(256)) * (20 * 1024 * 1024 // 256)', 'def handler(event, context):', '    return BLOB'),
    },
  },
  [HELLO]: { files: { 'main.py': py('def handler(event, context):', '    print("to stdout")', '    return {"hi": True}') } },
  [FAILS]: { files: { 'main.py': py('def handler(event, context):', '    raise KeyError("nope")') } },
});


/** Resolves once a call of `name` is running in the pool (an event, not a guessed delay). */
async function callRunning(name: string): Promise<void> {
  const busy = (): number => Object.values(h.pool.stats().functions).filter((f) => f.name === name).reduce((n, f) => n + f.busy, 0);
  await eventually(busy, (n) => n > 0);
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

const EXPECTED_BIG = sha256(Buffer.concat(Array.from({ length: TWENTY_MIB / 256 }, () => Buffer.from(Array.from({ length: 256 }, (_, i) => i)))));

describe('client aborts', () => {
  it('a client that goes away mid-call does not hurt the gateway; the next call works', async () => {
    const controller = new AbortController();
    const pending = fetch(`${h.url}/fn/${SLOW}/?s=0.6`, { signal: controller.signal });
    await callRunning(SLOW); // aborted mid-call, not before the call reached the gateway
    controller.abort();
    await assert.rejects(pending, { name: 'AbortError' });

    const health = await fetch(`${h.url}/healthz`);
    assert.equal(health.status, 200);
    const next = await fetch(`${h.url}/fn/${SLOW}/?s=0`);
    assert.equal(next.status, 200);
    assert.equal(await next.json(), 'slept');
    // The aborted call still produces a run record, marked as such, once its handler is done.
    const aborted = await eventually(() => h.runs.list().filter((r) => r.function === SLOW && r.clientAborted), (runs) => runs.length > 0);
    assert.equal(aborted.length, 1);
  });
});

describe('large responses', () => {
  it('a 20 MiB response arrives complete (fetch)', async () => {
    const res = await fetch(`${h.url}/fn/${BIG}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(TWENTY_MIB));
    const body = new Uint8Array(await res.arrayBuffer());
    assert.equal(body.byteLength, TWENTY_MIB);
    assert.equal(sha256(body), EXPECTED_BIG);
  });

  it('a 20 MiB response arrives complete to a client that reads late (backpressure)', async () => {
    const res = await request(`${h.url}/fn/${BIG}/`, { readDelayMs: 300 });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, TWENTY_MIB);
    assert.equal(sha256(res.body), EXPECTED_BIG);
  });
});

describe('health, readiness and metrics', () => {
  it('/healthz answers 200 while the process is alive', async () => {
    const res = await fetch(`${h.url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('/readyz answers 200 with pool stats', async () => {
    const res = await fetch(`${h.url}/readyz`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; functions: number; pool: { generic: number; spawning: number }; starts: { startFailures: number; zygotes: Record<string, { state: string; bypasses: number }> } };
    assert.equal(body.status, 'ready');
    assert.equal(body.functions, 4);
    assert.ok(body.pool.generic + body.pool.spawning > 0);
    // How starting runtimes goes (reliability round 8): none failed, the default zygote not bypassed.
    assert.equal(body.starts.startFailures, 0);
    assert.notEqual(body.starts.zygotes.default?.state, 'bypassed');
  });

  it('/metrics counts invocations, durations, cold starts and pool runtimes', async () => {
    for (let i = 0; i < 2; i++) await (await fetch(`${h.url}/fn/${HELLO}/`)).text();
    await (await fetch(`${h.url}/fn/${FAILS}/`)).text();
    const res = await fetch(`${h.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.match(text, new RegExp(`fp_invocations_total\\{function="${HELLO}",status="ok",cold="true"\\} 1\\n`));
    assert.match(text, new RegExp(`fp_invocations_total\\{function="${HELLO}",status="ok",cold="false"\\} 1\\n`));
    assert.match(text, new RegExp(`fp_invocations_total\\{function="${FAILS}",status="FUNCTION_ERROR",cold="true"\\} 1\\n`));
    assert.match(text, new RegExp(`fp_invocation_duration_seconds_count\\{function="${HELLO}"\\} 2\\n`));
    assert.match(text, new RegExp(`fp_cold_starts_total\\{function="${HELLO}"\\} 1\\n`));
    assert.match(text, /fp_pool_runtimes\{state="generic"\} \d+/);
    assert.match(text, new RegExp(`fp_function_instances\\{function="${HELLO}",state="warm"\\} 1\\n`));
    assert.match(text, new RegExp(`fp_function_queued\\{function="${HELLO}"\\} 0\\n`));
    // A strict read of the whole exposition, the process's default metrics included.
    const families = parseExposition(text);
    assert.equal(families.get('process_cpu_user_seconds_total')?.type, 'counter');
    assert.equal(families.get('nodejs_eventloop_lag_seconds')?.type, 'gauge');
    assert.equal(families.get('fp_invocation_duration_seconds')?.type, 'histogram');
  });
});

describe('run records', () => {
  it('records a success with timings, cold flag and logs', async () => {
    const res = await fetch(`${h.url}/fn/${HELLO}/`);
    await res.text();
    const run = await runRecord(h, res.headers.get('x-run-id')!);
    assert.equal(run.status, 'succeeded');
    assert.equal(run.httpStatus, 200);
    assert.equal(run.trigger, 'http');
    assert.equal(run.function, HELLO);
    assert.equal(run.version, h.registry.get(HELLO)?.version);
    assert.equal(run.errorCode, null);
    assert.equal(run.error, null);
    assert.equal(typeof run.cold, 'boolean');
    for (const key of ['initMs', 'handlerMs', 'queuedMs', 'durationMs'] as const) assert.ok(run[key] >= 0, key);
    assert.ok(Number.isInteger(run.startedAt) && Math.abs(Date.now() - run.startedAt) < 60_000, 'startedAt is Unix ms');
    assert.ok(run.logs.some((l) => l.msg.includes('to stdout')), 'stdout is captured in the run');
  });

  it('records a failure with code, class and error', async () => {
    const res = await fetch(`${h.url}/fn/${FAILS}/`);
    const err = errorOf(await res.text());
    const run = await runRecord(h, err.runId!);
    assert.equal(run.status, 'failed');
    assert.equal(run.httpStatus, 500);
    assert.equal(run.errorCode, 'FUNCTION_ERROR');
    assert.equal(run.errorClass, 'user_error');
    assert.equal(run.error?.type, 'KeyError');
  });
});

describe('graceful shutdown', () => {
  it('lets an in-flight call finish, serves the next call of each open connection and closes it, then stops', async () => {
    // A second gateway on the same pool, so closing it leaves the others' tests alone.
    const runs = new MemoryRunSink();
    const gw = await createGateway({ config: gatewaySettings(loadConfig({ FP_PORT: '0', FP_SHUTDOWN_GRACE_MS: '5000' })), pool: h.pool, registry: h.registry, runSink: runs });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const pooled = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const other = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // Open kept-alive connections first: after close() starts, no new connection is accepted.
      assert.equal((await request(`${gw.url}/healthz`, { agent })).status, 200);
      assert.equal((await request(`${gw.url}/healthz`, { agent: pooled })).status, 200);
      const inFlight = request(`${gw.url}/fn/${SLOW}/?s=0.5`, { agent: other });
      await callRunning(SLOW); // in flight when close() starts
      const closed = gw.close();
      const ready = await request(`${gw.url}/readyz`, { agent });
      assert.equal(ready.status, 503);
      assert.equal((JSON.parse(ready.body.toString()) as { status: string }).status, 'shutting_down');
      // A proxy's pooled connection, idle at the signal: its call is served (ADR 0118; it was
      // refused 503 SHUTTING_DOWN, reliability round 5), and the connection closes with the
      // answer, so the next call goes to a new connection (another gateway; ops round 1).
      const served = await request(`${gw.url}/fn/${HELLO}/`, { agent: pooled });
      assert.equal(served.status, 200, served.body.toString());
      assert.equal(served.headers['connection'], 'close');
      await assert.rejects(request(`${gw.url}/fn/${HELLO}/`, { agent: pooled }), /ECONNREFUSED/);
      const finished = await inFlight;
      assert.equal(finished.status, 200, 'the in-flight call completes');
      assert.equal(finished.headers['connection'], 'close');
      await closed;
      await assert.rejects(fetch(`${gw.url}/healthz`));
    } finally {
      agent.destroy();
      pooled.destroy();
      other.destroy();
      await gw.close();
    }
  });
});
