import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { slashRedirect, varyOnAccept } from '../../gateway/slash-redirect.js';
import type { IncomingRequest, OutgoingResponse } from '../../gateway/http-server.js';

function req(url: string, method: string, accept?: string, rawQuery = ''): IncomingRequest {
  return { url, method, rawQuery, headers: accept === undefined ? [] : [['accept', accept]] } as unknown as IncomingRequest;
}

describe('slashRedirect', () => {
  test('a browser GET or HEAD of the bare name is redirected with Vary: Accept; an API client is told to vary; anything else is null', () => {
    const moved = slashRedirect(req('/fn/shop', 'GET', 'text/html', 'a=1'), 'shop', '/');
    assert.ok(moved !== null && moved !== 'vary');
    assert.equal(moved.status, 308);
    assert.deepEqual(moved.headers.filter(([k]) => k === 'location' || k === 'vary'), [['location', '/fn/shop/?a=1'], ['vary', 'Accept']]);
    assert.equal(slashRedirect(req('/fn/shop', 'HEAD', 'application/json'), 'shop', '/'), 'vary');
    assert.equal(slashRedirect(req('/fn/shop', 'GET'), 'shop', '/'), 'vary');
    assert.equal(slashRedirect(req('/fn/shop', 'POST', 'text/html'), 'shop', '/'), null);
    assert.equal(slashRedirect(req('/fn/shop/', 'GET', 'text/html'), 'shop', '/'), null);
    assert.equal(slashRedirect(req('/fn/shop/x', 'GET', 'text/html'), 'shop', '/x'), null);
  });
});

describe('varyOnAccept', () => {
  const answer = (headers: [string, string][]): OutgoingResponse => ({ status: 200, headers, body: '' });
  test('adds Accept to the app Vary, keeps what the app said, never twice, and leaves * alone', () => {
    assert.deepEqual(varyOnAccept(answer([['content-type', 'text/plain']])).headers, [['content-type', 'text/plain'], ['vary', 'Accept']]);
    assert.deepEqual(varyOnAccept(answer([['Vary', 'Origin']])).headers, [['Vary', 'Origin, Accept']]);
    assert.deepEqual(varyOnAccept(answer([['vary', 'origin, ACCEPT']])).headers, [['vary', 'origin, ACCEPT']]);
    assert.deepEqual(varyOnAccept(answer([['vary', '*']])).headers, [['vary', '*']]);
  });
});
