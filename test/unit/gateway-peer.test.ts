/** gateway/peer.ts and the host routing of gateway/routes.ts: pure functions, no I/O. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientView, formatAddress, TrustedProxies } from '../../gateway/peer.js';
import { hostRoute, localHost } from '../../gateway/routes.js';
import { gatewaySettings, loadConfig, proxyList } from '../../platform/config.js';

describe('formatAddress', () => {
  it('gives each IPv4 peer its own text when addresses alternate (the last one is kept, never a stale one)', () => {
    const v4 = (a: number, b: number, c: number, d: number): Uint8Array => new Uint8Array([a, b, c, d]);
    const mapped = (a: number, b: number, c: number, d: number): Uint8Array => new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, a, b, c, d]);
    const seq: [Uint8Array, string][] = [
      [v4(127, 0, 0, 1), '127.0.0.1'], [v4(127, 0, 0, 1), '127.0.0.1'], [v4(10, 0, 0, 1), '10.0.0.1'],
      [mapped(10, 0, 0, 1), '10.0.0.1'], [mapped(192, 168, 1, 255), '192.168.1.255'], [v4(127, 0, 0, 1), '127.0.0.1'],
      [v4(255, 255, 255, 255), '255.255.255.255'], [v4(0, 0, 0, 0), '0.0.0.0'], [v4(1, 0, 0, 0), '1.0.0.0'], [v4(0, 0, 0, 1), '0.0.0.1'],
    ];
    for (const [raw, text] of seq) assert.equal(formatAddress(raw), text);
  });

  it('formats IPv4, IPv4-mapped IPv6 and compressed IPv6', () => {
    assert.equal(formatAddress(new Uint8Array([127, 0, 0, 1])), '127.0.0.1');
    assert.equal(formatAddress(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 1, 2, 3])), '10.1.2.3');
    assert.equal(formatAddress(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])), '::1');
    assert.equal(formatAddress(new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])), '2001:db8::1');
    assert.equal(formatAddress(new Uint8Array(3)), '');
  });
});

describe('TrustedProxies', () => {
  it('matches addresses and CIDR ranges of both families, refuses anything else', () => {
    const t = new TrustedProxies(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
    assert.ok(t.has('127.0.0.1') && t.has('10.200.1.1') && t.has('fd12::5'));
    assert.ok(!t.has('127.0.0.2') && !t.has('11.0.0.1') && !t.has('::1') && !t.has('unknown'));
    assert.throws(() => new TrustedProxies(['localhost']));
    assert.throws(() => new TrustedProxies(['10.0.0.0/33']));
    assert.deepEqual(proxyList('none'), []);
    assert.deepEqual(proxyList(' 127.0.0.1 , ::1 '), ['127.0.0.1', '::1']);
  });
});

describe('clientView', () => {
  const trusted = new TrustedProxies(['127.0.0.1', '10.0.0.0/8']);

  it('ignores every forwarded header from an untrusted peer', () => {
    const v = clientView('198.51.100.9', [['x-forwarded-for', '1.2.3.4'], ['x-forwarded-proto', 'https'], ['forwarded', 'for=5.6.7.8']], trusted);
    assert.deepEqual(v, { scheme: 'http', client: ['198.51.100.9', 0], host: null, prefix: '', trusted: false });
    assert.equal(clientView('198.51.100.9', [['x-forwarded-prefix', '/api']], trusted).prefix, '');
  });

  it('walks X-Forwarded-For from the right past trusted proxies: a client cannot choose its own address', () => {
    // The client sent "X-Forwarded-For: 6.6.6.6"; its proxy (10.0.0.2) appended the real address.
    const v = clientView('127.0.0.1', [['x-forwarded-for', '6.6.6.6, 203.0.113.7, 10.0.0.2']], trusted);
    assert.deepEqual(v.client, ['203.0.113.7', 0]);
  });

  it('reads RFC 7239 Forwarded before X-Forwarded-*, and drops a host that is not one', () => {
    const v = clientView('127.0.0.1', [['forwarded', 'for=192.0.2.60;proto=https;host="a.example:8443", for=10.0.0.3'], ['x-forwarded-for', '9.9.9.9']], trusted);
    assert.deepEqual(v, { scheme: 'https', client: ['192.0.2.60', 0], host: 'a.example:8443', prefix: '', trusted: true });
    const bad = clientView('127.0.0.1', [['x-forwarded-host', 'a.example\r\nx: y']], trusted);
    assert.equal(bad.host, null);
  });
});

describe('X-Forwarded-Prefix', () => {
  const trusted = new TrustedProxies(['127.0.0.1']);
  const prefix = (...values: string[]) => clientView('127.0.0.1', values.map((v) => ['x-forwarded-prefix', v] as [string, string]), trusted).prefix;
  it('takes one plain absolute path from a trusted proxy, without its trailing slash', () => {
    assert.equal(prefix('/api/v1/'), '/api/v1');
    assert.equal(prefix('/a%20b'), '/a%20b');
    for (const bad of ['api', '/a/../b', '/a?x=1', '/a b', '//', 'http://x/']) assert.equal(prefix(bad), '', bad);
    assert.equal(prefix('/a', '/b'), '');
  });
});

describe('localHost (a platform on loopback answers this machine\'s names only: DNS rebinding, red team round 11)', () => {
  const local = (value: string, base: string | null = 'localhost') => localHost([['host', value]], base);
  it('takes localhost and names under it, IP literals and the base domain, with any port', () => {
    for (const ok of ['localhost', 'localhost:8090', 'LOCALHOST.', 'hello.localhost:8090', 'shop.acme.localhost', '127.0.0.1:8090', '10.0.0.5', '[::1]:8090', '[::ffff:127.0.0.1]']) assert.equal(local(ok), true, ok);
    assert.equal(local('fn.example.com', 'example.com'), true);
    assert.equal(local('example.com:443', 'example.com'), true);
    assert.equal(localHost([], 'localhost'), true, 'no Host at all');
  });
  it('refuses any other name: the name a rebinding page was loaded under, look-alikes, junk', () => {
    for (const bad of ['rebind.attacker.test:8090', 'attacker.test', 'evil-localhost', 'localhost.attacker.test', '127.0.0.1.nip.io', 'x', '[::1', '[evil]', '']) assert.equal(local(bad), false, bad);
    assert.equal(local('fn.example.com', null), false);
    assert.equal(local('fn.example.com', 'localhost'), false);
    assert.equal(localHost([['host', 'localhost'], ['host', 'attacker.test']], 'localhost'), false);
  });
  it('the same verdicts when values and base domains repeat and alternate (the last value is remembered)', () => {
    for (let round = 0; round < 3; round++) {
      for (const [value, base, expected] of [['x', null, false], ['x', null, false], ['127.0.0.1', null, true], ['fn.example.com', 'example.com', true], ['fn.example.com', null, false], ['', null, false], ['', 'localhost', false], ['localhost', 'localhost', true]] as const) {
        assert.equal(localHost([['host', value]], base), expected, `${value} ${base}`);
      }
    }
  });
});

describe('hostRoute', () => {
  const host = (value: string) => hostRoute([['host', value]], 'localhost');
  it('maps <name>.<base> and <name>.<workspace>.<base> to a key; anything else is path routing or bad', () => {
    assert.deepEqual(host('hello.localhost:8080'), { key: 'hello' });
    assert.deepEqual(host('Hello.LOCALHOST.'), { key: 'hello' });
    assert.deepEqual(host('shop.acme.localhost'), { key: 'shop.acme' });
    assert.deepEqual(host('a.b.c.localhost'), { bad: 'a.b.c' });
    assert.deepEqual(host('-x.localhost'), { bad: '-x' });
    assert.equal(host('localhost:8080'), null);
    assert.equal(host('127.0.0.1:8080'), null);
    assert.equal(host('evil-localhost'), null);
    assert.equal(host('[::1]:8080'), null);
    assert.equal(hostRoute([['host', 'hello.localhost']], null), null);
    assert.equal(hostRoute([['host', 'a.localhost'], ['host', 'b.localhost']], 'localhost'), null);
  });

  it('gives the same answer for a repeated Host as for a new one (the last route is kept), per base domain', () => {
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(host('hello.localhost:8080'), { key: 'hello' });
      assert.deepEqual(host('hello.localhost:8080'), { key: 'hello' });
      assert.equal(hostRoute([['host', 'hello.localhost:8080']], 'example.com'), null);
      assert.deepEqual(hostRoute([['host', 'hello.example.com']], 'example.com'), { key: 'hello' });
      assert.equal(host('hello.example.com'), null);
      assert.deepEqual(host('console.localhost'), { console: true });
      assert.deepEqual(host('a.b.c.localhost'), { bad: 'a.b.c' });
      assert.equal(hostRoute([['host', 'hello.localhost:8080']], null), null);
      assert.equal(hostRoute([['host', 'hello.localhost:8080'], ['host', 'hello.localhost:8080']], 'localhost'), null);
    }
    assert.ok(Object.isFrozen(host('hello.localhost')), 'a kept route is handed out again: nobody may change it');
  });
});

describe('FP_BASE_DOMAIN and FP_TRUSTED_PROXIES', () => {
  it('default to localhost and nobody; none turns host routing off; bad values are BAD_CONFIG', () => {
    const defaults = gatewaySettings(loadConfig({}));
    assert.equal(defaults.baseDomain, 'localhost');
    assert.deepEqual(defaults.trustedProxies, []);
    assert.deepEqual(gatewaySettings(loadConfig({ FP_TRUSTED_PROXIES: '127.0.0.1, ::1' })).trustedProxies, ['127.0.0.1', '::1']);
    const off = gatewaySettings(loadConfig({ FP_BASE_DOMAIN: 'none', FP_TRUSTED_PROXIES: 'none' }));
    assert.equal(off.baseDomain, null);
    assert.deepEqual(off.trustedProxies, []);
    assert.equal(gatewaySettings(loadConfig({ FP_BASE_DOMAIN: 'Fn.Example.com' })).baseDomain, 'fn.example.com');
    assert.throws(() => loadConfig({ FP_TRUSTED_PROXIES: '10.0.0.1,proxy.local' }), { code: 'BAD_CONFIG' });
    assert.throws(() => loadConfig({ FP_BASE_DOMAIN: '*.example.com' }), { code: 'BAD_CONFIG' });
  });
});
