/**
 * A WORKSPACE_NOT_FOUND for a name two edits from a workspace the token can list gets `did you
 * mean "…"?`, as FUNCTION_NOT_FOUND does (ADR 0055, Round 4b); a token that cannot list gets the
 * error as it was.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { runCli } from '../helpers/cli-harness.js';

describe('cli: a mistyped workspace', () => {
  let server: Server;
  let url: string;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fp-cli-suggest-'));
    server = createServer((req, res) => {
      const admin = req.headers.authorization === 'Bearer fpa_test';
      if (req.url === '/api/v1/workspaces' && admin && req.headers['fp-workspace'] === undefined) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ items: [{ name: 'default' }, { name: 'staging' }] }));
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'WORKSPACE_NOT_FOUND', message: 'no workspace "defualt"', component: 'controlplane' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the near workspace (admin token); says nothing more when it cannot list', async () => {
    const r = await runCli(['workspaces', 'show', 'defualt', '--url', url, '--token', 'fpa_test'], { env: { FP_CONFIG_DIR: dir }, cwd: dir });
    assert.equal(r.code, EXIT.API);
    assert.match(r.stderr, /no workspace "defualt"; did you mean "default"\? \[WORKSPACE_NOT_FOUND\]/, r.stderr);
    const global = await runCli(['functions', '-w', 'defualt', '--url', url, '--token', 'fpa_test'], { env: { FP_CONFIG_DIR: dir }, cwd: dir });
    assert.match(global.stderr, /did you mean "default"\?/, global.stderr);
    const other = await runCli(['workspaces', 'show', 'defualt', '--url', url, '--token', 'fpw_x'], { env: { FP_CONFIG_DIR: dir }, cwd: dir });
    assert.match(other.stderr, /no workspace "defualt"; the `workspaces` command lists them \[WORKSPACE_NOT_FOUND\]/, other.stderr);
  });
});
