import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exposureWarnings, loopbackTcpEndpoint, openTcpEndpoint } from '../../platform/exposure.js';

describe('openTcpEndpoint', () => {
  it('names a TCP server reached without credentials', () => {
    assert.equal(openTcpEndpoint('redis://127.0.0.1:6379', 6379), '127.0.0.1:6379');
    assert.equal(openTcpEndpoint('redis://localhost/0', 6379), 'localhost:6379');
    assert.equal(openTcpEndpoint('rediss://cache.internal:6380/?x=1', 6379), 'cache.internal:6380');
    assert.equal(openTcpEndpoint('mongodb://127.0.0.1:27017/fp', 27017), '127.0.0.1:27017');
    assert.equal(openTcpEndpoint('mongodb://a.example:27018,b.example:27018/fp?replicaSet=rs', 27017), 'a.example:27018');
    assert.equal(openTcpEndpoint('mongodb://[::1]:27017/', 27017), '[::1]:27017');
    assert.equal(openTcpEndpoint('mongodb://db.example', 27017), 'db.example:27017');
  });

  it('says nothing of a server that asks for credentials, or of a Unix socket (in no box)', () => {
    assert.equal(openTcpEndpoint('redis://:s3cret@127.0.0.1:6379', 6379), null);
    assert.equal(openTcpEndpoint('redis://fp:s3cret@127.0.0.1:6379', 6379), null);
    assert.equal(openTcpEndpoint('mongodb://fp:pw@127.0.0.1:27017/fp', 27017), null);
    assert.equal(openTcpEndpoint('mongodb://db.example/?authMechanism=MONGODB-X509&tls=true', 27017), null);
    assert.equal(openTcpEndpoint('mongodb://%2Fhome%2Fme%2Fferretdb.sock/', 27017), null);
    assert.equal(openTcpEndpoint('mongodb://%2Fhome%2Fme%2Fferret%2Esock', 27017), null);
    assert.equal(openTcpEndpoint('unix:///run/redis/redis.sock?password=pw', 6379), null);
    assert.equal(openTcpEndpoint('not a url', 27017), null);
  });
});

describe('loopbackTcpEndpoint (red team round 28)', () => {
  it('names a server with credentials on this host\'s loopback', () => {
    assert.equal(loopbackTcpEndpoint('redis://:s3cret@127.0.0.1:6379', 6379), '127.0.0.1:6379');
    assert.equal(loopbackTcpEndpoint('mongodb://fp:choose-one@127.0.0.1:27017/?authMechanism=PLAIN', 27017), '127.0.0.1:27017');
    assert.equal(loopbackTcpEndpoint('mongodb://fp:pw@LOCALHOST/fp', 27017), 'LOCALHOST:27017');
    assert.equal(loopbackTcpEndpoint('mongodb://fp:pw@[::1]:27017/', 27017), '[::1]:27017');
    assert.equal(loopbackTcpEndpoint('redis://u:p@127.8.0.2', 6379), '127.8.0.2:6379');
  });

  it('says nothing of a server elsewhere, one without credentials (openTcpEndpoint\'s) or a Unix socket', () => {
    assert.equal(loopbackTcpEndpoint('redis://:s3cret@cache.internal:6379', 6379), null);
    assert.equal(loopbackTcpEndpoint('mongodb://fp:pw@10.0.0.5:27017/fp', 27017), null);
    assert.equal(loopbackTcpEndpoint('mongodb://fp:pw@127.0.0.1.example.com/fp', 27017), null);
    assert.equal(loopbackTcpEndpoint('redis://127.0.0.1:6379', 6379), null);
    assert.equal(loopbackTcpEndpoint('mongodb://fp:pw@%2Fhome%2Fme%2Fferretdb.sock/', 27017), null);
    assert.equal(loopbackTcpEndpoint('unix:///run/redis/redis.sock?password=pw', 6379), null);
  });
});

describe('exposureWarnings', () => {
  const open = { store: 'production' as const, redisUrl: 'redis://127.0.0.1:6379', mongoUrl: 'mongodb://127.0.0.1:27017/', dataMongoUrl: 'mongodb://127.0.0.1:27018' };

  it('warns once per open server, naming it and the fix', () => {
    const warnings = exposureWarnings(open, true);
    assert.equal(warnings.length, 3);
    assert.match(warnings[0]!, /^Redis at 127\.0\.0\.1:6379 takes commands without a password.*requirepass.*FP_REDIS_URL/);
    assert.match(warnings[1]!, /^MongoDB at 127\.0\.0\.1:27017 is used without credentials.*FP_MONGO_URL/);
    assert.match(warnings[2]!, /^the data bindings' server at 127\.0\.0\.1:27018 .*past its binding's checks.*Unix socket/);
  });

  it('is silent for closed servers, for the embedded store\'s unused URLs, and when functions are not sandboxed', () => {
    assert.deepEqual(exposureWarnings({ store: 'production', redisUrl: 'redis://:pw@cache.internal:6379', mongoUrl: 'mongodb://%2Ftmp%2Ff.sock/' }, true), []);
    assert.deepEqual(exposureWarnings({ store: 'embedded', redisUrl: 'redis://127.0.0.1:6379', mongoUrl: 'mongodb://127.0.0.1/' }, true), []);
    assert.deepEqual(exposureWarnings(open, false), []);
  });

  it('warns of a store that asks for credentials on loopback: a function takes its connections (the README\'s old PostgreSQL recipe; red team round 28)', () => {
    const warnings = exposureWarnings({ store: 'production', redisUrl: 'redis://:pw@127.0.0.1:6379', mongoUrl: 'mongodb://fp:choose-one@127.0.0.1:27017/?authMechanism=PLAIN' }, true);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /^Redis at 127\.0\.0\.1:6379 asks for credentials, but it listens on this host's loopback.*none left for the platform.*Unix socket/);
    assert.match(warnings[1]!, /^MongoDB at 127\.0\.0\.1:27017 asks for credentials.*PostgreSQL.*max_connections/);
    assert.deepEqual(exposureWarnings({ store: 'production', redisUrl: 'redis://:pw@127.0.0.1:6379' }, false), []);
  });

  it('warns when FP_TRUSTED_PROXIES trusts loopback, which every function connects from, and names 127.0.0.2 (new-user round 5)', () => {
    for (const trustedProxies of ['127.0.0.1', '10.0.0.0/8,127.0.0.0/8', '::1']) {
      const warnings = exposureWarnings({ store: 'embedded', trustedProxies }, true);
      assert.equal(warnings.length, 1, trustedProxies);
      assert.match(warnings[0]!, /FP_TRUSTED_PROXIES trusts (127\.0\.0\.1|::1), an address every function can connect from: .*forge the client .*proxy_bind 127\.0\.0\.2/);
    }
    assert.deepEqual(exposureWarnings({ store: 'embedded', trustedProxies: '127.0.0.2' }, true), [], 'a proxy bound to 127.0.0.2: functions cannot connect from it');
    assert.deepEqual(exposureWarnings({ store: 'embedded', trustedProxies: 'none' }, true), []);
    assert.deepEqual(exposureWarnings({ store: 'embedded', trustedProxies: '127.0.0.1' }, false), [], 'unsandboxed: every function is trusted anyway');
  });
});
