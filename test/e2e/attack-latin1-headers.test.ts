/**
 * Red team round 22 (red25): a function's Latin-1 header values (WireResponse.latin1) are written
 * as one byte per character. A value the runtime did not make from bytes (the app reaches the
 * exchange through `send.__self__` and adds a str of its own; or writes a frame itself) may hold
 * characters past U+00FF: U+010D U+010A passed the control-character check and went out as CR LF,
 * a header line of the function's own past the gateway's checks (an origin-wide header in the path
 * form, a second response on a kept-alive connection).
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { createFunction, deploy, py, upload, usePlatform } from './platform-harness.js';

const APP = py(
  'async def app(scope, receive, send):',
  '    if scope["type"] != "http":',
  '        return',
  '    await receive()',
  '    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-name", b"caf\\xe9")]})',
  '    # Past the ASGI messages: a str of its own in the exchange the runtime sends from',
  '    send.__self__.headers.append(("x-split", "a\\u010d\\u010aclear-site-data: \\"*\\"\\u010d\\u010aservice-worker-allowed: /"))',
  '    await send({"type": "http.response.body", "body": b"hi"})',
);

/** The raw head of GET `path` (until the blank line), as bytes read as Latin-1. */
function rawHead(url: string, path: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end !== -1) {
        socket.destroy();
        resolve(text.slice(0, end));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
  });
}

describe('attack: Latin-1 header values past U+00FF (red team round 22)', () => {
  const p = usePlatform();

  it('a character past U+00FF in a Latin-1 header value never becomes a line of the head', async () => {
    await createFunction(p.api, 'split');
    await upload(p.api, 'split', { 'main.py': APP }, { entrypoint: 'main:app' });
    await deploy(p.api, 'split');
    const head = await rawHead(p.url, '/fn/split/');
    // A value that cannot go out as written is the function's bad answer (502 FUNCTION_BAD_RESPONSE).
    assert.match(head, /^HTTP\/1\.1 502 /, head);
    const lines = head.split('\r\n').map((line) => line.toLowerCase());
    assert.ok(!lines.some((line) => line.startsWith('clear-site-data') || line.startsWith('service-worker-allowed')), head);
    assert.ok(!/[\r\n]/.test(head.split('\r\n').find((l) => l.toLowerCase().startsWith('x-split')) ?? ''), head);
  });
});
