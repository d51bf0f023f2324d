/**
 * A function not found in the workspace in use, but in another the token may list (the admin
 * token), is named there: `invoke fn-worker` after deploying it with a token of team-a said only
 * "not deployed in this workspace" (new-user round 10).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { elsewhereText } from '../../cli/suggest.js';
import { answerJson, stubApi } from '../helpers/stub-api.js';

const notFound = { error: { code: 'FUNCTION_NOT_FOUND', message: 'no function named "fn-worker"', component: 'controlplane', function: 'fn-worker' } };

describe('a function of another workspace', () => {
  const api = stubApi('fp-elsewhere-', (req, res) => {
    const workspace = req.headers['fp-workspace'] ?? 'default';
    const path = (req.url ?? '').split('?')[0];
    if (path === '/api/v1/workspaces') return answerJson(res, 200, { items: ['default', 'team-a', 'team-b'].map((name) => ({ name, quotas: {}, createdAt: 0, updatedAt: 0 })) });
    if (path === '/api/v1/functions') return answerJson(res, 200, { items: workspace === 'team-a' ? [{ name: 'fn-worker' }] : [] });
    if (path?.startsWith('/fn/')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { ...notFound.error, component: 'gateway' } }));
    }
    return answerJson(res, 404, notFound);
  });

  it('an API command names the workspace that has it', async () => {
    const r = await api.cli(['env', 'fn-worker']);
    assert.equal(r.code, EXIT.API, r.stderr);
    assert.match(r.stderr, /no function named "fn-worker"; it is in workspace "team-a": add `-w team-a` \[FUNCTION_NOT_FOUND\]/);
  });

  it('invoke names it too', async () => {
    const r = await api.cli(['invoke', 'fn-worker']);
    assert.equal(r.code, EXIT.API, r.stderr);
    assert.match(r.stderr, /No function "fn-worker" is deployed in this workspace; it is in workspace "team-a": add `-w team-a`/);
  });

  it('several are named together', () => {
    assert.equal(elsewhereText(['a', 'b']), '; workspaces "a", "b" have one by that name: add `-w <workspace>`');
    assert.equal(elsewhereText([]), '');
  });
});
