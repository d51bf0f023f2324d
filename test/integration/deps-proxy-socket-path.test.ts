/**
 * The dependency builder's proxy socket under a deps root of any length (controlplane/deps/builder.ts
 * `viaShortPath`): a Unix socket path holds 107 bytes, and `dev`'s deps root is its cache under HOME
 * (~70 bytes under a test's or CI's HOME); the start check refused it outright, `dev` included (CI on
 * a clone at /check/work/main). The socket is made in the folder itself, where the box sees it, and
 * the short link it was listened through is gone.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { viaShortPath } from '../../controlplane/deps/builder.js';

describe('the builder\'s proxy socket in a long folder', () => {
  it('listens in the folder itself through a short link, removed once it listens', async (t) => {
    const top = mkdtempSync(join(tmpdir(), 'fp-longsock-'));
    t.after(() => rmSync(top, { recursive: true, force: true }));
    const folder = join(top, 'a'.repeat(60), 'b'.repeat(60));
    mkdirSync(folder, { recursive: true });
    assert.ok(Buffer.byteLength(join(folder, 'proxy.sock')) > 107);
    const linksBefore = readdirSync(tmpdir()).filter((n) => n.startsWith('fp-sock-')).length;
    const server = await viaShortPath(folder, 'proxy.sock', (socket) => new Promise<Server>((resolve, reject) => {
      const s = createServer((c) => c.end('pong'));
      s.once('error', reject);
      s.listen(socket, () => resolve(s));
    }));
    t.after(() => server.close());
    assert.ok(lstatSync(join(folder, 'proxy.sock')).isSocket(), 'the socket is in the folder');
    assert.equal(readdirSync(tmpdir()).filter((n) => n.startsWith('fp-sock-')).length, linksBefore, 'the short link is gone');
    // As the box reaches it: through a short path of its own to the same folder.
    const short = join(top, 's');
    symlinkSync(folder, short);
    const answer = await new Promise<string>((resolve, reject) => {
      const c = createConnection(join(short, 'proxy.sock'));
      let got = '';
      c.setEncoding('utf8').on('data', (d: string) => { got += d; }).on('end', () => resolve(got)).on('error', reject);
    });
    assert.equal(answer, 'pong');
  });
});
