/**
 * Red team round 28: PostgreSQL stores FerretDB's documents as `jsonb`, which takes no U+0000, and a
 * function's log line, error message or answer is its own text. One function's `print("\x00")` made
 * the batch of run records holding it fail (`unsupported Unicode escape sequence`, SQLSTATE 22P05);
 * a failed batch waits in memory and is retried whole, so no run of any workspace was recorded after
 * it (`/work/probe-red28/fns/nul`: another workspace's `hello` had "No runs yet"). The production
 * store writes such text with U+FFFD instead.
 *
 * Real PostgreSQL (initdb, on a Unix socket only, trust; as the `postgres` user when this runs as
 * root) and real FerretDB on it. Skipped where either is missing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openMongoStore } from '../../controlplane/store/production/index.js';
import type { Store } from '../../controlplane/store/index.js';
import { run } from '../conformance/fixtures.js';
import { testKey } from '../helpers/keyring.js';
import { freePort, serverSkip, startFerret, type ServerProcess } from '../helpers/servers.js';

const asRoot = process.geteuid?.() === 0;

/** `[command, args]` running `bin` as PostgreSQL's user (it refuses root). */
function pg(bin: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

function skipReason(): string | false {
  const servers = serverSkip('ferretdb');
  if (servers) return servers;
  try {
    execFileSync('initdb', ['--version'], { stdio: 'ignore' });
    execFileSync('pg_ctl', ['--version'], { stdio: 'ignore' });
    if (asRoot) execFileSync('id', ['postgres'], { stdio: 'ignore' });
  } catch {
    return 'no PostgreSQL (initdb, pg_ctl; as root, a postgres user) here';
  }
  return false;
}
const skip = skipReason();

describe('production store on FerretDB over PostgreSQL: a NUL in a run\'s text (red team round 28)', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-pg-nul-'));
  const data = join(dir, 'data');
  let ferret: ServerProcess;
  let store: Store;
  before(async () => {
    if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
    execFileSync(...pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust']), { stdio: 'ignore' });
    const port = await freePort();
    execFileSync(...pg('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=''`, 'start']), { stdio: 'ignore' });
    execFileSync(...pg('createdb', ['-h', dir, '-p', `${port}`, '-U', 'postgres', 'ferretdb']), { stdio: 'ignore' });
    ferret = await startFerret({ postgresqlUrl: `postgres://postgres@/ferretdb?host=${encodeURIComponent(dir)}&port=${port}` });
    store = await openMongoStore({ keyring: testKey().keyring, url: ferret.url });
  });
  after(async () => {
    await store?.close().catch(() => {});
    await ferret?.destroy();
    try {
      execFileSync(...pg('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']), { stdio: 'ignore' });
    } catch { /* not started */ }
    rmSync(dir, { recursive: true, force: true });
  });

  it('a batch with one function\'s NUL in a log line, an error and a field name is written, another workspace\'s run with it', async () => {
    const poisoned = run({
      function: 'nul.alpha', status: 'failed', httpStatus: 500, path: '/a\u0000b',
      error: { type: 'ValueError', message: 'bad\u0000value', stack: 'Traceback\u0000' },
      logs: [{ ts: 1, stream: 'stdout', msg: 'before\u0000after' }],
    });
    const victim = run({ function: 'hello', logs: [{ ts: 2, stream: 'stdout', msg: 'greeting victim' }] });
    await store.runs.record([poisoned, victim]);
    assert.deepEqual((await store.runs.get(victim.runId))?.logs.map((l) => l.msg), ['greeting victim'], 'the other workspace\'s run is recorded, with its logs');
    const stored = await store.runs.get(poisoned.runId);
    assert.equal(stored?.error?.message, 'bad\uFFFDvalue');
    assert.equal(stored?.path, '/a\uFFFDb');
    assert.deepEqual(stored?.logs.map((l) => l.msg), ['before\uFFFDafter']);
  });
});
