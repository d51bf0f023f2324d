/**
 * `functions delete` of a name that is no function (new-user round 9): FUNCTION_NOT_FOUND with the
 * one meant, before any question; without a terminal it answered CONFIRMATION_REQUIRED, "functions
 * delete removes "my-fm" with its versions, runs and invoke tokens", for a typo. Nothing is deleted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { answerJson, stubApi } from '../helpers/stub-api.js';

describe('cli: functions delete of an unknown name', () => {
  const deletes: string[] = [];
  const api = stubApi('fp-cli-delete-unknown-', (req, res) => {
    const url = req.url ?? '';
    const json = (status: number, body: unknown): void => answerJson(res, status, body);
    if (req.method === 'DELETE') deletes.push(url);
    if (url.startsWith('/api/v1/functions/my-fm')) return json(404, { ok: false, error: { code: 'FUNCTION_NOT_FOUND', message: 'function "my-fm" not found' } });
    if (url.startsWith('/api/v1/functions/my-fn/data')) return json(200, { binding: null });
    if (url.startsWith('/api/v1/functions/my-fn')) return json(200, { function: { name: 'my-fn' }, invokeUrl: 'http://x/fn/my-fn/' });
    json(200, { items: [{ name: 'my-fn' }] });
  });

  it('says there is no such function and names the one meant, with or without --yes, asking nothing', async () => {
    for (const argv of [['functions', 'delete', 'my-fm'], ['functions', 'delete', 'my-fm', '--yes']]) {
      const r = await api.cli(argv);
      assert.equal(r.code, EXIT.API, r.stderr);
      assert.match(r.stderr, /no function named "my-fm" in this workspace; did you mean "my-fn"\? \[FUNCTION_NOT_FOUND\]/);
      assert.doesNotMatch(r.stderr, /CONFIRMATION_REQUIRED|removes/);
    }
    assert.deepEqual(deletes, []);
    // A function that exists still asks first (no terminal here: CONFIRMATION_REQUIRED).
    const asked = await api.cli(['functions', 'delete', 'my-fn']);
    assert.equal(asked.code, EXIT.USAGE, asked.stderr);
    assert.match(asked.stderr, /CONFIRMATION_REQUIRED/);
  });
});
