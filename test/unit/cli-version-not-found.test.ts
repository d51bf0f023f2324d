/**
 * A version the function does not have (`rollback shop --to 99`, `versions delete shop 99`) says
 * where the versions are listed, as a function or token "not found" does (new-user round 8: it said
 * `function "shop" has no version 99` alone, and `--to abc` sent the reader to `functions show`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { runCli } from '../helpers/cli-harness.js';
import { stubApi } from '../helpers/stub-api.js';

describe('a version not found', () => {
  const api = stubApi('fp-version-not-found-', (_req, res) => {
    res.writeHead(404, { 'fp-api': '1', 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'VERSION_NOT_FOUND', message: 'function "shop" has no version 99', component: 'controlplane', field: 'version', function: 'shop', version: 99 } }));
  });

  it('names the `versions <fn>` command, in text and in --json', async () => {
    const r = await api.cli(['rollback', 'shop', '--to', '99']);
    assert.equal(r.code, EXIT.API, r.stderr);
    assert.match(r.stderr, /has no version 99; the `versions shop` command lists its versions \[VERSION_NOT_FOUND\]/);
    const json = await api.cli(['versions', 'delete', 'shop', '99', '--yes', '--json']);
    assert.match((JSON.parse(json.stdout) as { error: { message: string } }).error.message, /the `versions shop` command lists its versions$/);
  });

  it('--to that is no number names `versions <fn>` too', async () => {
    const r = await runCli(['rollback', 'shop', '--to', 'v1', '--url', api.url], { env: { FP_CONFIG_DIR: api.dir, PATH: '' } });
    assert.equal(r.code, EXIT.USAGE);
    assert.match(r.stderr, /--to must be a version number \(1, 2, …; `.*versions shop` lists them\), got "v1"/);
  });

  it('takes the version as an argument, as `versions delete` does (`rollback shop 99`)', async () => {
    // Before: "unexpected argument \"99\"" (new-user round 10).
    const r = await api.cli(['rollback', 'shop', '99']);
    assert.equal(r.code, EXIT.API, r.stderr);
    assert.match(r.stderr, /has no version 99; the `versions shop` command lists its versions \[VERSION_NOT_FOUND\]/);
    const twice = await runCli(['rollback', 'shop', '3', '--to', '4', '--url', api.url], { env: { FP_CONFIG_DIR: api.dir, PATH: '' } });
    assert.equal(twice.code, EXIT.USAGE);
    assert.match(twice.stderr, /the version is given twice \("3" and --to\): give one/);
    const word = await runCli(['rollback', 'shop', 'v1', '--url', api.url], { env: { FP_CONFIG_DIR: api.dir, PATH: '' } });
    assert.equal(word.code, EXIT.USAGE);
    assert.match(word.stderr, /the version must be a version number \(1, 2, …; `.*versions shop` lists them\), got "v1"/);
  });
});
