/**
 * A WORKSPACE_NOT_FOUND for a name two edits from a workspace the token can list gets `did you
 * mean "…"?`, as FUNCTION_NOT_FOUND does (ADR 0055, Round 4b); a token that cannot list gets the
 * error as it was.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { runCli } from '../helpers/cli-harness.js';
import { stubApi } from '../helpers/stub-api.js';

describe('cli: a mistyped workspace', () => {
  const api = stubApi('fp-cli-suggest-', (req, res) => {
    const admin = req.headers.authorization === 'Bearer fpa_test';
    if (req.url === '/api/v1/workspaces' && admin && req.headers['fp-workspace'] === undefined) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ items: [{ name: 'default' }, { name: 'staging' }] }));
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'WORKSPACE_NOT_FOUND', message: 'no workspace "defualt"', component: 'controlplane' } }));
  });

  it('names the near workspace (admin token); says nothing more when it cannot list', async () => {
    const r = await runCli(['workspaces', 'show', 'defualt', '--url', api.url, '--token', 'fpa_test'], { env: { FP_CONFIG_DIR: api.dir }, cwd: api.dir });
    assert.equal(r.code, EXIT.API);
    assert.match(r.stderr, /no workspace "defualt"; did you mean "default"\? \[WORKSPACE_NOT_FOUND\]/, r.stderr);
    const global = await runCli(['functions', '-w', 'defualt', '--url', api.url, '--token', 'fpa_test'], { env: { FP_CONFIG_DIR: api.dir }, cwd: api.dir });
    assert.match(global.stderr, /did you mean "default"\?/, global.stderr);
    const other = await runCli(['workspaces', 'show', 'defualt', '--url', api.url, '--token', 'fpw_x'], { env: { FP_CONFIG_DIR: api.dir }, cwd: api.dir });
    assert.match(other.stderr, /no workspace "defualt"; the `workspaces` command lists them \[WORKSPACE_NOT_FOUND\]/, other.stderr);
  });
});
