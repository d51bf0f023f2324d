/**
 * Backing up a running embedded platform and restoring it (ops round 1). docs/stores.md named
 * `platform.db` (with sqlite3's `.backup`) and `blobs/` only: a state directory restored from that
 * started without a word, made an empty async.db, and every async run accepted before (queued,
 * running, its status and result) was gone (`RUN_NOT_FOUND`). Now the documented backup takes every
 * SQLite file of the state directory, and a start that finds platform.db without async.db says so.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { started, startMain, type Proc } from './main-harness.js';
import { Api, deployed, py, sleep } from './platform-harness.js';

/** sqlite3's `.backup` (the online backup API) of one file, as docs/stores.md says, while the platform runs. */
async function backupFile(from: string, to: string): Promise<void> {
  const db = new Database(from, { readonly: true, fileMustExist: true });
  try {
    await db.backup(to);
  } finally {
    db.close();
  }
}

describe('backup and restore of a running embedded platform', { timeout: 120_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'fp-backup-'));
  const stateDir = join(root, 'state');
  let source: Proc;
  let token: string;
  let runId: string;
  after(() => rmSync(root, { recursive: true, force: true }));

  before(async () => {
    source = startMain(['--state-dir', stateDir, '--port', '0']);
    const up = await started(source);
    token = up.token!;
    const api = new Api(up.url, token);
    await deployed(api, 'hello', { 'main.py': py('def handler(event, context):', '    return {"kept": True}') });
    const accepted = await fetch(`${up.url}/async/hello/`, { method: 'POST', body: '{}' });
    assert.equal(accepted.status, 202);
    runId = ((await accepted.json()) as { runId: string }).runId;
    let state = '';
    for (let i = 0; i < 300 && state !== 'succeeded'; i++) {
      state = ((await api.call('GET', `/runs/${runId}`)).body as { run?: { state: string } }).run?.state ?? '';
      if (state !== 'succeeded') await sleep(100);
    }
    assert.equal(state, 'succeeded');
  });

  /** Takes a backup of `files` and blobs/ while the source runs, then starts a platform on it. */
  async function restored(name: string, files: string[]): Promise<{ proc: Proc; api: Api }> {
    const dir = join(root, name);
    mkdirSync(dir, { mode: 0o700 });
    for (const file of files) await backupFile(join(stateDir, file), join(dir, file));
    cpSync(join(stateDir, 'blobs'), join(dir, 'blobs'), { recursive: true });
    const proc = startMain(['--state-dir', dir, '--port', '0']);
    const { url } = await started(proc);
    return { proc, api: new Api(url, token) };
  }

  it('every SQLite file of the state directory, as documented: the async run, its status and its result come back', async () => {
    const { proc, api } = await restored('full', ['platform.db', 'async.db', 'cron-ticks.db']);
    const run = await api.call('GET', `/runs/${runId}`);
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.equal((run.body as { run: { state: string } }).run.state, 'succeeded');
    proc.child.kill('SIGTERM');
    const exit = await proc.exited;
    assert.equal(exit.code, 0);
    assert.doesNotMatch(exit.stderr, /async\.db is missing/);
  });

  it('platform.db and blobs/ alone (the old recipe): the start says async.db is missing and that its runs are gone', async () => {
    const { proc } = await restored('partial', ['platform.db']);
    proc.child.kill('SIGTERM');
    const exit = await proc.exited;
    assert.equal(exit.code, 0);
    assert.match(exit.stderr, /WARNING: \S+partial\/async\.db is missing beside an existing platform\.db/);
    assert.match(exit.stderr, /docs\/stores\.md, "Backup and restore"/);
  });

  it('a fresh state directory and a restart of the source say nothing of it', async () => {
    source.child.kill('SIGTERM');
    const first = await source.exited;
    const again = startMain(['--state-dir', stateDir, '--port', '0']);
    await started(again);
    again.child.kill('SIGTERM');
    const second = await again.exited;
    for (const exit of [first, second]) assert.doesNotMatch(exit.stderr, /is missing beside/);
  });
});
