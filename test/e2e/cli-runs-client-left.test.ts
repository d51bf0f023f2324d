/**
 * `fastapi-platform runs <name>`: a stream the client abandoned is listed as such (apps round 15).
 * Its run ends `succeeded` with the app's status and `clientAborted: true`; the list said only
 * `ok 200`, the same as a stream read to its end.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { spawnCli } from '../helpers/cli-harness.js';
import { createFunction, deploy, fnName, py, sleep, upload, usePlatform } from './platform-harness.js';

const h = usePlatform();
const NAME = fnName('left');
const home = mkdtempSync(join(tmpdir(), 'fp-cli-left-'));
after(() => rmSync(home, { recursive: true, force: true }));

/** GETs `path` over a raw socket, reads until `text` arrived, then hangs up. */
function readThenLeave(url: string, path: string, text: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname, () => sock.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`));
    let got = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no ${text} in 30 s: ${JSON.stringify(got)}`)); }, 30_000);
    sock.on('data', (b: Buffer) => {
      got += b.toString();
      if (got.includes(text)) { clearTimeout(timer); sock.destroy(); resolve(); }
    });
    sock.on('error', (err) => { clearTimeout(timer); reject(err); });
  });
}

describe('runs list: a stream the client abandoned', () => {
  it('says "client went away" beside the status', async () => {
    await createFunction(h.api, NAME);
    await upload(h.api, NAME, {
      'main.py': py(
        'import asyncio',
        'async def app(scope, receive, send):',
        '    if scope["type"] != "http":',
        '        return',
        '    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})',
        '    i = 0',
        '    while True:',
        '        await send({"type": "http.response.body", "body": b"tick %d\\n" % i, "more_body": True})',
        '        i += 1',
        '        await asyncio.sleep(0.05)',
      ),
    }, { entrypoint: 'main:app' });
    await deploy(h.api, NAME);
    await readThenLeave(h.url, `/fn/${NAME}/`, 'tick 2');
    const env = { FP_URL: h.url, FP_TOKEN: h.api.token ?? '', FP_CONFIG_DIR: join(home, 'config'), HOME: home };
    let line = '';
    for (let i = 0; i < 60 && !line.includes('GET /'); i++) {
      const r = await spawnCli(['runs', NAME], { env });
      line = r.stdout.split('\n').find((l) => l.includes('GET /')) ?? '';
      if (!line.includes('GET /')) await sleep(500);
    }
    assert.match(line, /ok 200, client went away/, line);
  });
});
