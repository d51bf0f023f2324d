/**
 * Another process holds a write lock on a SQLite file of the state directory (an operator's
 * `sqlite3 platform.db` with a write still open, a VACUUM, a tool writing the file). SQLite waits
 * for such a lock in a busy loop on the platform's one serving thread: with the 5 s wait it had,
 * every call of every function stalled while the run records' writes waited (reliability round 5:
 * sync calls' p50 3 ms → 5.4 s under a 12 s lock on platform.db, the same on async.db), and an API
 * write answered 500 INTERNAL_ERROR after 5 s. Now the wait is brief once the platform serves:
 * calls go on, the records wait in memory, a write the caller asked for is 503 STORE_BUSY.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deployed, fnName, handlerReturning, runsWritten, sleep, usePlatform } from './platform-harness.js';

const name = fnName('locked');
const h = usePlatform({}, async (harness) => {
  await deployed(harness.api, name, handlerReturning('ok'));
});

/** A python3 process holding `BEGIN IMMEDIATE` on `file` (a writer's lock) until `release`. */
async function holdWriteLock(file: string): Promise<{ release(): Promise<void> }> {
  const child: ChildProcess = spawn('python3', ['-c', [
    'import sqlite3, sys',
    `c = sqlite3.connect(${JSON.stringify(file)}, isolation_level=None)`,
    "c.execute('BEGIN IMMEDIATE')",
    "print('locked', flush=True)",
    'sys.stdin.read()',
    "c.execute('COMMIT')",
  ].join('\n')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code})`)));
  });
  return {
    async release() {
      child.stdin!.end();
      await exited;
    },
  };
}

/** Generous against a loaded machine; the stall it catches was 5 s per statement. */
const CALL_BOUND_MS = 2_500;

describe('a SQLite file of the state directory locked by another process', () => {
  for (const file of ['platform.db', 'async.db']) {
    it(`${file}: calls go on without waiting for the lock; a write asked for is 503 STORE_BUSY or ASYNC_QUEUE_UNAVAILABLE; all is written once it is released`, async () => {
      const lock = await holdWriteLock(join(h.stateDir, file));
      const runIds: string[] = [];
      try {
        // Long enough for the run records' writes (and the dispatcher's claims) to meet the lock.
        let slowest = 0;
        let refused: { status: number; body: { error?: { code: string; message: string } } } | null = null;
        for (let i = 0; i < 25; i++) {
          if (i === 5) {
            // A write the caller asked for, while the lock is held.
            const started = performance.now();
            refused = file === 'platform.db'
              ? await h.api.call('POST', '/functions', { name: fnName('during') })
              : await fetch(`${h.url}/async/${name}/`, { method: 'POST', body: '{}' }).then(async (r) => ({ status: r.status, body: await r.json() as { error?: { code: string; message: string } } }));
            slowest = Math.max(slowest, performance.now() - started);
          }
          const started = performance.now();
          const res = await fetch(`${h.url}/fn/${name}/`);
          await res.text();
          slowest = Math.max(slowest, performance.now() - started);
          assert.equal(res.status, 200);
          runIds.push(res.headers.get('x-run-id')!);
          await sleep(100);
        }
        assert.ok(slowest < CALL_BOUND_MS, `the slowest call took ${Math.round(slowest)} ms`);
        assert.equal(refused?.status, 503, JSON.stringify(refused?.body));
        if (file === 'platform.db') {
          assert.equal(refused.body.error?.code, 'STORE_BUSY');
        } else {
          assert.equal(refused.body.error?.code, 'ASYNC_QUEUE_UNAVAILABLE');
          assert.match(refused.body.error!.message, /lock/);
        }
      } finally {
        await lock.release();
      }
      assert.equal((await h.api.call('POST', '/functions', { name: fnName('after') })).status, 201);
      const queued = await fetch(`${h.url}/async/${name}/`, { method: 'POST', body: '{}' });
      assert.equal(queued.status, 202);
      await runsWritten(h.url);
      for (const runId of runIds) assert.equal((await h.api.call('GET', `/runs/${runId}`)).status, 200, runId);
    });
  }
});
