/** JSON numbers JavaScript cannot hold (protocol/json-numbers.ts) and the API's run bodies (controlplane/api/runs.ts decodeBody). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { indentJsonText, jsonNumbersSurviveParse } from '../../protocol/json-numbers.js';
import { decodeBody } from '../../controlplane/api/runs.js';

describe('jsonNumbersSurviveParse', () => {
  it('is true for ordinary JSON, fractions included, and numbers inside strings', () => {
    for (const text of ['{}', '[1, -2, 3.5, 1e10, 0.1000000000000000055511151231257827]', '{"id": "9007199254740993"}', '9007199254740992', '-9007199254740991', '1e300', '"\\"123456789012345678901234567890"']) {
      assert.equal(jsonNumbersSurviveParse(text), true, text);
    }
  });
  it('is false for an integer past 2^53 that the parse changes, and for an overflow', () => {
    // 2**60 and 2**70 are doubles exactly, but written again with other digits (1152921504606847000)
    // or in exponent form (1.1805916207174113e+21).
    for (const text of ['9007199254740993', '{"x": [1, -9007199254740993]}', '123456789012345678901234567890', '1e400', '{"a": "x\\\\", "b": 18446744073709551615}', '{"n": 1180591620717411303424}', '1152921504606846976']) {
      assert.equal(jsonNumbersSurviveParse(text), false, text);
    }
  });
});

describe('indentJsonText', () => {
  it('indents as JSON.stringify(JSON.parse(t), null, 2) does, without parsing', () => {
    for (const text of ['{"a":1,"b":[1,2,{"c":null}],"d":{},"e":[],"f":"x,{y}:[z]\\"q"}', '[]', '{ "a" : [ ] , "b" : { } }', '"s"', '42', '[[[]],{"k":[{}]}]']) {
      assert.equal(indentJsonText(text), JSON.stringify(JSON.parse(text), null, 2), text);
    }
  });
  it('keeps the digits and escapes as sent', () => {
    assert.equal(indentJsonText('{"x":9007199254740993,"u":"\\u00fc"}'), '{\n  "x": 9007199254740993,\n  "u": "\\u00fc"\n}');
  });
});

describe('decodeBody (GET /runs/{id} result, the test invoke answer)', () => {
  const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
  it('parses JSON whose numbers survive, and keeps as text JSON whose numbers would not', () => {
    assert.deepEqual(decodeBody(bytes('{"x":1}'), 'application/json'), { body: { x: 1 } });
    assert.deepEqual(decodeBody(bytes('{"x":9007199254740993}'), 'application/json'), { body: '{"x":9007199254740993}' });
    assert.deepEqual(decodeBody(bytes('not json'), 'application/json'), { body: 'not json' });
    assert.deepEqual(decodeBody(new Uint8Array([0xff, 0xfe]), 'application/json'), { bodyBase64: '//4=' });
  });

  it('keeps as text JSON nested deeper than the API takes, so the answer can be written (red team round 18)', () => {
    // A function answering `[` × 100 000 then `]` × 100 000 (200 KB): parsed, the API's JSON.stringify
    // overflowed its stack and GET /runs/{id} and the test invoke answered 500 INTERNAL_ERROR.
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const decoded = decodeBody(bytes(deep), 'application/json');
    assert.deepEqual(decoded, { body: deep });
    assert.doesNotThrow(() => JSON.stringify(decoded));
    const shallow = `${'['.repeat(128)}${']'.repeat(128)}`;
    assert.equal(typeof (decodeBody(bytes(shallow), 'application/json') as { body: unknown }).body, 'object');
  });
});
