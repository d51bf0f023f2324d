/** The store line of the start banners (platform/store-description.ts): which store, where, never a credential. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeStore, hostsOf } from '../../platform/store-description.js';

const production = { store: 'production' as const, mongoDatabase: 'fastapi_platform' };

describe('describeStore', () => {
  it('names the embedded SQLite files in the state directory', () => {
    assert.equal(describeStore({ store: 'embedded', mongoDatabase: 'x' }, '/srv/fp/.state'), 'embedded SQLite (/srv/fp/.state/platform.db, async.db)');
  });

  it('names the production Redis and MongoDB by host:port (default ports filled) and the database', () => {
    assert.equal(
      describeStore({ ...production, redisUrl: 'redis://redis.internal', mongoUrl: 'mongodb://mongo.internal/other' }, '/s'),
      'production: Redis redis.internal:6379, MongoDB mongo.internal:27017/fastapi_platform',
    );
    assert.equal(
      describeStore({ ...production, redisUrl: 'rediss://r:6380/2', mongoUrl: 'mongodb+srv://cluster0.example.net/?retryWrites=true', mongoDatabase: 'fp' }, '/s'),
      'production: Redis r:6380 (TLS), MongoDB cluster0.example.net/fp (SRV)',
    );
  });

  it('never shows a user, a password or a query string', () => {
    const line = describeStore({
      ...production,
      redisUrl: 'redis://default:hunter2-redis@10.0.0.5:6379/0',
      mongoUrl: 'mongodb://fp:p%40ss-mongo@m1:27017,m2:27018,[::1]/admin?authSource=admin&password=qs-secret',
    }, '/s');
    assert.equal(line, 'production: Redis 10.0.0.5:6379, MongoDB m1:27017,m2:27018,[::1]:27017/fastapi_platform');
    assert.doesNotMatch(line, /hunter2|p%40ss|qs-secret|default:|fp:/);
  });

  it('reads the hosts of odd URLs without throwing', () => {
    assert.equal(hostsOf('redis://', 6379), '?');
    assert.equal(hostsOf('redis://user@h', 6379), 'h:6379');
    assert.equal(hostsOf('mongodb://a:b@c@h:1', 27017), 'h:1');
    assert.equal(hostsOf('redis://[::1]:7000', 6379), '[::1]:7000');
    // Redis on a Unix socket: the path, never the password in its query.
    assert.equal(hostsOf('unix:///run/redis/redis.sock?password=s3cret&db=2', 6379), 'unix:/run/redis/redis.sock');
  });

  it("names a MongoDB Unix socket (README's FerretDB) by its path, without a port", () => {
    const url = `mongodb://${encodeURIComponent('/home/me/fp-data/ferretdb/ferretdb.sock')}/`;
    assert.equal(hostsOf(url, 27017), 'unix:/home/me/fp-data/ferretdb/ferretdb.sock');
  });
});
