/**
 * Cron triggers end to end (issue 5), embedded platform with Python runtimes: a per-second
 * schedule in the manifest fires through the async path (runs with trigger `cron`, one per tick),
 * pause stops it, and a bad schedule or time zone is refused at upload (400 naming the field).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPlatform, type StartedPlatform } from '../../platform/start.js';
import { countByTick, cronManifest, queueDrained, startTickSink, ticksIn, untilTicks, uploadCron, type TickSink } from './cron-harness.js';
import { Api, createFunction, deploy, errorOf, filesOf, fnName, py, sleep, TEST_SECRETS_KEY } from './platform-harness.js';

describe('cron triggers (embedded platform)', { timeout: 60_000 }, () => {
  let stateDir: string;
  let platform: StartedPlatform;
  let api: Api;
  let sink: TickSink;
  const logs: string[] = [];

  before(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'fp-cron-'));
    sink = await startTickSink();
    platform = await startPlatform({ stateDir, port: 0, poolSize: 2, shutdownGraceMs: 2000, secretsKey: TEST_SECRETS_KEY, log: (line) => logs.push(line) });
    api = new Api(platform.url, platform.takeAdminToken() ?? null);
  });
  after(async () => {
    await platform?.close();
    await sink?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('a per-second schedule runs once per tick with trigger cron; pause stops it', async () => {
    const name = fnName('tick');
    const up = await uploadCron(api, name, sink, [{ type: 'cron', schedule: '* * * * * *', payload: { hello: 1 } }]);
    assert.equal(up.status, 201, JSON.stringify(up.body));
    await deploy(api, name);
    await untilTicks(sink, 2);
    const seen = ticksIn(sink);
    assert.ok(seen.length >= 2, `ticks: ${JSON.stringify(seen)} logs: ${logs.join('\n')}`);
    assert.ok([...countByTick(sink).values()].every((n) => n === 1), JSON.stringify(seen));
    assert.ok(seen.every(([tick, body]) => tick.endsWith('.000Z') && body === '{"hello":1}'), JSON.stringify(seen));
    // The ticks' run records are written once their attempts end, in batches: wait for them.
    const cronRunsOf = async (): Promise<{ trigger: string; runId: string }[]> => {
      const runs = await api.call('GET', `/runs?function=${name}`);
      assert.equal(runs.status, 200, JSON.stringify(runs.body));
      return (runs.body.items as { trigger: string; runId: string }[]).filter((r) => r.trigger === 'cron');
    };
    let cronRuns = await cronRunsOf();
    for (const deadline = Date.now() + 15_000; cronRuns.length < 2 && Date.now() < deadline; cronRuns = await cronRunsOf()) await sleep(50);
    assert.ok(cronRuns.length >= 2, JSON.stringify(cronRuns));
    assert.equal(new Set(cronRuns.map((r) => r.runId)).size, cronRuns.length);
    // The tick's async run reports its trigger.
    const shown = await api.call('GET', `/runs/${cronRuns[0]!.runId}`);
    assert.equal(shown.status, 200, JSON.stringify(shown.body));
    assert.equal(shown.body.run.trigger, 'cron');
    // A caller's Idempotency-Key lives in the function's own key space: sending a tick's key
    // (`cron:<function>:<triggerId>:<tickMs>`) neither answers the tick's run nor pre-empts a tick.
    const tickMs = Date.parse(seen[0]![0]);
    const same = await fetch(`${platform.url}/async/${name}`, { method: 'POST', headers: { 'idempotency-key': `cron:${name}:cron-0:${tickMs}` }, body: '{}' });
    assert.equal(same.status, 202);
    const posted = (await same.json()) as { runId: string };
    assert.ok(!cronRuns.some((r) => r.runId === posted.runId), 'a caller reached a tick\'s run through its key');

    assert.equal((await api.call('POST', `/functions/${name}/pause`, {})).status, 200);
    await queueDrained(api, name); // a tick claimed just before the pause may still run
    const paused = ticksIn(sink).length;
    await sleep(1500); // a second and a half of schedule in which nothing may run
    assert.equal(ticksIn(sink).length, paused, 'no runs while paused');
  });

  it('event: lambda gets EventBridge\'s scheduled event for a tick (the payload\'s JSON with one), as Lambda code moved from AWS reads it', async (t) => {
    const name = fnName('bridge');
    const sink = await startTickSink();
    t.after(() => sink.close());
    await createFunction(api, name, { env: { OUT_URL: sink.url } });
    const up = await api.call('POST', `/functions/${name}/versions`, {
      files: filesOf({ 'main.py': py(
        'import json, os, urllib.request',
        'def handler(event, context):',
        '    line = json.dumps({"event": event, "runId": context.aws_request_id}).encode()',
        '    urllib.request.urlopen(urllib.request.Request(os.environ["OUT_URL"], data=line), timeout=5).read()',
        '    return {"source": event.get("source"), "detail": event.get("detail")}',
      ) }),
      manifest: { ...cronManifest(name, [{ type: 'cron', id: 'nightly', schedule: '* * * * * *' }, { type: 'cron', id: 'input', schedule: '* * * * * *', payload: { job: 'sync' } }]), event: 'lambda' },
    });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    await deploy(api, name);
    type Seen = { event: Record<string, unknown>; runId: string };
    const seen = (): Seen[] => sink.lines.map((l) => JSON.parse(l) as Seen);
    for (const deadline = Date.now() + 15_000; !(seen().some((s) => 'detail' in s.event) && seen().some((s) => 'job' in s.event)) && Date.now() < deadline;) await sleep(50);
    assert.equal((await api.call('POST', `/functions/${name}/pause`, {})).status, 200);
    const scheduled = seen().find((s) => 'detail' in s.event);
    assert.ok(scheduled !== undefined, sink.lines.join('\n'));
    const { time, id, ...rest } = scheduled.event;
    // Before: API Gateway's event of a `POST /` (event["detail"] a KeyError).
    assert.deepEqual(rest, {
      version: '0', 'detail-type': 'Scheduled Event', source: 'aws.events', account: '000000000000', region: 'local',
      resources: ['arn:fp:events:local:000000000000:rule/nightly'], detail: {},
    });
    assert.match(String(time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'EventBridge\'s time: whole seconds, no fraction');
    assert.equal(id, scheduled.runId, 'the run\'s id, the same in a retried attempt');
    // With a payload: the payload as the event, as EventBridge gives a rule's constant Input.
    assert.deepEqual(seen().find((s) => 'job' in s.event)?.event, { job: 'sync' });
  });

  it('refuses a bad schedule or time zone at upload: 400 with the field, nothing deployed', async (t) => {
    const name = fnName('bad');
    const sink = await startTickSink(); // its own: the first test's function may still report a last tick
    t.after(() => sink.close());
    const bad = await uploadCron(api, name, sink, [{ type: 'cron', schedule: '*/5 * * * *' }, { type: 'cron', schedule: '61 * * * *' }]);
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.equal(errorOf(bad).field, 'manifest.triggers[1].schedule');
    const zone = await api.call('POST', `/functions/${name}/versions`, {
      files: [{ path: 'main.py', contentBase64: Buffer.from('def handler(e, c):\n    return 1\n').toString('base64') }],
      manifest: { kind: 'function', name, triggers: [{ type: 'cron', schedule: '* * * * *', timezone: 'Mars/Olympus' }] },
    });
    assert.equal(zone.status, 400, JSON.stringify(zone.body));
    assert.equal(errorOf(zone).field, 'manifest.triggers[0].timezone');
    const versions = await api.call('GET', `/functions/${name}/versions`);
    assert.equal(versions.status, 200);
    assert.equal(versions.body.items.length, 0, JSON.stringify(versions.body));
    const fn = await api.call('GET', `/functions/${name}`);
    assert.equal(fn.body.function.activeVersion, null, JSON.stringify(fn.body));
    await sleep(1200);
    assert.equal(ticksIn(sink).length, 0);
  });

  // Every tick was a run of `POST /`: Vercel's crons call `GET /api/cron`, and a FastAPI app moved
  // over answered every tick 404 (apps round 21). The trigger's `method` and `path` say where (ADR 0175).
  it("a trigger's method and path are where each tick calls the app; a GET tick with a payload is refused", async () => {
    const name = fnName('at');
    await createFunction(api, name);
    const files = filesOf({ 'main.py': py('def handler(event, context):', '    return {"method": event["method"], "path": event["path"], "body": event["body"].decode()}') });
    const up = await api.call('POST', `/functions/${name}/versions`, { files, manifest: { kind: 'function', name, triggers: [{ type: 'cron', schedule: '* * * * * *', method: 'GET', path: '/api/cron' }] } });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    await deploy(api, name);
    const listed = await api.call('GET', `/functions/${name}/triggers`);
    const cron = (listed.body.items as { type: string; method?: string; path?: string }[]).find((t) => t.type === 'cron');
    assert.deepEqual([cron?.method, cron?.path], ['GET', '/api/cron'], JSON.stringify(listed.body));
    let result: unknown;
    for (const deadline = Date.now() + 15_000; result === undefined && Date.now() < deadline; await sleep(100)) {
      const runs = await api.call('GET', `/runs?function=${name}&trigger=cron`);
      const id = (runs.body.items as { runId: string }[] | undefined)?.[0]?.runId;
      if (id === undefined) continue;
      const run = await api.call('GET', `/runs/${id}`);
      if (run.body.run?.state === 'succeeded') result = run.body.run.result.body;
    }
    assert.deepEqual(result, { method: 'GET', path: '/api/cron', body: '' });
    assert.equal((await api.call('POST', `/functions/${name}/pause`, {})).status, 200);

    const bad = await api.call('POST', `/functions/${name}/versions`, { files, manifest: { kind: 'function', name, triggers: [{ type: 'cron', schedule: '* * * * *', method: 'GET', payload: { a: 1 } }] } });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.equal(errorOf(bad).field, 'manifest.triggers[0].payload');
    assert.match(String(errorOf(bad)['message']), /a GET tick has no body/);
  });
});
