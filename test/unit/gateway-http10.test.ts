/**
 * The HTTP/1.0 mark the mended parser leaves after a request's target (gateway/http10.ts, ADR 0246):
 * taken off the URL or the query, wherever uWS's split at the first `?` left it, and nowhere else.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitTarget } from '../../gateway/http10.js';

describe('splitTarget', () => {
  it('takes the mark off the URL when the target has no query', () => {
    assert.deepEqual(splitTarget('/fn/a/x HTTP/1.0', undefined), { url: '/fn/a/x', query: undefined, http10: true });
  });

  it('takes it off the query when the target has one, an empty one included', () => {
    assert.deepEqual(splitTarget('/fn/a/x', 'b=1 HTTP/1.0'), { url: '/fn/a/x', query: 'b=1', http10: true });
    assert.deepEqual(splitTarget('/fn/a/x', ' HTTP/1.0'), { url: '/fn/a/x', query: '', http10: true });
  });

  it('leaves an HTTP/1.1 target as it is, one that merely ends like the version included', () => {
    assert.deepEqual(splitTarget('/fn/a/HTTP/1.0', undefined), { url: '/fn/a/HTTP/1.0', query: undefined, http10: false });
    assert.deepEqual(splitTarget('/fn/a/x', 'v=HTTP/1.0'), { url: '/fn/a/x', query: 'v=HTTP/1.0', http10: false });
    // The mark in the URL of a target with a query cannot come from the parser: it stays (and 404s).
    assert.deepEqual(splitTarget('/x HTTP/1.0', 'q'), { url: '/x HTTP/1.0', query: 'q', http10: false });
  });
});
