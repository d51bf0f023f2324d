/**
 * A run's query string (console round 15, ADR 0251). Runs kept the method and path only, so the
 * Runs tab's Request column and `GET /runs` never showed what `?q=` a call was made with. They keep
 * the query now, and a `viewer` reads run records: a key or token a caller put in the query (a
 * function checking its own `?api_key=`, a webhook's `?token=`, a bare token) is kept as `***`,
 * never as sent, in the API's answer and in the console.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';
import { Api, deployed, fnName, py, runsWritten } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

const KEY = 'k3y-VALUE-never-kept';
const BARE = 'sk9f8a7s6d5f4g3h2j1k0lzz';

describe('a run keeps its query, a credential in it masked (ADR 0251)', { skip }, () => {
  it('GET /runs and the Runs tab show the query; a viewer never reads the key, the token or a token-shaped value', async () => {
    const name = fnName('query');
    await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return {"ok": True}') });
    const answer = await fetch(`${c.platform.url}/fn/${name}/items?q=hello%20you&api_key=${KEY}&Token=${KEY}&ref=${BARE}&page=2&${BARE}`);
    assert.equal(answer.status, 200);
    await runsWritten(c.platform.url);
    const viewer = new Api(c.platform.url, (await c.platform.api.call('POST', '/tokens', { role: 'viewer' })).body.secret as string);
    const listed = await viewer.call('GET', `/runs?function=${name}`);
    assert.equal(listed.status, 200);
    const run = listed.body.items[0] as { path: string; query?: string; runId: string };
    assert.equal(run.path, '/items');
    assert.equal(run.query, 'q=hello%20you&api_key=***&Token=***&ref=***&page=2&***');
    const one = await viewer.call('GET', `/runs/${run.runId}`);
    for (const body of [listed.body, one.body]) {
      const text = JSON.stringify(body);
      assert.ok(!text.includes(KEY) && !text.includes(BARE), `a credential in the query reached a viewer: ${text.slice(0, 400)}`);
    }

    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/runs` });
    const cell = page.locator('td.request').first();
    await eventually(async () => assert.equal(await textOf(cell), 'GET /items?q=hello%20you&api_key=***&Token=***&ref=***&page=2&***'));
    assert.deepEqual(problems, []);
    await context.close();
  });
});
