/** Strict JSON bodies (protocol/json-text.ts): UTF-8 only, nesting bounded before any parse, the top-level field named. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseJson } from '../../controlplane/api/validate.js';
import { duplicateKey, MAX_JSON_DEPTH, readJsonText, tooDeep } from '../../protocol/index.js';

const bytes = (text: string | Buffer): Uint8Array => (typeof text === 'string' ? Buffer.from(text) : text);
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

function problem(body: string | Buffer): { code: string; field: string } {
  const read = readJsonText(bytes(body));
  assert.ok(!read.ok, `accepted ${String(body).slice(0, 40)}`);
  return { code: read.problem.code, field: read.problem.field };
}

describe('strict JSON bodies', () => {
  it('parses ordinary bodies; an empty one is {}', () => {
    assert.deepEqual(readJsonText(bytes('{"a": [1, {"b": "ü ☃ 😀"}]}')), { ok: true, value: { a: [1, { b: 'ü ☃ 😀' }] } });
    assert.deepEqual(readJsonText(bytes('  \n')), { ok: true, value: {} });
  });

  it('refuses a key given twice in one object, naming its path (JSON.parse would keep the last silently)', () => {
    assert.deepEqual(problem('{"env": {"FOO": "a", "BAR": "x", "FOO": "b"}}'), { code: 'INVALID_JSON', field: 'env.FOO' });
    assert.deepEqual(problem('{"a": 1, "a": 2}'), { code: 'INVALID_JSON', field: 'a' });
    assert.deepEqual(problem('{"files": [{"path": "a"}, {"path": "b", "path": "c"}]}'), { code: 'INVALID_JSON', field: 'files[1].path' });
    assert.equal(duplicateKey(bytes('{"k\\u0041": 1, "kA": 2}')), 'kA', 'escapes decoded before comparing');
    // The same key in sibling objects, in strings, or as a value: not a duplicate.
    assert.equal(readJsonText(bytes('{"a": {"x": 1}, "b": {"x": 2}, "c": ["x", "x"], "d": "\\"x\\": 1, \\"x\\": 2", "x": "x"}')).ok, true);
    assert.equal(duplicateKey(bytes('[{"a": 1}, {"a": 2}]')), null);
    assert.equal(duplicateKey(bytes('{"env": {"__proto__": "x"}}')), 'env.__proto__', 'a key every object schema would drop');
  });

  it('refuses invalid UTF-8 instead of replacing it with U+FFFD', () => {
    const env = Buffer.concat([Buffer.from('{"name":"fz-utf","env":{"A":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}}')]);
    assert.deepEqual(problem(env), { code: 'INVALID_JSON', field: 'body' });
    assert.deepEqual(problem(Buffer.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d])), { code: 'INVALID_JSON', field: 'body' }, 'an encoded surrogate');
    assert.deepEqual(problem('{"a": '), { code: 'INVALID_JSON', field: 'body' });
  });

  it(`allows ${MAX_JSON_DEPTH} levels and refuses one more, naming the top-level field`, () => {
    assert.equal(readJsonText(bytes(`{"manifest": ${nested(MAX_JSON_DEPTH - 1)}}`)).ok, true);
    assert.deepEqual(problem(`{"files": [], "manifest": ${nested(MAX_JSON_DEPTH)}}`), { code: 'JSON_TOO_DEEP', field: 'manifest' });
    assert.deepEqual(problem(`{"a": 1, "b\\"c": {"x": ${nested(MAX_JSON_DEPTH)}}}`), { code: 'JSON_TOO_DEEP', field: 'b"c' });
    assert.deepEqual(problem(nested(MAX_JSON_DEPTH + 1)), { code: 'JSON_TOO_DEEP', field: 'body' });
  });

  it('finds the depth in one pass without parsing: 5,000 levels in a 10 KB body, a million in 2 MB', () => {
    const body = `{"files":[{"path":"main.py","contentBase64":""}],"manifest":${nested(5000)}}`;
    assert.deepEqual(problem(body), { code: 'JSON_TOO_DEEP', field: 'manifest' });
    // A million levels: a recursive reader would overflow the stack, a quadratic one would not
    // finish (10^12 steps), so answering at all shows one flat pass (no wall-clock bound needed).
    assert.deepEqual(problem(`{"m": ${nested(1_000_000)}}`), { code: 'JSON_TOO_DEEP', field: 'm' });
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const inString = JSON.stringify({ note: '['.repeat(1000), tricky: 'a\\"[[[', slashes: '\\\\' + '{'.repeat(500) });
    assert.equal(tooDeep(bytes(inString), 4), null);
    assert.equal(tooDeep(bytes('{"k\\\\": [[[[1]]]]}'), 4), 'k\\');
    assert.equal(tooDeep(bytes('{"unterminated": "[[[['), 2), null, 'malformed JSON is left to the parser');
  });

  it('the API reader throws the registry codes with the field', () => {
    assert.throws(() => parseJson(bytes(`{"env": ${nested(200)}}`)), (err: unknown) => {
      const e = err as { code: string; details: { field: string; limit: number } };
      assert.deepEqual([e.code, e.details.field, e.details.limit], ['JSON_TOO_DEEP', 'env', MAX_JSON_DEPTH]);
      return true;
    });
    assert.throws(() => parseJson(Buffer.from([0x7b, 0xc3, 0x7d])), { code: 'INVALID_JSON' });
  });
});
