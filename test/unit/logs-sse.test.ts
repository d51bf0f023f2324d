/**
 * The live-logs wire: SSE framing (controlplane/logs/sse.ts) read back by the CLI's parser
 * (cli/sse.ts) — what a function prints never splits or forges an event; the filters; levels;
 * the CLI's repeat-free joining of stored and live lines (PrintedLines).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { MAX_RUNS_REMEMBERED, PrintedLines } from '../../cli/commands/logs.js';
import { connectOnce, MAX_LINE_CHARS, SseParser, type SseEvent } from '../../cli/sse.js';
import { entryEvent, filterEvent, gapEvent, readyEvent, type FeedEntry, type FeedEvent } from '../../controlplane/logs/index.js';
import { atLeast, capLine, levelOf, parseLevel } from '../../protocol/index.js';

function parseAll(text: string, chunk = text.length): { events: SseEvent[]; parser: SseParser } {
  const events: SseEvent[] = [];
  const parser = new SseParser((e) => events.push(e));
  for (let i = 0; i < text.length; i += chunk) assert.ok(parser.push(text.slice(i, i + chunk)));
  return { events, parser };
}

const HOSTILE = 'ok\n\ndata: {"fake":true}\n\nevent: end\r\nid: 9999999999999-0\r\r\x1b[31mred\u2028\x00';

function linesEntry(msg: string, key = '1700000000000-0'): FeedEntry {
  const event: FeedEvent = { kind: 'lines', function: 'f', version: '1', runId: 'r1', attempt: 1, lines: [{ i: 0, ts: 1, stream: 'stdout', msg }, { i: 1, ts: 2, stream: 'log', level: 'ERROR', msg: 'second' }] };
  return { id: { ms: 1700000000000, seq: 0 }, key, event, n: 2, c: 2, bytes: 100 };
}

describe('SSE framing', () => {
  it('keeps a hostile message one event, byte for byte, in any chunking', () => {
    const entry = linesEntry(HOSTILE);
    const text = readyEvent('f', '1-0', null) + entryEvent(entry, entry.event) + gapEvent({ reason: 'behind', since: 1, dropped: 3 }, '5-0');
    for (const chunk of [text.length, 7, 1]) {
      const { events, parser } = parseAll(text, chunk);
      assert.deepEqual(events.map((e) => e.type), ['ready', 'logs', 'gap']);
      const logs = JSON.parse(events[1]!.data) as { lines: { msg: string }[] };
      assert.equal(logs.lines[0]!.msg, HOSTILE);
      assert.equal(events[1]!.id, '1700000000000-0');
      assert.equal(parser.lastId, '5-0');
      assert.equal(parser.retryMs, 2000);
    }
    // Not one raw line break of the message reached the wire.
    assert.equal(entryEvent(entry, entry.event).split('\n').length, 5);
  });

  it('parses the SSE rules: comments, CRLF, multi-line data, id kept across events', () => {
    const { events } = parseAll(': keepalive\r\n\r\nid: 7-0\r\nevent: logs\r\ndata: a\r\ndata: b\r\n\r\nevent: end\ndata: {}\n\n', 3);
    assert.deepEqual(events, [{ type: 'logs', data: 'a\nb', id: '7-0' }, { type: 'end', data: '{}', id: '7-0' }]);
  });
});

describe('SSE bounds', () => {
  it('an endless event of short data lines ends the connection once its data passes MAX_LINE_CHARS (nothing more is kept)', () => {
    const events: SseEvent[] = [];
    const parser = new SseParser((e) => events.push(e));
    const chunk = 'data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n'.repeat(1000); // ~31 000 characters of data, no blank line
    let pushes = 0;
    while (parser.push(chunk)) {
      pushes++;
      assert.ok(pushes < 1000, 'the parser kept taking data lines of one event');
    }
    assert.ok(pushes * 31_000 >= MAX_LINE_CHARS - 31_000, `stopped early, after ${pushes} pushes`);
    assert.deepEqual(events, []);
    // The next connection (connectOnce starts it with newConnection) parses from a clean start.
    parser.newConnection();
    assert.ok(parser.push('data: a\ndata: b\n\n'));
    assert.deepEqual(events, [{ type: 'message', data: 'a\nb', id: null }]);
  });

  it('a line past MAX_LINE_CHARS ends that connection only: the next one starts clean, not with the long line\'s rest', () => {
    const events: SseEvent[] = [];
    const parser = new SseParser((e) => events.push(e));
    assert.equal(parser.push('data: ' + 'x'.repeat(MAX_LINE_CHARS + 1)), false);
    parser.newConnection();
    assert.ok(parser.push('id: 3-0\ndata: after\n\n'));
    assert.deepEqual(events, [{ type: 'message', data: 'after', id: '3-0' }]);
  });
});

describe('connectOnce', () => {
  it('a connection cut by a line past the bound leaves nothing of it to the next connection', async () => {
    let served = 0;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // The first connection: an endless line; the second: one event.
      if (served++ === 0) res.end('data: ' + 'x'.repeat(MAX_LINE_CHARS + 10));
      else res.end('id: 4-0\ndata: second\n\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const events: SseEvent[] = [];
      const parser = new SseParser((e) => events.push(e));
      const signal = new AbortController().signal;
      assert.deepEqual(await connectOnce({ url, headers: {}, signal }, parser), { kind: 'ended' });
      assert.deepEqual(await connectOnce({ url, headers: {}, signal }, parser), { kind: 'ended' });
      assert.deepEqual(events, [{ type: 'message', data: 'second', id: '4-0' }]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('filters and levels', () => {
  it('maps levels: logging names, aliases, stdout as info, stderr as error', () => {
    assert.equal(parseLevel('WARN'), 'warning');
    assert.equal(parseLevel('Critical'), 'critical');
    assert.equal(parseLevel('loud'), null);
    assert.equal(levelOf({ stream: 'stdout' }), 'info');
    assert.equal(levelOf({ stream: 'stderr' }), 'error');
    assert.equal(levelOf({ stream: 'log', level: 'DEBUG' }), 'debug');
    assert.equal(levelOf({ stream: 'log', level: 'custom' }), 'info');
    assert.equal(atLeast({ stream: 'log', level: 'WARNING' }, 'warning'), true);
    assert.equal(atLeast({ stream: 'stdout' }, 'warning'), false);
  });

  it('filters lines by run, level and text; a run end by run and level; drops an event with nothing left', () => {
    const { event } = linesEntry('hello world');
    assert.deepEqual(filterEvent(event, { level: 'error' }), { ...event, lines: [event.kind === 'lines' ? event.lines[1]! : null] });
    assert.equal(filterEvent(event, { grep: 'nowhere' }), null);
    assert.equal(filterEvent(event, { runId: 'other' }), null);
    assert.equal(filterEvent(event, { grep: 'world' })?.kind, 'lines');
    const end: FeedEvent = { kind: 'end', function: 'f', version: '1', runId: 'r1', attempt: 1, status: 'failed', errorCode: 'FUNCTION_TIMEOUT', httpStatus: 504, durationMs: 1, lines: 2 };
    assert.equal(filterEvent(end, { level: 'error' }), end);
    assert.equal(filterEvent({ ...end, status: 'succeeded' }, { level: 'error' }), null);
    assert.equal(filterEvent(end, { grep: 'x' }), null);
  });

  it('caps a line and says how much was cut', () => {
    assert.equal(capLine('abcdef', 4), 'abcd …[+2 chars]');
    assert.equal(capLine('abc', 4), 'abc');
  });
});

describe('the CLI joins stored and live lines without repeats', () => {
  it('prints each (run, attempt, index) once, in any order, and counts what it printed', () => {
    const p = new PrintedLines();
    assert.equal(p.take('r1', 1, 5), true);
    assert.equal(p.take('r1', 1, 6), true);
    assert.equal(p.take('r1', 1, 6), false);
    assert.equal(p.take('r1', 1, 0), true);
    assert.equal(p.take('r1', 1, 2), true);
    assert.equal(p.take('r1', 1, 1), true);
    assert.equal(p.take('r1', 1, 1), false);
    assert.equal(p.count('r1', 1), 5);
    for (const i of [3, 4]) assert.equal(p.take('r1', 1, i), true);
    assert.equal(p.count('r1', 1), 7);
    for (let i = 0; i <= 6; i++) assert.equal(p.take('r1', 1, i), false);
    assert.equal(p.take('r1', 2, 0), true);
    assert.equal(p.count('r2', 1), 0);
  });

  it('remembers a bounded number of runs, forgetting the least recent first', () => {
    const p = new PrintedLines(3);
    for (const r of ['a', 'b', 'c']) p.take(r, 1, 0);
    p.take('a', 1, 1); // a is now the most recent
    p.take('d', 1, 0);
    assert.equal(p.count('b', 1), 0);
    assert.equal(p.count('a', 1), 2);
    assert.ok(MAX_RUNS_REMEMBERED >= 1000);
  });
});
