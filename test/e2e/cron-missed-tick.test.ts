/**
 * Loose ends round 10 (ADR 0264 amended): a cron tick claimed by a platform that then stopped before
 * queueing its run is fired by the next start only within `maxLateMs` (60 s); a platform down
 * longer dropped it without a trace. Now that start records it as a failed run of the function,
 * `CRON_TICK_MISSED`, listed by `GET /runs` and `runs <name>`, once however often it restarts.
 * The claim is written into the embedded lock (`cron-ticks.db`) as the killed process left it, for
 * a tick 3 minutes before the restart of a daily schedule at that minute (nothing else fires).
 * Loose ends round 12 (ADR 0238): a second trigger of the same schedule whose lasting note says it
 * was last claimed 3 days ago (the platform was down since): its 3 ticks nobody claimed are ONE
 * record, and `triggers` (CLI and API) shows each trigger's last missed tick and how many since
 * its last fired one (before: no record, and the listing said nothing of missed ticks).
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { missedTickRunId } from '../../controlplane/async/index.js';
import type { ApiTrigger } from '../../cli/client.js';
import { runCli } from '../helpers/cli-harness.js';
import { started, startMain } from './main-harness.js';
import { Api, createFunction, deploy, filesOf, py, sleep } from './platform-harness.js';

describe('a cron tick lost past maxLateMs', { timeout: 120_000 }, () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'fp-cron-missed-'));
  after(() => rmSync(stateDir, { recursive: true, force: true }));

  it('is recorded as a CRON_TICK_MISSED run of its function at the next start, once', async () => {
    const tickMs = Math.floor(Date.now() / 60_000) * 60_000 - 3 * 60_000;
    const at = new Date(tickMs);
    const first = startMain(['--state-dir', stateDir, '--port', '0']);
    const { url, token } = await started(first);
    const api = new Api(url, token!);
    await createFunction(api, 'beat');
    const res = await api.call('POST', '/functions/beat/versions', {
      files: filesOf({ 'main.py': py('def handler(event, context):', '    return {"ok": True}') }),
      manifest: { kind: 'function', name: 'beat', triggers: [
        { type: 'cron', id: 'daily', schedule: `${at.getUTCMinutes()} ${at.getUTCHours()} * * *` },
        { type: 'cron', id: 'down', schedule: `${at.getUTCMinutes()} ${at.getUTCHours()} * * *` },
      ] },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await deploy(api, 'beat');
    first.child.kill('SIGTERM');
    assert.equal((await first.exited).code, 0);
    // As a process killed between the claim and the queue leaves it: claimed, never settled.
    const db = new Database(join(stateDir, 'cron-ticks.db'));
    db.prepare('INSERT INTO ticks (function, trigger_id, tick_ms) VALUES (?, ?, ?)').run('beat', 'daily', tickMs);
    db.prepare('INSERT INTO notes (function, trigger_id, last_tick_ms) VALUES (?, ?, ?)').run('beat', 'daily', tickMs);
    // The other trigger last claimed 3 days ago: the platform was down for its next 3 ticks.
    const DAY = 86_400_000;
    db.prepare('INSERT INTO notes (function, trigger_id, last_tick_ms) VALUES (?, ?, ?)').run('beat', 'down', tickMs - 3 * DAY);
    db.close();

    const runId = missedTickRunId('beat', 'daily', tickMs);
    const outageId = missedTickRunId('beat', 'down', tickMs - 2 * DAY, 'cron-outage');
    const missedRuns = async (u: string): Promise<{ runId: string; errorCode: string | null; trigger: string; startedAt: number }[]> => {
      const listed = await new Api(u, token!).call('GET', '/runs?function=beat');
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      return (listed.body.items as { runId: string; errorCode: string | null; trigger: string; startedAt: number }[]).filter((r) => r.errorCode === 'CRON_TICK_MISSED');
    };
    for (let round = 0; round < 2; round++) {
      const again = startMain(['--state-dir', stateDir, '--port', '0']);
      const up = await started(again);
      let missed: Awaited<ReturnType<typeof missedRuns>> = [];
      for (let i = 0; i < 50 && missed.length < 2; i++) {
        missed = await missedRuns(up.url);
        if (missed.length < 2) await sleep(100);
      }
      // Before: [] (the tick was skipped as late, no record, no log line; the outage's ticks neither).
      assert.deepEqual(missed.map((r) => [r.runId, r.trigger, r.startedAt]).sort(), [[runId, 'cron', tickMs], [outageId, 'cron', tickMs - 2 * DAY]].sort(), `start ${round + 2}`);
      if (round === 0) {
        const outage = (await new Api(up.url, token!).call('GET', `/runs/${outageId}`)).body as { run: { error: { type: string; message: string } } };
        assert.equal(outage.run.error.type, 'CRON_TICK_MISSED');
        assert.match(outage.run.error.message, new RegExp(`^3 ticks of trigger down did not run, from ${new Date(tickMs - 2 * DAY).toISOString()} to ${at.toISOString()}`));
        // The listing: each trigger's last missed tick, and how many since its last fired one.
        const listed = (await new Api(up.url, token!).call('GET', '/functions/beat/triggers')).body as { items: ApiTrigger[] };
        const missedOf = (id: string): unknown => listed.items.flatMap((t) => (t.type === 'cron' && t.id === id ? [t.missed] : []))[0];
        assert.deepEqual(missedOf('daily'), { lastAt: tickMs, sinceLastFired: 1 });
        assert.deepEqual(missedOf('down'), { lastAt: tickMs, sinceLastFired: 3 });
        const triggers = await runCli(['triggers', 'beat', '--url', up.url, '--token', token!], { env: { HOME: tmpdir(), PATH: process.env.PATH ?? '' } });
        assert.match(triggers.stdout, /down .*missed ticks: last \S+ ago, 3 since the last fired tick/, triggers.stdout + triggers.stderr);
        assert.match(triggers.stdout, /daily .*missed ticks: last \S+ ago, 1 since the last fired tick/, triggers.stdout + triggers.stderr);
        const run = (await new Api(up.url, token!).call('GET', `/runs/${runId}`)).body as { run: { status: string; error: { type: string; message: string } } };
        assert.equal(run.run.status, 'failed');
        assert.equal(run.run.error.type, 'CRON_TICK_MISSED');
        assert.match(run.run.error.message, new RegExp(`the tick of ${at.toISOString()} of trigger daily did not run`));
        const shown = await runCli(['runs', 'beat', '--url', up.url, '--token', token!], { env: { HOME: tmpdir(), PATH: process.env.PATH ?? '' } });
        assert.match(shown.stdout, /CRON_TICK_MISSED/, shown.stdout + shown.stderr);
        // Shown as the record it is: no job was queued, so not "its queued state was lost".
        const one = await runCli(['runs', runId, '--url', up.url, '--token', token!], { env: { HOME: tmpdir(), PATH: process.env.PATH ?? '' } });
        assert.match(one.stdout, /CRON_TICK_MISSED/, one.stdout + one.stderr);
        assert.doesNotMatch(one.stdout, /state was lost/);
        const replay = await new Api(up.url, token!).call('POST', `/runs/${runId}/replay`);
        assert.equal(replay.status, 409, JSON.stringify(replay.body));
        assert.equal((replay.body as { error: { code: string; state: string } }).error.state, 'missed');
      }
      again.child.kill('SIGTERM');
      const ended = await again.exited;
      assert.equal(ended.code, 0);
      if (round === 0) assert.match(ended.stdout + ended.stderr, /cron: tick .* of beat\/daily missed: .*CRON_TICK_MISSED/);
    }
  });
});
