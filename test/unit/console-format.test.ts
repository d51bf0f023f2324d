/**
 * The console's text helpers (console/src/format.ts) that need no page: an async run's result whose
 * body the platform did not keep (over 256 KiB, `x-fp-result-omitted`) says so instead of showing an
 * empty box (docs/adr/0048-newcomer-round-3.md). Bundled by esbuild in memory, as the console build does.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';

interface Format { resultText(result: { headers?: Record<string, string>; body?: unknown; bodyBase64?: string }): string; shownText(text: string): string }

let format: Format;
before(async () => {
  const { build } = await import('esbuild');
  const out = await build({ entryPoints: [join(process.cwd(), 'console', 'src', 'format.ts')], bundle: true, format: 'esm', platform: 'neutral', write: false, logLevel: 'silent' });
  format = (await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0]!.text).toString('base64')}`)) as Format;
});

describe('console format: async results', () => {
  it('a result whose body was not kept names its size; a kept one shows its body', () => {
    assert.match(format.resultText({ headers: { 'x-fp-result-omitted': String(7 * 1024 * 1024) }, body: '' }), /^\(body not kept: 7168 KiB, over the 256 KiB/);
    assert.equal(format.resultText({ headers: {}, body: { ok: true } }), '{\n  "ok": true\n}');
    assert.equal(format.resultText({ headers: { 'content-type': 'text/plain' }, body: 'hi' }), 'hi');
  });
});

describe('shownText: more than 30 combining marks in a row are cut (red team round 18)', () => {
  it('keeps text that needs its marks, cuts a run past the stream-safe bound and counts code points', () => {
    for (const text of ['Tiếng Việt', 'हिन्दी', 'e\u0301\u0302\u0303', '👍🏽 ❤️', `x${'\u0301'.repeat(30)}y`]) assert.equal(format.shownText(text), text);
    assert.equal(format.shownText(`a${'\u0301'.repeat(31)}b`), `a${'\u0301'.repeat(30)}[1 more combining marks]b`);
    // U+1D167 (a musical combining mark) is two UTF-16 units: counted once.
    assert.equal(format.shownText(`a${'\u0301'.repeat(30)}${'\u{1D167}'.repeat(5)}`), `a${'\u0301'.repeat(30)}[5 more combining marks]`);
    assert.equal(format.resultText({ headers: { 'content-type': 'text/plain' }, body: `a${'\u0301'.repeat(100)}` }), `a${'\u0301'.repeat(30)}[70 more combining marks]`);
  });
});

