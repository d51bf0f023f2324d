/**
 * deploy's and dev's Docs line (new-user round 11): a FastAPI app's banner gave a curl of `/`, which
 * the app (no route there) answered 404, and nothing named /docs, the page that lists its routes.
 * cli/deploy-flow.ts docsLine, from validate.py's `docs` of the entrypoint.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { docsLine } from '../../cli/deploy-flow.js';

describe('docsLine', () => {
  it("names the app's docs page under the function's URL", () => {
    assert.equal(docsLine('http://127.0.0.1:8080/fn/shop/', { auth: 'public', invocation: 'both' }, '/docs'),
      "Docs:  http://127.0.0.1:8080/fn/shop/docs  (the app's OpenAPI docs: its routes, to try in a browser)");
    assert.match(docsLine('http://127.0.0.1:8080/fn/shop.acme/', { auth: 'public', invocation: 'sync' }, '/api/docs') ?? '', /^Docs: {2}http:\/\/127\.0\.0\.1:8080\/fn\/shop\.acme\/api\/docs /);
  });
  it('says nothing for an app without docs, a token-mode function (a browser sends no token) or an async-only one', () => {
    assert.equal(docsLine('http://h/fn/shop/', { auth: 'public', invocation: 'both' }, undefined), null);
    assert.equal(docsLine('http://h/fn/shop/', { auth: 'token', invocation: 'both' }, '/docs'), null);
    assert.equal(docsLine('http://h/fn/shop/', { auth: 'public', invocation: 'async' }, '/docs'), null);
  });
});
