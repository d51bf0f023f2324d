/**
 * A version the function does not have (`rollback shop --to 99`, `versions delete shop 99`) says
 * where the versions are listed, as a function or token "not found" does (new-user round 8: it said
 * `function "shop" has no version 99` alone, and `--to abc` sent the reader to `functions show`).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { runCli } from '../helpers/cli-harness.js';

describe('a version not found', () => {
  let server: Server;
  let url = '';
  const dir = mkdtempSync(join(tmpdir(), 'fp-version-not-found-'));
  before(async () => {
    server = createServer((req, res) => {
      res.writeHead(404, { 'fp-api': '1', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'VERSION_NOT_FOUND', message: 'function "shop" has no version 99', component: 'controlplane', field: 'version', function: 'shop', version: 99 } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the `versions <fn>` command, in text and in --json', async () => {
    const common = ['--url', url, '--token', 'fpa_x'];
    const r = await runCli(['rollback', 'shop', '--to', '99', ...common], { env: { FP_CONFIG_DIR: dir } });
    assert.equal(r.code, EXIT.API, r.stderr);
    assert.match(r.stderr, /has no version 99; the `versions shop` command lists its versions \[VERSION_NOT_FOUND\]/);
    const json = await runCli(['versions', 'delete', 'shop', '99', '--yes', '--json', ...common], { env: { FP_CONFIG_DIR: dir } });
    assert.match((JSON.parse(json.stdout) as { error: { message: string } }).error.message, /the `versions shop` command lists its versions$/);
  });

  it('--to that is no number names `versions <fn>` too', async () => {
    const r = await runCli(['rollback', 'shop', '--to', 'v1', '--url', url], { env: { FP_CONFIG_DIR: dir, PATH: '' } });
    assert.equal(r.code, EXIT.USAGE);
    assert.match(r.stderr, /--to must be a version number \(1, 2, …; `.*versions shop` lists them\), got "v1"/);
  });
});
