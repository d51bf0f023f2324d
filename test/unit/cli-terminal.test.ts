/**
 * What a function wrote, printed by the CLI (cli/terminal.ts): control characters, ANSI escapes,
 * line breaks and bidi overrides come out as visible escapes, long lines are cut; times are local
 * ISO 8601 with their offset.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Output } from '../../cli/output.js';
import { localIso, MAX_PRINTED_CHARS, messageLines, terminalSafe, withoutSequences } from '../../cli/terminal.js';

describe('terminalSafe', () => {
  it('escapes every control character, ESC and the Unicode tricks; keeps ordinary text', () => {
    assert.equal(terminalSafe('red \x1b[31mX\x1b[0m'), 'red \\x1b[31mX\\x1b[0m');
    assert.equal(terminalSafe('a\n\ndata: fake\r\tb'), 'a\\n\\ndata: fake\\r\\tb');
    assert.equal(terminalSafe('bell\x07 del\x7f c1\x9b[2J'), 'bell\\x07 del\\x7f c1\\x9b[2J');
    assert.equal(terminalSafe('evil\u202Etxt.exe \u2028 \u2066'), 'evil\\u202etxt.exe \\u2028 \\u2066');
    assert.equal(terminalSafe('héllo ✓ 日本 🎉'), 'héllo ✓ 日本 🎉');
    for (let c = 0; c < 0xa0; c++) {
      const out = terminalSafe(String.fromCharCode(c));
      if (c < 0x20 || (c >= 0x7f && c < 0xa0)) assert.match(out, /^\\/, `U+${c.toString(16)}`);
    }
  });

  it('cuts long text and says how much was left out (never inside a surrogate pair)', () => {
    const out = terminalSafe('x'.repeat(MAX_PRINTED_CHARS + 10));
    assert.ok(out.endsWith(' …[+10 chars]'));
    const emoji = terminalSafe(`${'a'.repeat(9)}🎉🎉`, 10);
    assert.equal(emoji, `${'a'.repeat(9)} …[+4 chars]`);
  });
});

describe('messageLines (a log message of several lines: ADR 0224)', () => {
  it("is one entry per line of log.exception's record, each escaped, the trailing break dropped", () => {
    const record = 'caught it\nTraceback (most recent call last):\n  File "/code/main.py", line 5, in inner\n    return 1 / x\r\nZeroDivisionError: division by zero\n';
    assert.deepEqual(messageLines(record), ['caught it', 'Traceback (most recent call last):', '  File "/code/main.py", line 5, in inner', '    return 1 / x', 'ZeroDivisionError: division by zero']);
    assert.deepEqual(messageLines('one line'), ['one line']);
    assert.deepEqual(messageLines(''), ['']);
    // Every control but the line break itself stays an escape: a lone CR, ESC, a Unicode line separator.
    assert.deepEqual(messageLines('a\rb\n\x1b[2Jc\u2028d'), ['a\\rb', '\\x1b[2Jc\\u2028d']);
  });

  it('cuts all its lines together at the limit and says how much was left out', () => {
    assert.deepEqual(messageLines('abcd\nefgh\nijkl', 6), ['abcd', 'ef …[+6 chars, 1 more line]']);
    assert.deepEqual(messageLines('x'.repeat(MAX_PRINTED_CHARS + 10)), [`${'x'.repeat(MAX_PRINTED_CHARS)} …[+10 chars]`]);
  });
});

describe('localIso', () => {
  it('is local time with milliseconds and the offset', () => {
    const ms = Date.UTC(2026, 0, 31, 12, 34, 56, 789);
    const text = localIso(ms);
    assert.match(text, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/);
    assert.equal(Date.parse(text), ms);
  });
});

describe('withoutSequences and Output', () => {
  const OSC52 = 'x\x1b]52;c;ZWNobyBwd25lZA==\x07 \u009b2J';

  it('escapes ESC and the C1 controls only: tabs, line breaks and other text stay', () => {
    assert.equal(withoutSequences(OSC52), 'x\\x1b]52;c;ZWNobyBwd25lZA==\x07 \\x9b2J');
    assert.equal(withoutSequences('a\tb\r\nc ✓'), 'a\tb\r\nc ✓');
    for (let c = 0x80; c < 0xa0; c++) assert.match(withoutSequences(String.fromCharCode(c)), /^\\x/);
  });

  it('a line on a terminal never starts a sequence (a name or URL a hostile server sent in a 2xx answer); piped on, it is left as it is; notes always', () => {
    const written: string[] = [];
    const io = (tty: boolean) => ({ stdout: (t: string) => written.push(t), stderr: (t: string) => written.push(`err:${t}`), readStdin: async () => Buffer.alloc(0), stdoutIsTTY: tty });
    new Output(io(true), false).line(`name ${OSC52}`);
    new Output(io(false), false).line(`name ${OSC52}`);
    new Output(io(false), false).note(`note ${OSC52}`);
    assert.deepEqual(written, [`name ${withoutSequences(OSC52)}\n`, `name ${OSC52}\n`, `err:note ${withoutSequences(OSC52)}\n`]);
    assert.ok(!/[\x1b\x80-\x9f]/.test(written[0]! + written[2]!));
  });
});
