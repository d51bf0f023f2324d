/**
 * A state directory whose SQLite files are damaged (reliability round 3): overwritten mid-file,
 * async.db opened and took async runs (202) that no claim could ever read, platform.db served with
 * versions silently missing, cron-ticks.db went unnoticed until a tick. Now the start stops: exit 1,
 * `fp-platform: error [STATE_DAMAGED]` naming the file, and the file is left as it was.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { started, startMain } from './main-harness.js';
import { Api, deployed, py } from './platform-harness.js';

/** Overwrites the file's second page (SQLite's default page size is 4096) with random bytes. */
function damage(file: string): void {
  assert.ok(statSync(file).size >= 3 * 4096, `${file} is too small to damage a middle page`);
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, randomBytes(4096), 0, 4096, 4096);
  } finally {
    closeSync(fd);
  }
}

describe('a damaged state file', { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  for (const file of ['async.db', 'platform.db', 'cron-ticks.db']) {
    it(`${file} damaged mid-file: the start stops with STATE_DAMAGED naming it, and leaves it as it was`, async () => {
      const stateDir = mkdtempSync(join(tmpdir(), 'fp-damaged-'));
      dirs.push(stateDir);
      const first = startMain(['--state-dir', stateDir, '--port', '0']);
      const { url, token } = await started(first);
      // Rows in every file: a function with a version (platform.db), an async run (async.db), a
      // cron trigger's claimed ticks and a Stripe delivery (cron-ticks.db: its tables only, here).
      await deployed(new Api(url, token ?? null), 'hello', { 'main.py': py('def handler(event, context):', '    return {"ok": 1}') });
      for (let i = 0; i < 3; i++) assert.equal((await fetch(`${url}/async/hello/`, { method: 'POST', body: randomBytes(2000).toString('hex') })).status, 202);
      first.child.kill('SIGTERM');
      assert.equal((await first.exited).code, 0);
      const path = join(stateDir, file);
      damage(path);
      const before = readFileSync(path);
      const proc = startMain(['--state-dir', stateDir, '--port', '0']);
      // Before: it started (and served) on the damaged file; fail then instead of waiting for ever.
      const served = started(proc).then(() => true, () => new Promise<never>(() => {}));
      if (await Promise.race([served, proc.exited.then(() => false)])) {
        proc.child.kill('SIGKILL');
        assert.fail(`the platform started on a damaged ${file}`);
      }
      const second = await proc.exited;
      assert.equal(second.code, 1, second.stdout + second.stderr);
      assert.match(second.stderr, /fp-platform: error \[STATE_DAMAGED\] /);
      assert.ok(second.stderr.includes(path), second.stderr);
      assert.doesNotMatch(second.stderr, /\n\s+at /, 'no stack trace');
      assert.ok(readFileSync(path).equals(before), 'the file is left as it was');
    });
  }
});
