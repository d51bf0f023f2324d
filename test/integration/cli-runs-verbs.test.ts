/**
 * `runs cancel|replay` of a sync run (an HTTP call, found by `runs <id>`): the API answered 404
 * RUN_NOT_FOUND ("no run … kept for 7d"), which contradicted `runs <id>`; it now answers 409 with
 * what the run is (controlplane/api/runs.ts, `test/e2e/platform-async.test.ts`), and the CLI shows
 * that with the code, exit 4, the command in it spelled as the CLI was run (ADR 0055, Round 4b).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { stubApi } from '../helpers/stub-api.js';

const SYNC = '0f7dee35-5030-4af2-b7e7-3a5ab8839732';
const GONE = '0f7dee35-5030-4af2-b7e7-3a5ab8839799';

const listed: string[] = [];

describe('cli runs cancel|replay of a sync run', () => {
  const api = stubApi('fp-cli-runs-', (req, res) => {
    const notFound = (): void => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'RUN_NOT_FOUND', message: 'no run (runs are kept for 7d)', component: 'controlplane' } }));
    };
    if (req.method === 'POST' && req.url === `/api/v1/runs/${SYNC}/cancel`) {
      res.writeHead(409, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { code: 'RUN_NOT_CANCELLABLE', message: `run ${SYNC} is a sync call (trigger http), never queued: only an async run waiting in the queue can be cancelled`, component: 'controlplane' } }));
    }
    if (req.method === 'POST' && req.url === `/api/v1/runs/${SYNC}/replay`) {
      res.writeHead(409, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { code: 'RUN_NOT_REPLAYABLE', message: `run ${SYNC} is a sync call (trigger http), never queued: only a failed async run can be replayed; call the function again (\`fastapi-platform invoke my-fn\`)`, component: 'controlplane' } }));
    }
    if (req.method === 'POST') return notFound();
    if (req.url?.startsWith('/api/v1/runs?') === true) {
      // An async state lists async runs (ADR 0068): their own shape, no version or timings.
      const q = new URL(req.url, 'http://x').searchParams;
      const state = q.get('status') ?? '';
      listed.push(req.url);
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({
        items: [{ runId: SYNC, function: 'my-fn', workspace: 'default', trigger: 'cron', state, acceptedAt: Date.now() - 60_000, updatedAt: Date.now() - 5_000, attempts: state === 'retried' ? 1 : 0, replayOf: null }],
        nextCursor: state === 'queued' ? 'next-page' : null,
      }));
    }
    if (req.url === `/api/v1/runs/${SYNC}`) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ run: { runId: SYNC, function: 'my-fn', trigger: 'http', status: 'succeeded', httpStatus: 200 } }));
    }
    notFound();
  });
  const cli = api.cli;

  it('says the run is a sync call, with the code of the refusal, exit 4', async () => {
    const cancel = await cli(['runs', 'cancel', SYNC]);
    assert.equal(cancel.code, EXIT.API);
    assert.match(cancel.stderr, /run 0f7dee35-[0-9a-f-]+ is a sync call \(trigger http\), never queued: only an async run waiting in the queue can be cancelled \[RUN_NOT_CANCELLABLE\]/, cancel.stderr);
    const replay = await cli(['runs', 'replay', SYNC, '--json']);
    assert.equal(replay.code, EXIT.API);
    const doc = JSON.parse(replay.stdout) as { error: { code: string; message: string } };
    assert.equal(doc.error.code, 'RUN_NOT_REPLAYABLE');
    assert.match(doc.error.message, /only a failed async run can be replayed; call the function again \(`\S.* invoke my-fn`\)/);
  });

  it("--status of an async run's state (queued, running, retried, cancelled) lists async runs in it, with when they were queued", async () => {
    for (const state of ['queued', 'running', 'retried', 'cancelled']) {
      const r = await api.cli(['runs', 'my-fn', '--status', state, '--since', '1h']);
      assert.equal(r.code, EXIT.OK, r.stderr);
      assert.match(r.stdout, /RUN ID\s+FUNCTION\s+TRIGGER\s+STATE\s+ATTEMPTS\s+QUEUED\s+SINCE/);
      // A running run's attempt counts (the API's `attempts` are the ended ones: it showed 0).
      const attempts = state === 'retried' ? '1' : state === 'running' ? '1 \\(running\\)' : '0';
      assert.match(r.stdout, new RegExp(`${SYNC}\\s+my-fn\\s+cron\\s+${state}\\s+${attempts}\\s+1m ago`), r.stdout);
      assert.match(listed.at(-1) ?? '', new RegExp(`[?&]status=${state}(&|$)`));
      assert.match(listed.at(-1) ?? '', /[?&]function=my-fn(&|$)/);
    }
    const more = await api.cli(['runs', '--status', 'queued']);
    assert.match(more.stderr, /--cursor next-page/);
    const json = await api.cli(['runs', '--status', 'cancelled', '--json']);
    assert.equal(JSON.parse(json.stdout).items[0].state, 'cancelled');
    const bad = await api.cli(['runs', '--status', 'nope']);
    assert.equal(bad.code, EXIT.USAGE);
    assert.match(bad.stderr, /--status must be one of queued, running, retried, succeeded, failed, cancelled/);
  });

  it('a run nobody has is still RUN_NOT_FOUND', async () => {
    const r = await cli(['runs', 'cancel', GONE]);
    assert.equal(r.code, EXIT.API);
    assert.match(r.stderr, /\[RUN_NOT_FOUND\]/);
  });
});
