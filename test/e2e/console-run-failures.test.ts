/**
 * Console round 7: how the Runs tab shows the failures the platform changed since round 6.
 * - A run the function answered 5xx itself is failed (ADR 0185): its detail says so and why, with
 *   its HTTP status as `runs <id>` prints it (it said "failed" and nothing else); so is an async
 *   run's attempt it answered 4xx (loose ends round 6: listed `succeeded 404`).
 * - A queued run whose async state was lost (ADR 0193; here its rows are deleted from the embedded
 *   async.db, as a Redis FLUSHALL would lose them): its detail says so and offers no Replay, and the
 *   API refuses the replay with RUN_NOT_REPLAYABLE (Replay was offered and the API answered
 *   RUN_NOT_FOUND under the run it had just shown; ADR 0226).
 * - A refused replay's error is not carried to the next run opened.
 * - A read the platform did not answer (NETWORK) is tried again until it answers: the Runs tab kept
 *   its NETWORK error after the platform was back, under a header that said it was, until Refresh.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';
import { deployed, fnName, py } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

/** Forgets an async run's state as a Redis data loss does: its index row, timeline, attempts and dead letter. */
function loseAsyncState(runId: string): void {
  const db = new Database(join(c.platform.stateDir, 'async.db'));
  try {
    db.pragma('busy_timeout = 5000');
    for (const table of ['async_runs', 'transitions', 'attempts', 'dead', 'jobs']) db.prepare(`DELETE FROM ${table} WHERE run_id = ?`).run(runId);
  } finally {
    db.close();
  }
}

async function finalState(runId: string, want: string): Promise<void> {
  await eventually(async () => assert.equal((await c.platform.api.call('GET', `/runs/${runId}`)).body.run?.state, want));
}

