/**
 * The state directory's disk full (reliability probe of 2026-12-04): the API answered 500
 * INTERNAL_ERROR ("a platform bug") to every write, and a blob upload left an empty file behind.
 * Now: 507 STORAGE_FULL, nothing left behind, and once space is freed the same requests work,
 * with no restart. On a small tmpfs of its own (root only: mounting one needs it).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startPlatform, type StartedPlatform } from '../../platform/start.js';
import { writeWheel } from '../helpers/wheels.js';
import { startMain } from './main-harness.js';
import { Api, createFunction, deployed, depsSettled, errorOf, filesOf, py, randomText, runsWritten, sleep, TEST_SECRETS_KEY, upload } from './platform-harness.js';

const skip = process.getuid?.() === 0 ? false : 'mounting a tmpfs needs root';

/** A platform whose state directory is on a 40 MiB tmpfs of its own; `stop` closes it and unmounts. */
async function onSmallDisk(prefix: string, options: Partial<Parameters<typeof startPlatform>[0]> = {}): Promise<{ dir: string; platform: StartedPlatform; api: Api; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', dir]);
  const platform = await startPlatform({ stateDir: join(dir, 'state'), port: 0, poolSize: 1, shutdownGraceMs: 1000, secretsKey: TEST_SECRETS_KEY, data: 'off', log: () => {}, ...options });
  return {
    dir, platform, api: new Api(platform.url, platform.takeAdminToken() ?? null),
    async stop() {
      await platform.close();
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('a full state directory', { skip }, () => {
  let disk: Awaited<ReturnType<typeof onSmallDisk>> | undefined;
  let dir = '';
  let platform: StartedPlatform | undefined;
  let api: Api;
  before(async () => {
    disk = await onSmallDisk('fp-full-');
    ({ dir, platform, api } = disk);
  });
  after(async () => {
    await disk?.stop();
  });

  it('refuses writes with 507 STORAGE_FULL, leaves no partial blob, and takes them again once space is freed', async () => {
    assert.equal((await api.call('POST', '/functions', { name: 'before' })).status, 201);
    // Fill what is left (dd stops at ENOSPC).
    const filler = join(dir, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M', 'count=64'], { stdio: 'ignore' });
    } catch {
      // "No space left on device": as intended
    }
    const blob = Buffer.alloc(256 * 1024, 7);
    const sha = createHash('sha256').update(blob).digest('hex');
    const put = await fetch(`${platform!.url}/api/v1/blobs/${sha}`, { method: 'PUT', headers: { authorization: `Bearer ${api.token}` }, body: blob });
    const putBody = await put.json() as { error: { code: string; message: string } };
    assert.equal(put.status, 507, JSON.stringify(putBody));
    assert.equal(putBody.error.code, 'STORAGE_FULL');
    assert.deepEqual(readdirSync(join(dir, 'state', 'blobs', 'tmp')), [], 'no partial blob left in tmp/');
    const create = await api.call('POST', '/functions', { name: 'during', env: { PAD: 'x'.repeat(60_000) } });
    assert.equal(create.status, 507, JSON.stringify(create.body));
    assert.equal(errorOf(create).code, 'STORAGE_FULL');
    // Space freed: the same requests work, no restart.
    rmSync(filler);
    assert.equal((await fetch(`${platform!.url}/api/v1/blobs/${sha}`, { method: 'PUT', headers: { authorization: `Bearer ${api.token}` }, body: blob })).status, 201);
    assert.equal((await api.call('POST', '/functions', { name: 'during', env: { PAD: 'x'.repeat(60_000) } })).status, 201);
  });
});

/**
 * Async runs through a full state directory (chaos round 1): /readyz said 200 "ready" with no
 * problem while every `POST /async/` answered 503, and that 503 said nothing of when to come back.
 * Now /readyz is degraded (STORAGE_FULL) while the disk is full, the refusal carries Retry-After,
 * and every run accepted before (and after) succeeds once space is freed.
 */
describe('async runs through a full state directory', { skip }, () => {
  let disk: Awaited<ReturnType<typeof onSmallDisk>> | undefined;
  before(async () => {
    disk = await onSmallDisk('fp-full-async-', { dispatchLeaseMs: 2000 });
  });
  after(async () => {
    await disk?.stop();
  });

  it('/readyz is degraded STORAGE_FULL and /async refuses with Retry-After while full; freed: ready, and no accepted run is lost', async () => {
    const { dir, platform, api } = disk!;
    await deployed(api, 'echo', { 'main.py': py('def handler(event, context):', '    return {"attempt": context.attempt}') });
    const accepted: string[] = [];
    const submit = async (): Promise<Response> => {
      const res = await fetch(`${platform.url}/async/echo/`, { method: 'POST', body: '{}' });
      if (res.status === 202) accepted.push(((await res.clone().json()) as { runId: string }).runId);
      return res;
    };
    for (let i = 0; i < 3; i++) assert.equal((await submit()).status, 202);
    assert.deepEqual(await readiness(platform.url), { status: 200, state: 'ready', problems: [] });
    const filler = fill(dir);
    const full = await readiness(platform.url);
    assert.equal(full.status, 200, 'sync calls are still served: the process stays in rotation');
    assert.equal(full.state, 'degraded');
    assert.deepEqual(full.problems, ['STORAGE_FULL']);
    // /readyz answers anyone: the state directory's path is not in it (red team round 41).
    const anonymous = await (await fetch(`${platform.url}/readyz`)).text();
    assert.ok(!anonymous.includes(dir), `/readyz named the state directory: ${anonymous}`);
    const refused = await submit();
    assert.equal(refused.status, 503);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'ASYNC_QUEUE_UNAVAILABLE');
    assert.match(body.error.message, /disk is full/);
    assert.equal(refused.headers.get('retry-after'), '1', 'nothing was queued: the client retries');
    assert.equal((await fetch(`${platform.url}/fn/echo/`)).status, 200, 'sync calls are served');
    rmSync(filler);
    assert.deepEqual(await readiness(platform.url), { status: 200, state: 'ready', problems: [] });
    assert.equal((await submit()).status, 202);
    for (const id of accepted) assert.equal(await finalState(api, id), 'succeeded', id);
  });
});

/**
 * Sync calls, deploys and runs in flight through a full state directory (chaos round 8: checked,
 * holding; an 8 MiB tmpfs by hand). Sync calls are served and their run records wait in memory
 * (the run journal cannot write either) and are written once space is freed; an upload and a deploy
 * answer 507 STORAGE_FULL; runs that were running when it filled are delivered again and succeed;
 * both SQLite files pass integrity_check; no restart.
 */
describe('sync calls, deploys and runs in flight through a full state directory', { skip }, () => {
  let disk: Awaited<ReturnType<typeof onSmallDisk>> | undefined;
  before(async () => {
    disk = await onSmallDisk('fp-full-calls-', { dispatchLeaseMs: 2000 });
  });
  after(async () => {
    await disk?.stop();
  });

  it('serves sync calls and writes their records once freed; 507 to an upload and a deploy; runs in flight succeed; SQLite intact', async () => {
    const { dir, platform, api } = disk!;
    await deployed(api, 'slowpoke', { 'main.py': py('import time', 'def handler(event, context):', '    print("line " + "x" * 200)', '    if event["path"] == "/slow":', '        time.sleep(1.5)', '    return {"ok": 1}') });
    const sync = async (): Promise<number> => {
      const res = await fetch(`${platform.url}/fn/slowpoke/`);
      await res.arrayBuffer();
      return res.status;
    };
    for (let i = 0; i < 2; i++) assert.equal(await sync(), 200);
    const running: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${platform.url}/async/slowpoke/slow`, { method: 'POST', body: '{}' });
      assert.equal(res.status, 202);
      running.push(((await res.json()) as { runId: string }).runId);
    }
    await runsWritten(platform.url);
    const filler = fill(dir);
    for (let i = 0; i < 5; i++) assert.equal(await sync(), 200, 'sync calls are served');
    const uploaded = await api.call('POST', '/functions/slowpoke/versions', { files: filesOf({ 'main.py': py('def handler(event, context):', '    return 2') }) });
    assert.equal(uploaded.status, 507, JSON.stringify(uploaded.body));
    assert.equal(errorOf(uploaded).code, 'STORAGE_FULL');
    const deploy = await api.call('POST', '/functions/slowpoke/deploy', { version: 1 });
    assert.equal(deploy.status, 507, JSON.stringify(deploy.body));
    assert.equal(errorOf(deploy).code, 'STORAGE_FULL');
    rmSync(filler);
    await runsWritten(platform.url, 20_000);
    for (const id of running) assert.equal(await finalState(api, id), 'succeeded', id);
    await runsWritten(platform.url, 20_000);
    const listed = await api.call('GET', '/runs?function=slowpoke&limit=100');
    const http = (listed.body.items as { trigger: string }[]).filter((run) => run.trigger === 'http');
    assert.equal(http.length, 7, 'every sync call has its record, those made while full too');
    for (const file of ['platform.db', 'async.db']) {
      const db = new Database(join(dir, 'state', file), { readonly: true });
      try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok', file);
      } finally {
        db.close();
      }
    }
    assert.equal((await api.call('POST', '/functions/slowpoke/versions', { files: filesOf({ 'main.py': py('def handler(event, context):', '    return 2') }) })).status, 201);
  });
});

/** Fills what is left of the disk under `dir` (dd stops at ENOSPC); returns the filler to remove. */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M', 'count=64'], { stdio: 'ignore' });
  } catch {
    // "No space left on device": as intended
  }
  return filler;
}

async function readiness(url: string): Promise<{ status: number; state: string; problems: string[] }> {
  const res = await fetch(`${url}/readyz`);
  const body = (await res.json()) as { status: string; problems: { code: string }[] };
  return { status: res.status, state: body.status, problems: body.problems.map((p) => p.code) };
}

/** Polls an async run until it is final (20 s: its lease may have to run out after a failed write). */
async function finalState(api: Api, runId: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await api.call('GET', `/runs/${runId}`);
    const state = res.status === 200 ? (res.body.run.state as string) : `${res.status}`;
    if (['succeeded', 'failed', 'cancelled'].includes(state)) return state;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${state}`);
    await sleep(100);
  }
}

/**
 * The disk fills while a dependency build installs (reliability round 9): the build failed
 * DEPS_TOO_LARGE (413: "drop packages or raise FP_DEPS_MAX_BYTES", with pip's traceback), and a
 * deploy after space was freed kept answering that code until someone asked for a rebuild.
 * Now: STORAGE_FULL, and the next deploy builds it again.
 */
describe('a full state directory during a dependency build', { skip }, () => {
  let disk: Awaited<ReturnType<typeof onSmallDisk>> | undefined;
  let dir = '';
  let wheels = '';
  let platform: StartedPlatform | undefined;
  let api: Api;
  before(async () => {
    wheels = mkdtempSync(join(tmpdir(), 'fp-full-wheels-'));
    // 6 MB of module: more than the space left below, far under FP_DEPS_MAX_BYTES.
    writeWheel(wheels, { name: 'hefty', version: '1.0', modules: { 'hefty.py': `DATA = "${randomText(6_000_000)}"\n` } });
    disk = await onSmallDisk('fp-full-deps-', { depsIndexUrl: 'none', depsFindLinks: wheels });
    ({ dir, platform, api } = disk);
  });
  after(async () => {
    await disk?.stop();
    if (wheels !== '') rmSync(wheels, { recursive: true, force: true });
  });

  it('fails the build STORAGE_FULL, and the deploy after space is freed builds it again', async () => {
    await createFunction(api, 'hefty');
    // Leave 2 MiB: the upload fits, the 6 MB site does not.
    const filler = join(dir, 'filler');
    const fs = statfsSync(dir);
    writeFileSync(filler, Buffer.alloc(Math.max(0, fs.bavail * fs.bsize - 2 * 1024 * 1024)));
    const files = { 'requirements.txt': 'hefty\n', 'main.py': py('import hefty', 'def handler(event, context):', '    return {"bytes": len(hefty.DATA)}') };
    assert.equal(await upload(api, 'hefty', files), 1);
    const deps = await depsSettled(api, 'hefty', 1);
    assert.equal(deps.state, 'failed');
    assert.equal(deps.error.code, 'STORAGE_FULL', JSON.stringify(deps.error).slice(0, 300));
    // Space freed: a deploy starts the build again (409 while it runs), no rebuild asked for.
    rmSync(filler);
    const again = await api.call('POST', '/functions/hefty/deploy', {});
    assert.equal(again.status, 409, JSON.stringify(again.body).slice(0, 300));
    assert.equal(errorOf(again).code, 'DEPS_NOT_READY');
    assert.equal((await depsSettled(api, 'hefty', 1)).state, 'ready');
    assert.equal((await api.call('POST', '/functions/hefty/deploy', {})).status, 200);
    const res = await fetch(`${platform!.url}/fn/hefty/`);
    assert.deepEqual(await res.json(), { bytes: 6_000_000 });
  });
});

describe('a start on a full state directory', { skip }, () => {
  it('fails STORAGE_FULL naming the directory, what is free and what it needs (chaos round 1)', { timeout: 60_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-full-start-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', dir]);
    t.after(() => {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    });
    const state = join(dir, 'state');
    // A platform that ran there once, then the disk filled while it was down.
    const first = await startPlatform({ stateDir: state, port: 0, poolSize: 1, shutdownGraceMs: 1000, secretsKey: TEST_SECRETS_KEY, data: 'off', log: () => {} });
    await first.close();
    const fs = statfsSync(dir);
    writeFileSync(join(dir, 'filler'), Buffer.alloc(fs.bavail * fs.bsize));
    const proc = startMain(['--state-dir', state, '--port', '0'], { FP_DATA: 'off', FP_SECRETS_KEY: TEST_SECRETS_KEY });
    const { code, stderr } = await proc.exited;
    assert.equal(code, 1, stderr);
    // Before: `fp-platform: error [STORAGE_FULL] ENOSPC: no space left on device, write`, no path.
    assert.match(stderr, /\[STORAGE_FULL\] .*the state directory .* is on a full disk \(\d+ KiB free\); the platform needs at least 1 MiB free there to start/);
    assert.ok(stderr.includes(state), stderr);
  });
});
