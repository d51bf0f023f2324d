/**
 * Every Unicode Bidi_Control character is shown as an escape wherever a function's text is read
 * (red team round 26): the set of protocol/visible-text.ts lacked the Arabic letter mark U+061C, a
 * strong right-to-left character like U+200F, so `balance \u061c10-20` read `balance 20-10` in the
 * console's log view, a run's request, the curl line and the CLI. Checked against the property
 * itself, so a character Unicode adds is caught here too.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { terminalSafe } from '../../cli/terminal.js';

// The console's modules, bundled as the console is (console-format.test.ts does the same).
let shownText: (text: string) => string;
let logText: (text: string) => string;
let shellQuote: (s: string) => string;
before(async () => {
  const { build } = await import('esbuild');
  const bundled = async (file: string): Promise<Record<string, unknown>> => {
    const out = await build({ entryPoints: [join(process.cwd(), 'console', 'src', file)], bundle: true, format: 'esm', platform: 'neutral', write: false, logLevel: 'silent' });
    return (await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0]!.text).toString('base64')}`)) as Record<string, unknown>;
  };
  const format = await bundled('format.ts');
  shownText = format['shownText'] as typeof shownText;
  logText = format['logText'] as typeof logText;
  shellQuote = (await bundled('curl.ts'))['shellQuote'] as typeof shellQuote;
});

const BIDI_CONTROLS = [...Array(0x10000).keys()].map((cp) => String.fromCharCode(cp)).filter((c) => /\p{Bidi_Control}/u.test(c));

describe('visible text: every bidi control is an escape', () => {
  it(`the ${BIDI_CONTROLS.length} Bidi_Control characters, U+061C among them`, () => {
    assert.ok(BIDI_CONTROLS.includes('\u061c') && BIDI_CONTROLS.length >= 12, BIDI_CONTROLS.map((c) => c.charCodeAt(0).toString(16)).join(' '));
    for (const c of BIDI_CONTROLS) {
      const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
      const line = `balance ${c}10-20`;
      assert.equal(shownText(line), `balance \\u${hex}10-20`, `shownText U+${hex}`);
      assert.equal(logText(line), `balance \\u${hex}10-20`, `logText U+${hex}`);
      assert.equal(terminalSafe(line).includes(c), false, `terminalSafe U+${hex}`);
      assert.equal(shellQuote(line), `$'balance \\u${hex}10-20'`, `shellQuote U+${hex}`);
    }
  });
});
