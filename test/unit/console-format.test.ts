/**
 * The console's text helpers (console/src/format.ts) that need no page: an async run's result whose
 * body the platform did not keep (over 256 KiB, `x-fp-result-omitted`) says so instead of showing an
 * empty box (docs/adr/0048-newcomer-round-3.md). Bundled by esbuild in memory, as the console build does.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { before, describe, it } from 'node:test';

interface Format {
  resultText(result: { headers?: Record<string, string>; body?: unknown; bodyBase64?: string }, of?: 'stored' | 'shown'): string;
  shownText(text: string): string;
  logText(msg: string): string;
  inlineText(text: string): string;
  levelText(level: string): string;
  bodyText(body: unknown, base64?: string): string;
  pct(ratio: number | null | undefined): string;
  CONTINUATION: string;
}

let format: Format;
let curl: { shellQuote(s: string): string };
before(async () => {
  const { build } = await import('esbuild');
  const bundled = async (file: string): Promise<unknown> => {
    const out = await build({ entryPoints: [join(process.cwd(), 'console', 'src', file)], bundle: true, format: 'esm', platform: 'neutral', write: false, logLevel: 'silent' });
    return import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0]!.text).toString('base64')}`);
  };
  format = (await bundled('format.ts')) as Format;
  curl = (await bundled('curl.ts')) as typeof curl;
});

describe('console format: async results', () => {
  it('a result whose body was not kept names its size; a kept one shows its body', () => {
    assert.match(format.resultText({ headers: { 'x-fp-result-omitted': String(7 * 1024 * 1024) }, body: '' }), /^\(body not kept: 7168 KiB, over what an async run's result keeps, FP_ASYNC_RESULT_MAX_BYTES: 256 KiB by default/);
    assert.equal(format.resultText({ headers: {}, body: { ok: true } }), '{\n  "ok": true\n}');
    // The cap it was kept under, recorded with it (loose ends round 8: a platform keeping 1 KiB said "256 KiB by default").
    assert.match(format.resultText({ headers: { 'x-fp-result-omitted': '1025', 'x-fp-result-max-bytes': '1024' }, body: '' }), /^\(body not kept: 1025 bytes, over the 1024 bytes an async run's result keeps on this platform, FP_ASYNC_RESULT_MAX_BYTES;/);
    assert.match(format.resultText({ headers: { 'x-fp-result-omitted': String(7 * 1024 * 1024), 'x-fp-result-max-bytes': '0' }, body: '' }), /^\(body not kept: 7168 KiB, over the 0 bytes /);
    assert.equal(format.resultText({ headers: { 'content-type': 'text/plain' }, body: 'hi' }), 'hi');
  });

  it("a test call's answer over the 6 MiB the Invoke tab is sent says so with its size, never an empty body (console round 4)", () => {
    assert.match(format.resultText({ headers: { 'x-fp-result-omitted': String(7 * 1024 * 1024) }, body: '' }, 'shown'), /^\(body not shown: 7168 KiB, over the 6144 KiB a test call shows; .*call its URL/);
    assert.equal(format.resultText({ headers: {}, body: 'hi' }, 'shown'), 'hi');
  });
});

describe('pct: a share short of all never reads 100% (console round 7)', () => {
  it('keeps a decimal near 100%, as the CLI does, and says 100% only of all', () => {
    assert.equal(format.pct(1007 / 1010), '99.7%');
    assert.equal(format.pct(0.9996), '>99.9%');
    assert.equal(format.pct(1), '100%');
    assert.equal(format.pct(0.7), '70%');
    assert.equal(format.pct(0.05), '5.0%');
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


describe('what a function wrote shows its controls escaped, as the CLI does (console round ui1)', () => {
  it('bidi controls, ESC, a lone CR and the Unicode separators are escapes; line breaks and tabs of a body stay', () => {
    assert.equal(format.shownText('bidi \u202egnp.exe\u202c \u2066iso\u2069 \u200f'), 'bidi \\u202egnp.exe\\u202c \\u2066iso\\u2069 \\u200f');
    assert.equal(format.shownText('ansi \x1b[31mred\x1b]52;c;aGk=\x07 \x9b'), 'ansi \\x1b[31mred\\x1b]52;c;aGk=\\x07 \\x9b');
    assert.equal(format.shownText('a\rb\r\nc\td\ne\u2028f\u2029'), 'a\\rb\r\nc\td\ne\\u2028f\\u2029');
    assert.equal(format.shownText('Tiếng Việt, עברית, العربية'), 'Tiếng Việt, עברית, العربية');
  });

  it('a line break in one log line starts a marked continuation, never a line that passes for another', () => {
    const shown = format.logText('ok\n12:00:00.000 deadbeef run ended succeeded 200 1.0 ms\r\nx\ry');
    assert.equal(shown, `ok\n${format.CONTINUATION}12:00:00.000 deadbeef run ended succeeded 200 1.0 ms\n${format.CONTINUATION}x\\ry`);
    for (const line of shown.split('\n').slice(1)) assert.ok(line.startsWith(format.CONTINUATION));
  });

  it('a binary body says how many bytes it has (base64 padding is not data)', () => {
    for (const n of [0, 1, 2, 3, 1024, 1025]) {
      const base64 = Buffer.alloc(n, 0xff).toString('base64');
      assert.match(format.bodyText(undefined, base64), new RegExp(`^\\(${n} bytes, not text\\)`), `${n} bytes`);
    }
  });
});

describe('a word a function named inside a line of the console is one line of text (console round 3)', () => {
  it('a level or an exception type escapes its line breaks and tabs as well, and a level is cut at 16 characters', () => {
    assert.equal(format.inlineText('Bad\u202egnp\nforged\tx'), 'Bad\\u202egnp\\nforged\\tx');
    assert.equal(format.levelText('WARNING'), 'WARNING');
    assert.equal(format.levelText('N\n12:00:00.000 deadbeef run ended'), 'N\\n12:00:00.000 d…');
    assert.doesNotMatch(format.levelText(`x${'\u0301'.repeat(100)}`), /\p{M}{17}/u);
  });
});

describe('the curl line quotes what it shows: a word with a control is $\'…\' with escapes (console round ui1)', () => {
  it('bash reads every word back as it was, and the shown word has no raw control', () => {
    for (const word of ['plain', "it's", 'x-h: \u202egnp.exe', 'a\nb\tc\rd', "q'\\\u2066\u2069", 'esc \x1b[2J \x07', 'c1 \u0085 \u009b', '€ ü 日本']) {
      const quoted = curl.shellQuote(word);
      assert.doesNotMatch(quoted, /[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/, JSON.stringify(quoted));
      assert.equal(execFileSync('bash', ['-c', `printf %s ${quoted}`], { encoding: 'utf8' }), word, JSON.stringify(quoted));
    }
  });
});
