/**
 * `invoke` under an app's own "no such route" answer (new-user round 10): FastAPI's 404
 * `{"detail":"Not Found"}` and 405 with `Allow` say that the path or the method is what to change;
 * before, the body alone was printed (`--path /fn/shop/items`, the whole URL's path, read as a
 * missing route of the app).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appRouteHint } from '../../cli/app-route-hint.js';
import { stubApi } from '../helpers/stub-api.js';

const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => ({ status, headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify(body)) });
const CALL = 'fastapi-platform invoke shop';

describe('appRouteHint', () => {
  it('names the path after /fn/<name> when the whole URL path was given', () => {
    assert.equal(appRouteHint(answer(404, { detail: 'Not Found' }), { method: 'GET', path: '/fn/shop/items/1?x=1' }, CALL),
      "--path /items/1, not /fn/shop/items/1: --path is the path after the function's URL (…/fn/<name>/), the one the app sees");
  });

  it('says what FastAPI\'s Not Found means and where the routes are listed', () => {
    const hint = appRouteHint(answer(404, { detail: 'Not Found' }), { method: 'GET', path: '/item/3' }, CALL);
    assert.match(hint ?? '', /none of the app's routes matches the path \(GET \/item\/3;/);
    assert.match(hint ?? '', /`fastapi-platform invoke shop --path \/openapi\.json`/);
  });

  it('names the methods a route takes (405 with Allow)', () => {
    assert.equal(appRouteHint(answer(405, { detail: 'Method Not Allowed' }, { allow: 'POST' }), { method: 'GET', path: '/greet' }, CALL),
      "the app's route /greet takes POST, not GET: add -X POST (a --data or --file body makes it POST)");
  });

  it('says nothing of an app\'s own answers', () => {
    assert.equal(appRouteHint(answer(404, { detail: 'no such item' }), { method: 'GET', path: '/items/9' }, CALL), null);
    assert.equal(appRouteHint(answer(404, { detail: 'Not Found', id: 9 }), { method: 'GET', path: '/items/9' }, CALL), null);
    assert.equal(appRouteHint(answer(405, { detail: 'Method Not Allowed' }), { method: 'GET', path: '/greet' }, CALL), null);
    assert.equal(appRouteHint(answer(500, { detail: 'Not Found' }), { method: 'GET', path: '/' }, CALL), null);
  });
});

describe('invoke prints it under the answer', () => {
  const api = stubApi('fp-route-hint-', (_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json', 'x-run-id': 'r1' });
    res.end('{"detail":"Not Found"}');
  });

  it('a whole URL path in --path', async () => {
    const r = await api.cli(['invoke', 'shop', '--path', '/fn/shop/greet']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /note: --path \/greet, not \/fn\/shop\/greet: --path is the path after the function's URL/);
  });
});
