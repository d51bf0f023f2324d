/**
 * Chaos round 9: the wall clock of a running platform steps forward by hours (an NTP step, a VM
 * resumed after hours, `date -s`) under a cron trigger, then back over ticks it fired. Before, the ticks
 * the step jumped over passed without a trace: the timer woke past its tick, skipped it as late
 * (`skipped_late`, counted once) and armed the next; no CRON_TICK_MISSED record, the trigger's note
 * not moved, so a later start had nothing to tell either (ADR 0238 covered only a platform that
 * was down). Now they are one CRON_TICK_MISSED record, as an outage's, saying why. The trigger goes
 * on at the new time with no catch-up burst; the step back fires no tick twice (the tick lock
 * holds each one claimed). In-process embedded platform; Date.now is the stepped clock (set
 * before the start, so the scheduler and the stores read it); timers run on the monotonic clock.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startPlatform, type StartedPlatform } from '../../platform/start.js';
import { scrape, sumOf } from '../helpers/prom-text.js';
import { countByTick, startTickSink, ticksIn, untilTicks, uploadCron, type TickSink } from './cron-harness.js';
import { Api, deploy, fnName, sleep, TEST_SECRETS_KEY } from './platform-harness.js';

interface Listed { runId: string; errorCode: string | null; startedAt: number }

describe('a cron trigger on a wall clock stepped forward by hours, then back', { timeout: 90_000 }, () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'fp-cron-step-'));
  const realNow = Date.now;
  let offset = 0;
  let platform: StartedPlatform | undefined;
  let sink: TickSink | undefined;
  after(async () => {
    await platform?.close();
    Date.now = realNow;
    await sink?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('records the ticks jumped over as one CRON_TICK_MISSED run, goes on at the new time, fires none twice after the step back', async () => {
    Date.now = () => realNow() + offset;
    platform = await startPlatform({ port: 0, poolSize: 1, stateDir, secretsKey: TEST_SECRETS_KEY, log: () => {} });
    const api = new Api(platform.url, platform.takeAdminToken() ?? null);
    const name = fnName('stepcron');
    sink = await startTickSink();
    const up = await uploadCron(api, name, sink, [{ type: 'cron', id: 'beat', schedule: '*/2 * * * * *' }]);
    assert.equal(up.status, 201, JSON.stringify(up.body));
    await deploy(api, name);
    await untilTicks(sink, 2);

    const HOURS = 3 * 3_600_000;
    const lastBefore = Date.now();
    offset = HOURS;
    const missedRuns = async (): Promise<Listed[]> => {
      const res = await api.call('GET', `/runs?function=${name}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return (res.body.items as Listed[]).filter((r) => r.errorCode === 'CRON_TICK_MISSED');
    };
    let missed = await missedRuns();
    for (const deadline = realNow() + 15_000; missed.length === 0 && realNow() < deadline;) {
      await sleep(200);
      missed = await missedRuns();
    }
    // Before: [] (skipped as late, nothing recorded).
    assert.equal(missed.length, 1, JSON.stringify(missed));
    const [record] = missed;
    // From the first tick after the last one claimed before the step (within a tick of it).
    assert.ok(Math.abs(record!.startedAt - lastBefore) <= 4_000, `first missed ${new Date(record!.startedAt).toISOString()}, step at ${new Date(lastBefore).toISOString()}`);
    const one = await api.call('GET', `/runs/${record!.runId}`);
    assert.equal(one.status, 200, JSON.stringify(one.body));
    const run = (one.body as { run: { status: string; error: { type: string; message: string } } }).run;
    assert.equal(run.status, 'failed');
    assert.match(run.error.message, /^600 or more ticks \(counted up to 600\) of trigger beat did not run, from \S+ to \S+: the platform process's timer woke after them \(its wall clock stepped forward/);
    const listed = (await api.call('GET', `/functions/${name}/triggers`)).body as { items: { id: string; missed: { lastAt: number | null } | null }[] };
    const beat = listed.items.find((t) => t.id === 'beat');
    assert.ok((beat?.missed?.lastAt ?? 0) > lastBefore, JSON.stringify(listed.items));

    // The trigger goes on at the new time, with no burst: ticks after the step, each once.
    const stepped = realNow() + HOURS;
    const since = (): string[] => ticksIn(sink!).map(([t]) => t).filter((t) => Date.parse(t) >= stepped);
    for (const deadline = realNow() + 20_000; since().length < 4 && realNow() < deadline;) await sleep(100);
    assert.ok(since().length >= 4, `ticks after the step: ${JSON.stringify(since())}`);
    assert.ok(since().length <= 8, `a burst after the step: ${JSON.stringify(since())}`);

    // Back by 6 s, over ticks that fired (a step back of minutes is the same, within the claims' 10
    // minutes): each is claimed again and turned away by the tick lock, none runs twice.
    const locked = async (): Promise<number> => sumOf(await scrape(platform!.url, api.token), 'fp_cron_ticks_total', { function: name, outcome: 'skipped_locked' });
    const lockedBefore = await locked();
    offset = HOURS - 6_000;
    for (const deadline = realNow() + 15_000; (await locked()) < lockedBefore + 2 && realNow() < deadline;) await sleep(200);
    assert.ok((await locked()) >= lockedBefore + 2, 'the ticks of the minute stepped back were not asked again');
    const twice = [...countByTick(sink).entries()].filter(([, n]) => n > 1);
    assert.deepEqual(twice, []);
    assert.equal((await missedRuns()).length, 1);
  });
});
