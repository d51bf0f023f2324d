/**
 * The control plane API contract (docs/api.md) over real HTTP: admin auth, routing, functions
 * CRUD, and every bad-input case of bodies, path parameters and query strings, each asserted on
 * its code and the field it names.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import http from 'node:http';
import { Api, createFunction, errorOf, fnName, usePlatform } from './platform-harness.js';

const h = usePlatform();

/** A request with the path sent exactly as written (fetch and URL parsing resolve `..` and `%2E%2E`). */
function rawRequest(method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(h.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path, method, headers: { authorization: `Bearer ${h.api.token}` }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('admin auth', () => {
  it('refuses a call without a token: 401 ADMIN_TOKEN_REQUIRED with WWW-Authenticate', async () => {
    for (const header of [undefined, 'Basic abc', 'Bearer']) {
      const res = await fetch(`${h.url}/api/v1/functions`, header === undefined ? {} : { headers: { authorization: header } });
      assert.equal(res.status, 401, String(header));
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'ADMIN_TOKEN_REQUIRED');
    }
  });

  it('refuses a wrong token: 401 ADMIN_TOKEN_INVALID', async () => {
    const res = await new Api(h.url, 'fpa_not-the-token').call('GET', '/functions');
    assert.equal(res.status, 401);
    assert.equal(errorOf(res).code, 'ADMIN_TOKEN_INVALID');
  });

  it("refuses a function's invoke token: 403 ADMIN_TOKEN_FORBIDDEN", async () => {
    const created = await createFunction(h.api, fnName('tok'), { auth: 'token' });
    const res = await new Api(h.url, created.invokeToken).call('GET', '/functions');
    assert.equal(res.status, 403);
    assert.equal(errorOf(res).code, 'ADMIN_TOKEN_FORBIDDEN');
  });

  it('never stores the admin token in the clear', async () => {
    const { readFileSync, readdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    const token = h.api.token!;
    for (const file of readdirSync(h.stateDir).filter((f) => f.startsWith('platform.db'))) {
      assert.ok(!readFileSync(join(h.stateDir, file)).includes(token), file);
    }
  });
});

describe('routing', () => {
  it('answers 404 ROUTE_NOT_FOUND for unknown API paths', async () => {
    for (const path of ['/nope', '/functions/x/nope', '/functions/a/b/c/d']) {
      const res = await h.api.call('GET', path);
      assert.equal(res.status, 404, path);
      assert.equal(errorOf(res).code, 'ROUTE_NOT_FOUND', path);
    }
    const outside = await fetch(`${h.url}/api/v2/functions`);
    assert.equal(outside.status, 404);
  });

  it('answers 405 METHOD_NOT_ALLOWED with Allow for a known path', async () => {
    const res = await h.api.call('PUT', '/functions');
    assert.equal(res.status, 405);
    assert.equal(errorOf(res).code, 'METHOD_NOT_ALLOWED');
    assert.equal(res.headers.get('allow'), 'POST, GET');
  });

  it('serves the JSON Schema of platform.yaml', async () => {
    const res = await h.api.call('GET', '/schema/platform.json');
    assert.equal(res.status, 200);
    assert.equal(res.body.type, 'object');
    assert.ok(res.body.properties.name && res.body.properties.limits);
  });
});

describe('functions', () => {
  it('creates a function with defaults, its invoke URL and contract card', async () => {
    const name = fnName('new');
    const res = await h.api.call('POST', '/functions', { name });
    assert.equal(res.status, 201);
    const { function: fn, invokeUrl, contract } = res.body;
    assert.equal(fn.name, name);
    assert.deepEqual([fn.preset, fn.invocation, fn.auth, fn.status, fn.activeVersion], ['http', 'both', 'public', 'active', null]);
    assert.deepEqual(fn.limits, { timeoutMs: 30_000, memoryBytes: 256 * 1024 * 1024, concurrency: 1, maxInstances: 10, minWarm: 0, maxQueue: 100 });
    assert.equal(invokeUrl, `${h.url}/fn/${name}/`);
    assert.equal(res.body.asyncUrl, `${h.url}/async/${name}/`, 'invocation both (the default): both routes take its calls');
    // At / of its own host too (FP_BASE_DOMAIN, localhost by default), scheme and port the gateway's.
    assert.equal(res.body.hostUrl, `http://${name}.localhost:${new URL(h.url).port}/`);
    assert.equal(res.body.invokeToken, undefined);
    const { quotas, ...card } = contract;
    assert.deepEqual(card, {
      timeoutMs: 30_000, memoryBytes: 256 * 1024 * 1024, concurrency: 1, maxInstances: 10, minWarm: 0, maxQueue: 100,
      syncPayloadBytes: 6 * 1024 * 1024, asyncPayloadBytes: 256 * 1024, runRetentionMs: 7 * 24 * 3_600_000, auth: 'public',
      retry: { maxAttempts: 3, backoffBaseMs: 1000, backoffMaxMs: 60_000, maxEventAgeMs: 6 * 3_600_000 }, invokeUrl,
      rateLimit: null, workspace: 'default',
    });
    // The default workspace has no quotas; the card shows what is used of each all the same.
    for (const quota of ['functions', 'instances', 'invocationsPerMinute', 'codeBytes', 'logBytes']) assert.equal(quotas[quota].limit, null, quota);
    assert.ok(quotas.functions.used >= 1);
    assert.equal(fn.workspace, 'default');
  });

  it("the audit entry of a PATCH names the settings that changed, not every key sent (deploy sends them all)", async () => {
    const name = fnName('audit');
    assert.equal((await h.api.call('POST', '/functions', { name, env: { A: '1' }, limits: { timeout: '10s', memory: '128Mi' } })).status, 201);
    const patch = await h.api.call('PATCH', `/functions/${name}`, { preset: 'http', invocation: 'both', env: { A: '1' }, limits: { memory: '128Mi', timeout: '20s' }, retry: { maxAttempts: 3 } });
    assert.equal(patch.status, 200);
    const same = await h.api.call('PATCH', `/functions/${name}`, { preset: 'http', env: { A: '1' } });
    assert.equal(same.status, 200);
    const audit = await h.api.call('GET', '/audit?action=function.update&limit=50');
    const mine = (audit.body.items as { target: string; detail: { changed: string[] } }[]).filter((e) => e.target === name);
    assert.deepEqual(mine.map((e) => e.detail.changed), [['limits']], 'one entry, for the limits; the PATCH that changed nothing is no entry');
  });

  it('takes every setting with human units, and gives asyncUrl and an invoke token when asked', async () => {
    const name = fnName('full');
    const res = await h.api.call('POST', '/functions', {
      name, preset: 'worker', invocation: 'both', auth: 'token', env: { GREETING: 'hi' },
      limits: { timeout: '2s', memory: '64Mi', concurrency: 4, maxInstances: 3, minWarm: 1, maxQueue: 7 },
    });
    assert.equal(res.status, 201);
    assert.deepEqual(res.body.function.limits, { timeoutMs: 2000, memoryBytes: 64 * 1024 * 1024, concurrency: 4, maxInstances: 3, minWarm: 1, maxQueue: 7 });
    assert.equal(res.body.asyncUrl, `${h.url}/async/${name}/`);
    assert.match(res.body.invokeToken, /^fpi_/);
    assert.equal(res.body.contract.auth, 'token');
  });

  it('gets, lists, patches (limits merged) and deletes', async () => {
    const name = fnName('crud');
    await createFunction(h.api, name, { limits: { memory: '128Mi' } });
    const got = await h.api.call('GET', `/functions/${name}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.function.limits.memoryBytes, 128 * 1024 * 1024);

    const listed = await h.api.call('GET', '/functions');
    assert.ok(listed.body.items.some((f: { name: string }) => f.name === name));

    const patched = await h.api.call('PATCH', `/functions/${name}`, { limits: { timeout: '5s' }, env: { A: '1' }, preset: 'cron' });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.function.limits.timeoutMs, 5000);
    assert.equal(patched.body.function.limits.memoryBytes, 128 * 1024 * 1024, 'keys not in the patch keep their value');
    assert.deepEqual(patched.body.function.env, { A: '1' });
    assert.equal(patched.body.function.preset, 'cron');
    assert.equal(patched.body.contract.timeoutMs, 5000);
    assert.ok(patched.body.function.revision > got.body.function.revision);

    const del = await h.api.call('DELETE', `/functions/${name}`);
    assert.equal(del.status, 204);
    const gone = await h.api.call('GET', `/functions/${name}`);
    assert.equal(gone.status, 404);
    assert.equal(errorOf(gone).code, 'FUNCTION_NOT_FOUND');
    assert.equal((await h.api.call('DELETE', `/functions/${name}`)).status, 404);
  });

  it('lists env names without their values, by name, in pages that follow nextCursor', async () => {
    const prefix = fnName('page');
    const names = [`${prefix}-c`, `${prefix}-a`, `${prefix}-b`];
    for (const n of names) await createFunction(h.api, n, { env: { SECRET_LOOKING: `value-of-${n}`, B: '2' } });
    const first = await h.api.call('GET', '/functions');
    const item = first.body.items.find((f: { name: string }) => f.name === names[0]);
    assert.deepEqual(item.envNames, ['B', 'SECRET_LOOKING']);
    assert.equal(item.env, undefined, 'no env values in the listing');
    assert.ok(!JSON.stringify(first.body).includes('value-of-'), 'no value anywhere in it');
    assert.equal(first.body.nextCursor, null, 'one page holds them all');
    // Pages of two: every function exactly once, in name order, then nextCursor null.
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await h.api.call('GET', `/functions?limit=2${cursor !== null ? `&cursor=${cursor}` : ''}`);
      assert.equal(page.status, 200);
      assert.ok(page.body.items.length <= 2);
      seen.push(...page.body.items.map((f: { name: string }) => f.name));
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 1000);
    assert.deepEqual(seen, first.body.items.map((f: { name: string }) => f.name));
    assert.deepEqual(seen, [...seen].sort());
    assert.deepEqual(seen.filter((n) => n.startsWith(prefix)), [...names].sort());
    for (const bad of ['nope!', 'QUFB', Buffer.from('../x').toString('base64url')]) {
      const refused = await h.api.call('GET', `/functions?cursor=${bad}`);
      assert.equal(refused.status, 400, bad);
      assert.equal(errorOf(refused).code, 'RUN_CURSOR_INVALID');
    }
    assert.equal((await h.api.call('GET', '/functions?limit=0')).status, 400);
    assert.equal((await h.api.call('GET', '/functions?limit=1001')).status, 400);
  });
  it('refuses a second function with the same name: 409 FUNCTION_EXISTS', async () => {
    const name = fnName('dup');
    await createFunction(h.api, name);
    const res = await h.api.call('POST', '/functions', { name });
    assert.equal(res.status, 409);
    assert.deepEqual([errorOf(res).code, errorOf(res).field], ['FUNCTION_EXISTS', 'name']);
  });

  it('issues an invoke token when a PATCH turns auth to token', async () => {
    const name = fnName('flip');
    await createFunction(h.api, name);
    const res = await h.api.call('PATCH', `/functions/${name}`, { auth: 'token' });
    assert.equal(res.status, 200);
    assert.match(res.body.invokeToken, /^fpi_/);
    const again = await h.api.call('PATCH', `/functions/${name}`, { auth: 'token' });
    assert.equal(again.body.invokeToken, undefined, 'a live token exists: none issued');
  });
});

/** [body, code, field] for POST /functions. */
const BAD_CREATES: [unknown, string, string][] = [
  [{ name: 'ok-name', bogus: 1 }, 'UNKNOWN_FIELD', 'bogus'],
  [{ name: 'ok-name', limits: { cpu: '1' } }, 'UNKNOWN_FIELD', 'limits.cpu'],
  [{ name: 'a/b' }, 'INVALID_NAME', 'name'],
  [{ name: '..' }, 'INVALID_NAME', 'name'],
  [{ name: 'Upper' }, 'INVALID_NAME', 'name'],
  [{ name: '-lead' }, 'INVALID_NAME', 'name'],
  [{ name: 'x'.repeat(64) }, 'INVALID_NAME', 'name'],
  [{ name: '' }, 'INVALID_NAME', 'name'],
  [{ name: 42 }, 'INVALID_NAME', 'name'],
  [{}, 'INVALID_NAME', 'name'],
  [{ name: 'ok-name', preset: 'grpc' }, 'INVALID_FIELD', 'preset'],
  [{ name: 'ok-name', invocation: 1 }, 'INVALID_FIELD', 'invocation'],
  [{ name: 'ok-name', auth: true }, 'INVALID_FIELD', 'auth'],
  [{ name: 'ok-name', limits: { timeout: 30 } }, 'INVALID_FIELD', 'limits.timeout'],
  [{ name: 'ok-name', limits: { timeout: 'soon' } }, 'INVALID_FIELD', 'limits.timeout'],
  [{ name: 'ok-name', limits: { memory: 'lots' } }, 'INVALID_FIELD', 'limits.memory'],
  [{ name: 'ok-name', limits: { concurrency: '4' } }, 'INVALID_FIELD', 'limits.concurrency'],
  [{ name: 'ok-name', limits: { maxInstances: 0 } }, 'INVALID_FIELD', 'limits.maxInstances'],
  [{ name: 'ok-name', limits: { maxInstances: 51 } }, 'INVALID_FIELD', 'limits.maxInstances'], // the platform's ceiling (FP_MAX_FUNCTION_INSTANCES, 50)
  [{ name: 'ok-name', limits: { maxInstances: 10_000 } }, 'INVALID_FIELD', 'limits.maxInstances'],
  [{ name: 'ok-name', limits: { memory: '0Mi' } }, 'INVALID_FIELD', 'limits.memory'], // 0 was "no limit" in the pool
  [{ name: 'ok-name', limits: { memory: '1Ki' } }, 'INVALID_FIELD', 'limits.memory'], // below 16Mi: no runtime starts
  [{ name: 'ok-name', limits: { memory: '100Ti' } }, 'INVALID_FIELD', 'limits.memory'], // the platform's ceiling (FP_MAX_FUNCTION_MEMORY_BYTES, 4Gi)
  [{ name: 'ok-name', limits: { timeout: '99999h' } }, 'INVALID_FIELD', 'limits.timeout'], // the platform's ceiling (FP_MAX_FUNCTION_TIMEOUT_MS, 1h); was clamped to 24.8 days
  [{ name: 'ok-name', limits: { minWarm: 5, maxInstances: 2 } }, 'INVALID_FIELD', 'limits.minWarm'],
  [{ name: 'ok-name', env: { A: 1 } }, 'INVALID_FIELD', 'env.A'],
  [{ name: 'ok-name', env: { '1BAD': 'x' } }, 'INVALID_FIELD', 'env.1BAD'],
  [{ name: 'ok-name', env: 'A=1' }, 'INVALID_FIELD', 'env'],
  [[], 'INVALID_FIELD', 'body'],
  [null, 'INVALID_FIELD', 'body'],
];

describe('bad input', () => {
  for (const [body, code, field] of BAD_CREATES) {
    it(`POST /functions ${JSON.stringify(body).slice(0, 60)} → ${code} ${field}`, async () => {
      const res = await h.api.call('POST', '/functions', body);
      assert.equal(res.status, 400);
      assert.deepEqual([errorOf(res).code, errorOf(res).field], [code, field]);
      assert.ok(Array.isArray(errorOf(res)['issues']));
    });
  }

  it('creates nothing when it refuses', async () => {
    const listed = await h.api.call('GET', '/functions');
    assert.ok(!listed.body.items.some((f: { name: string }) => f.name === 'ok-name'));
  });

  it('answers INVALID_JSON for a body that is not JSON', async () => {
    const res = await h.api.call('POST', '/functions', '{"name": "x",');
    assert.equal(res.status, 400);
    assert.deepEqual([errorOf(res).code, errorOf(res).field], ['INVALID_JSON', 'body']);
  });

  it('refuses an env name given twice (JSON would keep the last silently): 400 INVALID_JSON naming it, nothing changed', async () => {
    const created = await h.api.call('POST', '/functions', { name: 'dup-env', env: { FOO: 'a' } });
    assert.equal(created.status, 201);
    const res = await h.api.call('PATCH', '/functions/dup-env', '{"env": {"FOO": "b", "BAR": "x", "FOO": "c"}}');
    assert.equal(res.status, 400);
    assert.deepEqual([errorOf(res).code, errorOf(res).field], ['INVALID_JSON', 'env.FOO']);
    assert.deepEqual((await h.api.call('GET', '/functions/dup-env')).body.function.env, { FOO: 'a' });
    assert.equal((await h.api.call('DELETE', '/functions/dup-env')).status, 204);
  });

  it('checks names in paths after percent-decoding: 400 INVALID_NAME', async () => {
    for (const raw of ['a%2Fb', '..', '%2E%2E', 'UP', 'a%00b', '%ZZ']) {
      for (const [method, suffix] of [['GET', ''], ['PATCH', ''], ['POST', '/deploy'], ['GET', '/versions']] as const) {
        const res = await rawRequest(method, `/api/v1/functions/${raw}${suffix}`, method === 'GET' ? undefined : '{}');
        assert.equal(res.status, 400, `${method} ${raw}${suffix}`);
        const error = (JSON.parse(res.body) as { error: { code: string; field: string } }).error;
        assert.deepEqual([error.code, error.field], ['INVALID_NAME', 'name'], `${method} ${raw}${suffix}`);
      }
    }
  });

  it('refuses unknown fields and wrong types in PATCH, deploy and pause bodies', async () => {
    const name = fnName('bad');
    await createFunction(h.api, name);
    const cases: [string, string, unknown, string, string][] = [
      ['PATCH', '', { name: 'rename' }, 'UNKNOWN_FIELD', 'name'],
      ['PATCH', '', { limits: { gpu: 1 } }, 'UNKNOWN_FIELD', 'limits.gpu'],
      ['PATCH', '', { limits: { timeout: 5 } }, 'INVALID_FIELD', 'limits.timeout'],
      ['PATCH', '', { limits: { minWarm: 50 } }, 'INVALID_FIELD', 'limits.minWarm'],
      ['PATCH', '', { limits: { maxInstances: 51 } }, 'INVALID_FIELD', 'limits.maxInstances'],
      ['PATCH', '', { env: { A: null } }, 'INVALID_FIELD', 'env.A'],
      ['POST', '/deploy', { version: 'latest' }, 'INVALID_FIELD', 'version'],
      ['POST', '/deploy', { version: 0 }, 'INVALID_FIELD', 'version'],
      ['POST', '/deploy', { version: 1, force: true }, 'UNKNOWN_FIELD', 'force'],
      ['POST', '/rollback', { to: 1 }, 'UNKNOWN_FIELD', 'to'],
      ['POST', '/pause', { version: 1 }, 'UNKNOWN_FIELD', 'version'],
      ['POST', '/invoke', { payload: 1 }, 'UNKNOWN_FIELD', 'payload'],
      ['POST', '/invoke', { path: 'no-slash' }, 'INVALID_FIELD', 'path'],
      ['POST', '/invoke', { body: 1, bodyBase64: 'AA==' }, 'INVALID_FIELD', 'bodyBase64'],
      ['POST', '/invoke', { headers: { 'bad name': 'x' } }, 'INVALID_FIELD', 'headers.bad name'],
    ];
    for (const [method, suffix, body, code, field] of cases) {
      const res = await h.api.call(method, `/functions/${name}${suffix}`, body);
      assert.equal(res.status, 400, `${method} ${suffix} ${JSON.stringify(body)}`);
      assert.deepEqual([errorOf(res).code, errorOf(res).field], [code, field], `${method} ${suffix} ${JSON.stringify(body)}`);
    }
    const after = await h.api.call('GET', `/functions/${name}`);
    assert.equal(after.body.function.revision, 1, 'no refused change was applied');
  });

  it('refuses bad run queries with the parameter named', async () => {
    const cases: [string, string, string][] = [
      ['bogus=1', 'UNKNOWN_FIELD', 'query.bogus'],
      ['status=weird', 'INVALID_FIELD', 'query.status'],
      ['trigger=carrier-pigeon', 'INVALID_FIELD', 'query.trigger'],
      ['since=yesterday-ish', 'INVALID_FIELD', 'query.since'],
      ['until=12abc', 'INVALID_FIELD', 'query.until'],
      ['limit=0', 'INVALID_FIELD', 'query.limit'],
      ['limit=1001', 'INVALID_FIELD', 'query.limit'],
      ['limit=ten', 'INVALID_FIELD', 'query.limit'],
      ['limit=1&limit=2', 'INVALID_FIELD', 'query.limit'],
      ['function=a%2Fb', 'INVALID_NAME', 'query.function'],
      ['cursor=not-a-cursor', 'RUN_CURSOR_INVALID', 'query.cursor'],
    ];
    for (const [query, code, field] of cases) {
      const res = await h.api.call('GET', `/runs?${query}`);
      assert.equal(res.status, 400, query);
      assert.deepEqual([errorOf(res).code, errorOf(res).field], [code, field], query);
    }
  });

  it('answers 404 for a run, version or function that does not exist', async () => {
    const run = await h.api.call('GET', '/runs/00000000-0000-0000-0000-000000000000');
    assert.deepEqual([run.status, errorOf(run).code], [404, 'RUN_NOT_FOUND']);
    assert.match(String(errorOf(run).message), /runs are kept for \d+[smhd]\,/, 'the retention in human units, not milliseconds');
    assert.match(String(errorOf(run).message), /pruned sooner when the run store reaches its size cap, FP_RUN_STORE_MAX_BYTES; of successful warm calls some are only counted/, 'every way a run goes: a run pruned by the cap seconds after it ran was "kept for 7d"');
    const fn = await h.api.call('POST', `/functions/${fnName('ghost')}/deploy`, {});
    assert.deepEqual([fn.status, errorOf(fn).code, errorOf(fn).field], [404, 'FUNCTION_NOT_FOUND', 'name']);
    const bad = await h.api.call('GET', `/functions/${fnName('ghost')}/versions/one`);
    assert.deepEqual([bad.status, errorOf(bad).code, errorOf(bad).field], [400, 'INVALID_FIELD', 'version']);
  });

  it('refuses an API body over its limit: 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await h.api.call('POST', '/functions', JSON.stringify({ name: 'big', note: 'x'.repeat(2 * 1024 * 1024) }));
    assert.equal(res.status, 413);
    assert.equal(errorOf(res).code, 'PAYLOAD_TOO_LARGE');
  });
});

describe('admin token rotation', () => {
  it('issues a new admin token; the old one stops working at once', async () => {
    const old = h.api.token!;
    const res = await h.api.call('POST', '/admin/tokens/rotate');
    assert.equal(res.status, 200);
    assert.match(res.body.adminToken, /^fpa_/);
    const stale = await h.api.call('GET', '/functions');
    assert.deepEqual([stale.status, errorOf(stale).code], [401, 'ADMIN_TOKEN_INVALID']);
    h.api.token = res.body.adminToken;
    assert.equal((await h.api.call('GET', '/functions')).status, 200);
    assert.notEqual(h.api.token, old);
    // Recorded install-wide (no workspace), by the old token, naming the new one.
    const audit = await h.api.call('GET', '/audit?scope=all&action=admin-token.rotate');
    assert.equal(audit.status, 200);
    const entry = audit.body.items[0];
    assert.deepEqual([entry.workspace, entry.actor.role, entry.detail.newTokenId === entry.target], [null, 'root', false]);
    assert.equal(typeof entry.detail.newTokenId, 'string');
    assert.equal(JSON.stringify(audit.body).includes(h.api.token!), false, 'no token secret in the audit log');
  });
});
