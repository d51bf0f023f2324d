/**
 * Red team round 18: a function's JSON answer nested deeper than the API's bound (MAX_JSON_DEPTH).
 * `invoke` parsed it to indent it, and JSON.stringify overflowed the stack: the CLI ended with
 * "unexpected error: RangeError" instead of showing what the function sent (any public function
 * can answer so). Now such a body is shown as sent, and `--json` gives it as text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { stubApi } from '../helpers/stub-api.js';

describe('cli invoke: JSON nested past the API\'s bound is shown as sent', () => {
  const DEEP = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
  const api = stubApi('fp-cli-deep-', (req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/fn/deep/' || req.url === '/fn/shallow/') {
        res.writeHead(200, { 'content-type': 'application/json', 'x-run-id': '0f7dee35-5030-4af2-b7e7-3a5ab8839732', 'x-cold-start': '0' });
        return res.end(req.url === '/fn/deep/' ? DEEP : '[[[1]]]');
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'ROUTE_NOT_FOUND', message: 'no', component: 'gateway' } }));
    });
  });

  it('on the terminal and in --json', async () => {
    const shown = await api.cli(['invoke', 'deep']);
    assert.equal(shown.code, EXIT.OK, shown.stderr.slice(0, 400));
    assert.ok(shown.stdout.includes(DEEP), shown.stdout.slice(0, 200));
    const json = await api.cli(['invoke', 'deep', '--json']);
    assert.equal(json.code, EXIT.OK, json.stderr.slice(0, 400));
    assert.equal((JSON.parse(json.stdout) as { body: unknown }).body, DEEP);
  });

  it('JSON within the bound is still indented', async () => {
    const r = await api.cli(['invoke', 'shallow']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.match(r.stdout, /\[\n {2}\[\n {4}\[\n {6}1/);
  });
});
