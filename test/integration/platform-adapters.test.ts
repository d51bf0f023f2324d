/**
 * platform/adapters.ts, the one place that chooses adapters: embedded opens every port on files
 * in the state directory (and loads neither database driver), production opens them on a real
 * Redis and FerretDB; both close everything, once, and a failure while opening leaves nothing
 * open behind it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openAdapters, type Adapters } from '../../platform/adapters.js';
import { loadConfig } from '../../platform/config.js';
import { testKeyring } from '../helpers/keyring.js';
import { serverSkip, startFerret, startRedis, type ServerProcess } from '../helpers/servers.js';

const log = (): void => {};
// dist/test/integration → dist/
const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ADAPTERS = join(DIST, 'platform', 'adapters.js');
const CONFIG = join(DIST, 'platform', 'config.js');
const KEYRING = join(DIST, 'test', 'helpers', 'keyring.js');

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fp-adapters-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every port answers a cheap call. */
async function exercise(a: Adapters): Promise<void> {
  assert.deepEqual(await a.store.functions.list(), []);
  assert.equal((await a.queue.stats()).ready, 0);
  assert.equal(await a.tickLock.acquire({ function: 'f', triggerId: 't' }, 60_000), true);
  assert.equal(await a.tickLock.acquire({ function: 'f', triggerId: 't' }, 60_000), false, 'a tick is claimed once');
}

describe('openAdapters, embedded', () => {
  it('opens every port on files in the state directory and closes them once', async () => {
    const dir = stateDir();
    const adapters = await openAdapters({ config: loadConfig({}), stateDir: dir, keyring: testKeyring(), origin: 'test', log });
    assert.equal(adapters.mode, 'embedded');
    await exercise(adapters);
    for (const file of ['platform.db', 'async.db', 'cron-ticks.db']) assert.ok(existsSync(join(dir, file)), file);
    const closing = adapters.close();
    assert.equal(adapters.close(), closing, 'a second close is the first one');
    await closing;
  });

  it('loads neither the MongoDB nor the Redis driver', () => {
    const dir = stateDir();
    // In a fresh process: both drivers are CommonJS, so a loaded one is in require's cache.
    const probe = `
      import { createRequire } from 'node:module';
      const { openAdapters } = await import(${JSON.stringify(ADAPTERS)});
      const { loadConfig } = await import(${JSON.stringify(CONFIG)});
      const { testKeyring } = await import(${JSON.stringify(KEYRING)});
      const a = await openAdapters({ config: loadConfig({}), stateDir: ${JSON.stringify(dir)}, keyring: testKeyring(), origin: 'probe', log: () => {} });
      await a.close();
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => /node_modules.(mongodb|ioredis)./.test(p));
      console.log(JSON.stringify(loaded));`;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout.trim()), []);
  });

  it('loads neither the Kubernetes nor the Redis client with its modules (~0.5 s and ~70 MB, ~0.25 s and ~24 MB at every start)', () => {
    // A resolve hook refuses both clients: every module of both modes and of the pool imports
    // without them (ESM imports of CommonJS do not show in require's cache), and the Kubernetes
    // host's own module is refused (the hook works).
    const hooks = `export async function resolve(s, c, next) { if (/^(@kubernetes\\/client-node|ioredis)/.test(s)) throw new Error('client loaded: ' + s); return next(s, c); }`;
    const modules = ['platform/index.js', 'platform/start.js', 'platform/directory.js', 'platform/pool.js', 'poolmgr/index.js', 'cli/main.js'].map((m) => join(DIST, m));
    const probe = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
      for (const m of ${JSON.stringify(modules)}) await import(m);
      let refused = false;
      try { await import(${JSON.stringify(join(DIST, 'platform', 'kube.js'))}); } catch (err) { refused = /client loaded: @kubernetes/.test(String(err)); }
      console.log(JSON.stringify({ refused }));`;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout.trim()), { refused: true });
  });

  it('closes what it opened when a later adapter fails to open', async () => {
    const dir = stateDir();
    // A directory where async.db must go: the store opens, the async stores cannot.
    mkdirSync(join(dir, 'async.db'));
    await assert.rejects(openAdapters({ config: loadConfig({}), stateDir: dir, keyring: testKeyring(), origin: 'test', log }));
    // The store was closed: a second process can open the same directory at once.
    rmSync(join(dir, 'async.db'), { recursive: true });
    const again = await openAdapters({ config: loadConfig({}), stateDir: dir, keyring: testKeyring(), origin: 'test', log });
    await again.close();
    assert.ok(readdirSync(dir).includes('platform.db'));
  });
});

const skip = serverSkip('redis-server', 'ferretdb');
describe('openAdapters, production', { skip }, () => {
  let redis: ServerProcess | null = null;
  let ferret: ServerProcess | null = null;
  after(async () => {
    await Promise.all([redis?.destroy(), ferret?.destroy()]);
  });

  it('opens every port on Redis and MongoDB and closes them', async () => {
    [redis, ferret] = await Promise.all([startRedis(), startFerret()]);
    const config = loadConfig({ FP_STORE: 'production', FP_REDIS_URL: redis.url, FP_MONGO_URL: ferret.url, FP_MONGO_DB: `fp_adapters_${randomBytes(4).toString('hex')}`, FP_REDIS_PREFIX: `t${randomBytes(3).toString('hex')}` });
    const adapters = await openAdapters({ config, stateDir: stateDir(), keyring: testKeyring(), origin: 'test', log });
    assert.equal(adapters.mode, 'production');
    await exercise(adapters);
    await adapters.close();
  });

  it('opens every port on a Redis reached over a Unix socket (unix:///path?password=…)', async () => {
    // Where no function can open a connection, not even an unauthenticated one: a function used up
    // a TCP Redis's maxclients with its password unknown (red team, 2026-12-04; docs/security.md).
    const socketDir = mkdtempSync(join(tmpdir(), 'fp-redis-sock-'));
    const socket = join(socketDir, 'redis.sock');
    const onSocket = await startRedis({ args: ['--unixsocket', socket, '--unixsocketperm', '700', '--user', 'fp', 'on', '>s3cret', '~*', '&*', '+@all'] });
    try {
      const config = loadConfig({ FP_STORE: 'production', FP_REDIS_URL: `unix://${socket}?username=fp&password=s3cret`, FP_MONGO_URL: ferret!.url, FP_MONGO_DB: `fp_adapters_${randomBytes(4).toString('hex')}`, FP_REDIS_PREFIX: `u${randomBytes(3).toString('hex')}` });
      const adapters = await openAdapters({ config, stateDir: stateDir(), keyring: testKeyring(), origin: 'test', log });
      await exercise(adapters);
      await adapters.close();
    } finally {
      await onSocket.destroy();
      rmSync(socketDir, { recursive: true, force: true });
    }
  });

  it('fails, leaving nothing open, when Redis does not answer', async () => {
    const config = loadConfig({ FP_STORE: 'production', FP_REDIS_URL: 'redis://127.0.0.1:1', FP_MONGO_URL: ferret!.url, FP_MONGO_DB: `fp_adapters_${randomBytes(4).toString('hex')}` });
    await assert.rejects(openAdapters({ config, stateDir: stateDir(), keyring: testKeyring(), origin: 'test', log }));
  });
});
