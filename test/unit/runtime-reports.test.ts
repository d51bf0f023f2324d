/** What a runtime reports is bounded and typed by the host (protocol/runtime-reports.ts, docs/security.md "The runtime's channel"). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromWireError } from '../../poolmgr/outcome.js';
import { boundedLogLines, capErrorText, escapeControls, MAX_ERROR_TEXT_CHARS, type WireError } from '../../protocol/index.js';

describe('runtime reports', () => {
  it('cuts an error\'s texts as the runtime would, and leaves out a file or line of the wrong type', () => {
    const err = fromWireError({ class: 'user_error', type: 'T'.repeat(10_000), message: 'M'.repeat(1_000_000), stack: 'S'.repeat(1_000_000), file: { a: 1 }, line: 'x' } as unknown as WireError);
    assert.equal(err.code, 'FUNCTION_ERROR');
    assert.ok(err.type.length < 400);
    assert.ok(err.message.length < MAX_ERROR_TEXT_CHARS + 100);
    assert.match(err.message, /\[\.\.\. \d+ characters cut \.\.\.\]/);
    assert.ok(err.stack!.length < MAX_ERROR_TEXT_CHARS + 100);
    assert.equal(err.file, undefined);
    assert.equal(err.line, undefined);
  });

  it('keeps a well-formed report as it is', () => {
    const report: WireError = { class: 'user_error', type: 'ValueError', message: 'bad', stack: 'Traceback…', file: '/code/main.py', line: 3 };
    assert.deepEqual(fromWireError(report), { code: 'FUNCTION_ERROR', ...report });
    assert.equal(capErrorText('short'), 'short');
  });

  it('an unknown class of any size is a protocol error with a short message', () => {
    const err = fromWireError({ class: 'x'.repeat(1_000_000) } as unknown as WireError);
    assert.equal(err.code, 'RUNTIME_PROTOCOL_ERROR');
    assert.ok(err.message.length < 1000);
  });

  it('bounds a specialization\'s lines on their own, with the notice', () => {
    const lines = boundedLogLines(Array.from({ length: 10 }, () => ({ stream: 'stdout', ts: 1, msg: 'y'.repeat(100_000) })));
    assert.equal(lines.length, 6);
    assert.equal(lines[5]!.msg, '[logs truncated by the platform: 5 lines dropped]');
    assert.deepEqual(boundedLogLines(undefined), []);
  });
});

describe('runtime output forwarded to the operator (FP_DEBUG)', () => {
  it('shows control characters but newline and tab as escapes', () => {
    assert.equal(escapeControls('a\x1b]52;c;cHduZWQ=\x07b\r\n\tc\x7f\x9b'), 'a\\x1b]52;c;cHduZWQ=\\x07b\\x0d\n\tc\\x7f\\x9b');
    assert.equal(escapeControls('plain é ☃'), 'plain é ☃');
  });
});

describe('a log line\'s level (red team round 52)', () => {
  it('is kept when it is a level\'s name, left out when it is one of the words the CLI prints in its column, a look-alike or no name', () => {
    const levels = ['INFO', 'TRACE', 'audit-2', 'Level 5', 'Level -3', 'end', 'END', 'platform', 'Run', '\u0435nd', 'end     x', 'a\nb', 'x'.repeat(33), '', 7];
    const lines = boundedLogLines(levels.map((level) => ({ stream: 'stdout', ts: 1, msg: 'm', level })));
    assert.deepEqual(lines.map((l) => l.level ?? null), ['INFO', 'TRACE', 'audit-2', 'Level 5', 'Level -3', null, null, null, null, null, null, null, null, null, null]);
  });
});
