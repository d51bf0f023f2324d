/**
 * New-user round 5 (docs/adr/0063-newcomer-round-5.md), what the CLI prints against a stand-in API.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { stubApi } from '../helpers/stub-api.js';

const BASE = 'http://127.0.0.1:8080';

describe('cli triggers <fn>: the http row names only the routes that take calls', () => {
  const api = stubApi('fp-cli-new5-', (req, res) => {
    const name = /^\/api\/v1\/functions\/([^/]+)\/triggers$/.exec(req.url ?? '')?.[1];
    const invocation = name === 'tick' ? 'async' : name === 'api' ? 'sync' : 'both';
    const http = { type: 'http', invokeUrl: `${BASE}/fn/${name}/`, ...(invocation === 'sync' ? {} : { asyncUrl: `${BASE}/async/${name}/` }), auth: 'public', invocation };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ items: [http] }));
  });

  it('an async-only function is not shown with its /fn/ URL (it answers 409 there)', async () => {
    const r = await api.cli(['triggers', 'tick']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.doesNotMatch(r.stdout, /\/fn\/tick\//, r.stdout);
    assert.match(r.stdout, /async: http:\/\/127\.0\.0\.1:8080\/async\/tick\//);
    assert.match(r.stdout, /async only \(\/fn\/ answers 409\)/);
  });

  it('a sync-only function shows /fn/ alone; one taking both shows both', async () => {
    const sync = await api.cli(['triggers', 'api']);
    assert.match(sync.stdout, /\/fn\/api\//);
    assert.doesNotMatch(sync.stdout, /async: /);
    assert.match(sync.stdout, /sync only \(\/async\/ answers 409\)/);
    const both = await api.cli(['triggers', 'web']);
    assert.match(both.stdout, /\/fn\/web\/ {2}async: http:\/\/127\.0\.0\.1:8080\/async\/web\//);
    assert.match(both.stdout, /auth public, sync and async/);
  });
});
