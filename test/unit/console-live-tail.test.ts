/**
 * The console's live tail, its pure parts (console/src/live-tail.ts, docs/console.md "The live
 * tail"): the Server-Sent Events parser that reads `GET …/logs/stream` in the page, and the level
 * filter that matches the API's. The module is bundled by esbuild in memory (as the console build
 * does) and imported from a data: URL; the tail against a real platform is in
 * test/e2e/console-journey.test.ts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';

interface SseEvent { id: string | null; event: string; data: string }
interface LiveTail {
  parseSse(buffer: string): { events: SseEvent[]; rest: string };
  atLeast(line: { stream: string; level?: string }, level: string): boolean;
}

let tail: LiveTail;
before(async () => {
  const { build } = await import('esbuild');
  const out = await build({ entryPoints: [join(process.cwd(), 'console', 'src', 'live-tail.ts')], bundle: true, format: 'esm', platform: 'neutral', write: false, logLevel: 'silent' });
  tail = (await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0]!.text).toString('base64')}`)) as LiveTail;
});

/** Feeds `chunks` one after another as the stream reader would, collecting events. */
function feed(chunks: string[]): { events: SseEvent[]; rest: string } {
  let rest = '';
  const events: SseEvent[] = [];
  for (const chunk of chunks) {
    const parsed = tail.parseSse(rest + chunk);
    events.push(...parsed.events);
    rest = parsed.rest;
  }
  return { events, rest };
}

describe('console live tail: the SSE parser', () => {
  it('reads the events the platform writes: id, event, data; comments and retry ignored', () => {
    const text = 'retry: 2000\n\nid: 1-0\nevent: ready\ndata: {"function":"f","resumedFrom":null}\n\n: keepalive\n\nid: 2-0\nevent: logs\ndata: {"lines":[]}\n\n';
    const { events, rest } = feed([text]);
    assert.deepEqual(events, [
      { id: '1-0', event: 'ready', data: '{"function":"f","resumedFrom":null}' },
      { id: '2-0', event: 'logs', data: '{"lines":[]}' },
    ]);
    assert.equal(rest, '');
  });

  it('keeps an unfinished event for the next chunk, wherever the chunk ends', () => {
    const text = 'id: 7-1\nevent: end\ndata: {"runId":"r","status":"succeeded"}\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      const { events, rest } = feed([text.slice(0, cut), text.slice(cut)]);
      assert.deepEqual(events, [{ id: '7-1', event: 'end', data: '{"runId":"r","status":"succeeded"}' }], `cut at ${cut}`);
      assert.equal(rest, '');
    }
  });

  it('takes CRLF and CR line ends, also split between chunks, and joins data lines with a newline', () => {
    assert.deepEqual(feed(['id: 1\r\ndata: a\r\ndata: b\r', '\n\r\n']).events, [{ id: '1', event: 'message', data: 'a\nb' }]);
    // CR alone: a last CR waits for the next byte (it may be a CRLF's first half).
    assert.deepEqual(feed(['data:x\r\rdata:y\r\r']).events, [{ id: null, event: 'message', data: 'x' }]);
    assert.deepEqual(feed(['data:x\r\rdata:y\r\r', ':\n']).events.map((e) => e.data), ['x', 'y']);
  });

  it('never ends an event early on text inside data (the platform escapes newlines in JSON)', () => {
    const msg = JSON.stringify({ lines: [{ msg: 'evil\n\ndata: {"forged":true}\n\n' }] });
    const { events } = feed([`id: 3-0\nevent: logs\ndata: ${msg}\n\n`]);
    assert.equal(events.length, 1);
    assert.deepEqual(JSON.parse(events[0]!.data), { lines: [{ msg: 'evil\n\ndata: {"forged":true}\n\n' }] });
  });
});

describe('console live tail: the level filter', () => {
  it('passes a line at the level or above, as GET …/logs?level= does', () => {
    assert.equal(tail.atLeast({ stream: 'stdout' }, ''), true);
    assert.equal(tail.atLeast({ stream: 'stdout' }, 'info'), true);
    assert.equal(tail.atLeast({ stream: 'stdout' }, 'warning'), false);
    assert.equal(tail.atLeast({ stream: 'stderr' }, 'error'), true);
    assert.equal(tail.atLeast({ stream: 'stderr' }, 'critical'), false);
    assert.equal(tail.atLeast({ stream: 'log', level: 'WARNING' }, 'warning'), true);
    assert.equal(tail.atLeast({ stream: 'log', level: 'DEBUG' }, 'info'), false);
    assert.equal(tail.atLeast({ stream: 'log', level: 'CRITICAL' }, 'error'), true);
    // A level the function named itself counts as info, and `fatal` as critical, as the API's filter has it
    // (protocol/live-logs.ts levelOf; the page's own copy hid `NOTICE` under every level chosen).
    assert.equal(tail.atLeast({ stream: 'log', level: 'NOTICE' }, 'info'), true);
    assert.equal(tail.atLeast({ stream: 'log', level: 'NOTICE' }, 'warning'), false);
    assert.equal(tail.atLeast({ stream: 'log', level: 'fatal' }, 'critical'), true);
  });
});
