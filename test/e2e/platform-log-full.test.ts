/**
 * The platform's output on a disk that is full (reliability round 7, platform/log-streams.ts):
 * `node dist/platform/main.js >> platform.log 2>&1` with that disk full. Node threw ENOSPC from the
 * next write (the banner, a function's line outside a call, the SIGTERM notice) and the process
 * exited 1, taking every call with it. /dev/full answers every write ENOSPC, as a full disk does.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/servers.js';
import { py, sleep } from './platform-harness.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'platform', 'main.js');

describe('the platform with its output on a full disk', { skip: existsSync('/dev/full') ? false : 'no /dev/full' }, () => {
  it('serves, and stops cleanly, when no line it writes can be written', { timeout: 120_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-log-full-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'chatty'));
    writeFileSync(join(dir, 'chatty', 'platform.yaml'), 'kind: function\nname: chatty\nentrypoint: main:handler\n');
    // Its line at import is written by the platform (outside a call): one more failed write.
    writeFileSync(join(dir, 'chatty', 'main.py'), py('import sys', 'print("loading", file=sys.stderr, flush=True)', 'def handler(event, context):', '    return {"ok": True}'));
    const full = openSync('/dev/full', 'w');
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN, '--functions', dir, '--port', String(port)], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', FP_POOL_SIZE: '1', FP_SHUTDOWN_GRACE_MS: '2000' },
      stdio: ['ignore', full, full],
    });
    closeSync(full);
    t.after(() => child.kill('SIGKILL'));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    let gone = false;
    void exited.then(() => (gone = true));
    const url = `http://127.0.0.1:${port}`;
    // Before: it exited 1 at its banner.
    for (let i = 0; ; i++) {
      assert.ok(!gone, 'the platform exited');
      assert.ok(i < 600, 'not serving within 60 s');
      if ((await fetch(`${url}/healthz`).then((r) => r.status, () => 0)) === 200) break;
      await sleep(100);
    }
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}/fn/chatty/`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { ok: true });
    }
    await sleep(500);
    assert.ok(!gone, 'the platform exited after the function wrote outside a call');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, 'a clean stop, though its notice could not be written');
  });
});