describe('the console shows the failures of console round 7', { skip }, () => {
  it('says a run the function answered 5xx itself failed, and why, with its HTTP status as `runs <id>` does', async () => {
    const name = fnName('five');
    await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    if event["query"].get("raise"):', '        raise RuntimeError("no")', '    return {"statusCode": 503, "body": "busy"}') });
    await c.platform.api.call('POST', `/functions/${name}/invoke`, { method: 'GET', query: { raise: '1' } });
    const call = await c.platform.api.call('POST', `/functions/${name}/invoke`, { method: 'GET' });
    const runId = call.body.runId as string;
    await eventually(async () => assert.equal((await c.platform.api.call('GET', `/runs?function=${name}&status=failed`)).body.items.length, 2));

    const { page, problems } = await c.page({ hash: `#/functions/${name}/runs?run=${runId}` });
    const detail = page.getByTestId('run-detail');
    await detail.getByTestId('run-answered-5xx').waitFor();
    assert.equal(await textOf(detail.getByTestId('run-http')), 'HTTP 503');
    assert.match(await textOf(detail.getByTestId('run-answered-5xx')), /answered HTTP 503 itself .*counts as a failed run/);
    // The failed filter lists it, as `runs --status failed` does.
    await page.getByLabel('Status').selectOption('failed');
    // Both failed; the raise says its code, as `runs` prints FUNCTION_ERROR 500 beside failed 503.
    // The filtered list is read once it is drawn (read at once, under load it was still loading: no rows).
    const listed = page.getByRole('table', { name: 'Runs' }).locator('tbody tr');
    await listed.nth(1).waitFor();
    const rows = (await listed.allInnerTexts()).map((row) => row.replace(/\s+/g, ' '));
    assert.equal(rows.length, 2, JSON.stringify(rows));
    assert.match(rows[0]!, /failed 503/);
    assert.doesNotMatch(rows[0]!, /FUNCTION_ERROR/);
    assert.match(rows[1]!, /failed FUNCTION_ERROR 500/);
    assert.deepEqual(problems, []);
  });

  // Loose ends round 6: an async run failed by its function's 4xx answer was listed `succeeded 404`
  // (its attempt's record) under a failed run, and its detail said `failed` and nothing else.
  it("lists an async run its function answered 4xx as failed, and its detail says the 4xx failed it", async () => {
    const name = fnName('four');
    await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return {"statusCode": 404, "body": "no such order"}') });
    const runId = (await c.platform.api.call('POST', `/functions/${name}/invoke/async`, { method: 'GET' })).body.runId as string;
    await finalState(runId, 'failed');
    await eventually(async () => assert.equal((await c.platform.api.call('GET', `/runs?function=${name}&status=failed`)).body.items.length, 1));
    const { page, problems } = await c.page({ hash: `#/functions/${name}/runs?run=${runId}` });
    const detail = page.getByTestId('run-detail');
    await detail.getByTestId('run-answered-4xx').waitFor();
    assert.match(await textOf(detail.getByTestId('run-answered-4xx')), /answered HTTP 404 itself .*fails it, and it is not retried/);
    const rows = (await page.getByRole('table', { name: 'Runs' }).locator('tbody tr').allInnerTexts()).map((row) => row.replace(/\s+/g, ' '));
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.match(rows[0]!, /failed 404/);
    assert.deepEqual(problems, []);
  });

  it('says an async run whose state was lost is final and offers no Replay; the API refuses its replay (RUN_NOT_REPLAYABLE), and a refused replay is not shown under the next run', async () => {
    const name = fnName('lost');
    await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    raise RuntimeError("no")') }, { invocation: 'both', retry: { maxAttempts: 1 } });
    const accept = async (): Promise<string> => {
      const res = await c.platform.api.call('POST', `/functions/${name}/invoke/async`, {});
      assert.equal(res.status, 202, JSON.stringify(res.body));
      return res.body.runId as string;
    };
    const lost = await accept();
    const kept = await accept();
    await finalState(lost, 'failed');
    await finalState(kept, 'failed');
    loseAsyncState(lost);
    const shown = (await c.platform.api.call('GET', `/runs/${lost}`)).body.run;
    assert.deepEqual([shown.state, shown.acceptedAt, shown.transitions], ['failed', null, []]);
    const replay = await c.platform.api.call('POST', `/runs/${lost}/replay`);
    assert.deepEqual([replay.status, replay.body.error?.code, replay.body.error?.state], [409, 'RUN_NOT_REPLAYABLE', 'lost'], JSON.stringify(replay.body));
    const cancel = await c.platform.api.call('POST', `/runs/${lost}/cancel`);
    assert.deepEqual([cancel.status, cancel.body.error?.code], [409, 'RUN_NOT_CANCELLABLE'], JSON.stringify(cancel.body));

    const { page, problems } = await c.page({ hash: `#/functions/${name}/runs?run=${lost}` });
    const detail = page.getByTestId('run-detail');
    await detail.getByTestId('run-state-lost').waitFor();
    assert.match(await textOf(detail), /attempt 1: failed/);
    assert.equal(await detail.getByTestId('replay').count(), 0, 'Replay offered for a run whose request is gone');

    // A refused replay (the kept run's payload pruned from its dead letters) is said under that run only.
    const db = new Database(join(c.platform.stateDir, 'async.db'));
    db.prepare('DELETE FROM dead WHERE run_id = ?').run(kept);
    db.close();
    await page.goto(`${c.platform.url}/console/#/functions/${name}/runs?run=${kept}`);
    await detail.getByTestId('replay').click();
    await detail.getByText(/no longer kept/).waitFor();
    // Opened from the list beside it, as a user does.
    await page.getByRole('table', { name: 'Runs' }).locator(`a[href*="${lost}"]`).click();
    await detail.getByTestId('run-state-lost').waitFor();
    assert.doesNotMatch(await textOf(detail), /no longer kept/, 'the other run\'s refused replay is shown under this one');
    assert.deepEqual(problems, []);
  });

  it('tries a read the platform did not answer again until it answers (the NETWORK error stayed after the platform came back)', async () => {
    const name = fnName('back');
    await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return 1') });
    await c.platform.api.call('POST', `/functions/${name}/invoke`, { method: 'GET' });
    await eventually(async () => assert.equal((await c.platform.api.call('GET', `/runs?function=${name}`)).body.items.length, 1));
    const { page, context, problems } = await c.page();
    // The runs read fails as a stopped platform's does (the connection refused), then the platform is back.
    await context.route(/\/api\/v1\/runs\?/, (route) => route.abort('connectionrefused'));
    await page.goto(`${c.platform.url}/console/#/functions/${name}/runs`);
    await page.getByText(/NETWORK/).first().waitFor();
    await context.unroute(/\/api\/v1\/runs\?/);
    await page.getByRole('table', { name: 'Runs' }).waitFor({ timeout: 15_000 });
    assert.equal(await page.getByText(/NETWORK/).count(), 0, 'the NETWORK error is still shown beside the list');
    assert.deepEqual(problems.filter((p) => !/ERR_CONNECTION_REFUSED/.test(p)), []);
  });
});
