/** The query a run record keeps (gateway/recorded-query.ts, ADR 0251): a value that may be a credential masked. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_RECORDED_QUERY, recordedQuery } from '../../gateway/recorded-query.js';

describe('recordedQuery', () => {
  it('keeps none for no query, and a plain query as sent', () => {
    assert.equal(recordedQuery(''), undefined);
    assert.equal(recordedQuery('q=hello%20you&page=2&flag&empty='), 'q=hello%20you&page=2&flag&empty=');
  });

  it('masks by name (any case, percent-encoded or not) and by a token\'s shape', () => {
    assert.equal(recordedQuery('api_key=abc&ACCESS%5FTOKEN=x&client_secret=y&password=p&sig=s&code=c&x-Auth=z'),
      'api_key=***&ACCESS%5FTOKEN=***&client_secret=***&password=***&sig=***&code=***&x-Auth=***');
    assert.equal(recordedQuery('ref=sk9f8a7s6d5f4g3h2j1k0l&name=abcdefghijklmnopqrstuvwxyz'), 'ref=***&name=abcdefghijklmnopqrstuvwxyz');
    assert.equal(recordedQuery('sk9f8a7s6d5f4g3h2j1k0l&token'), '***&***');
    // A value with `=` in it is masked whole; a bad escape is read as written.
    assert.equal(recordedQuery('key=a=b=c&q=%E0%A4%A'), 'key=***&q=%E0%A4%A');
  });

  it('masks before it cuts at 512 characters', () => {
    const long = `q=${'a'.repeat(600)}&token=${'x1'.repeat(10)}`;
    const kept = recordedQuery(`token=secret1234&${long}`)!;
    assert.ok(kept.startsWith('token=***&q=aaa'));
    assert.equal(kept.length, MAX_RECORDED_QUERY + 1);
    assert.ok(kept.endsWith('…'));
  });
});
