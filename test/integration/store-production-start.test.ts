/**
 * A production server that cannot be used at start says which one and why, in words an operator can
 * act on, and never repeats its password: Redis refused, a wrong or a missing password; MongoDB
 * refused (with credentials in the URL). Before, every Redis failure read "Redis not ready after
 * 5000 ms" and a MongoDB one the driver's bare "connect ECONNREFUSED 127.0.0.1:…".
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateKey, Keyring } from '../../controlplane/secrets/index.js';
import { openMongoStore } from '../../controlplane/store/production/index.js';
import { openRedis } from '../../controlplane/store/production/redis-client.js';
import { freePort, serverSkip, startRedis, type ServerProcess } from '../helpers/servers.js';

const PASSWORD = 'opensesame-5d1c';

async function failure(opening: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await opening;
  } catch (err) {
    return err as Error & { code?: string };
  }
  assert.fail('expected the open to fail');
}

describe('Redis that cannot be used at start', { skip: serverSkip('redis-server') }, () => {
  let redis: ServerProcess;
  before(async () => {
    redis = await startRedis();
    const admin = await openRedis(redis.url);
    await admin.config('SET', 'requirepass', PASSWORD);
    admin.disconnect();
  });
  after(async () => {
    await redis?.destroy();
  });

  it('a wrong password: names the server and says the password was refused, without repeating it', async () => {
    const err = await failure(openRedis(`redis://:wrong-${PASSWORD}@127.0.0.1:${redis.port}`, 1500));
    assert.match(err.message, new RegExp(`^Redis at redis://127\\.0\\.0\\.1:${redis.port} did not become ready within 1500 ms: it refused the user name or password in the URL \\(WRONGPASS`));
    assert.doesNotMatch(err.message, /opensesame/);
  });

  it('no password: says the server requires one', async () => {
    const err = await failure(openRedis(redis.url, 1500));
    assert.match(err.message, /: it requires a password and the URL has none \(NOAUTH/);
  });

  it('nothing listening: connection refused, with the address', async () => {
    const port = await freePort();
    const err = await failure(openRedis(`redis://:${PASSWORD}@127.0.0.1:${port}/2`, 1500));
    assert.equal(err.message, `Redis at redis://127.0.0.1:${port}/2 did not become ready within 1500 ms: connection refused (nothing listens there)`);
  });
});

describe('MongoDB that cannot be used at start', () => {
  it('nothing listening: STORE_UNAVAILABLE naming the server without its credentials', async () => {
    const port = await freePort();
    const keyring = new Keyring([generateKey()]);
    const err = await failure(openMongoStore({ url: `mongodb://fp:${PASSWORD}@127.0.0.1:${port}/?authMechanism=PLAIN`, keyring, serverSelectionTimeoutMs: 500 }));
    assert.equal(err.code, 'STORE_UNAVAILABLE');
    assert.equal(err.message, `MongoDB at mongodb://127.0.0.1:${port} could not be used (waited up to 500 ms): connection refused (nothing listens there)`);
  });
});

// New-user round 5: a Unix socket that is not there (the server not started) read "connect ENOENT
// <path>" alone, and the Redis address as redis:////<path>.
describe('a Unix socket with no server behind it, at start', () => {
  it('Redis: unix:<path>, no socket at that path, is Redis running', async () => {
    const err = await failure(openRedis('unix:///tmp/fp-no-such-dir-5/redis.sock?password=x', 1500));
    assert.equal(err.message, 'Redis at unix:/tmp/fp-no-such-dir-5/redis.sock did not become ready within 1500 ms: no socket at that path: is Redis running? It makes its socket when it starts');
  });

  it('MongoDB: STORE_UNAVAILABLE, no socket at that path, is the server running', async () => {
    const keyring = new Keyring([generateKey()]);
    const err = await failure(openMongoStore({ url: 'mongodb://%2Ftmp%2Ffp-no-such-dir-5%2Fferretdb.sock/', keyring, serverSelectionTimeoutMs: 500 }));
    assert.equal(err.code, 'STORE_UNAVAILABLE');
    assert.match(err.message, /could not be used \(waited up to 500 ms\): no socket at that path \(connect ENOENT \/tmp\/fp-no-such-dir-5\/ferretdb\.sock\): is the server running\? It makes its socket when it starts$/);
  });
});
