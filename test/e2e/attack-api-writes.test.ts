/**
 * Red team round 9 (red12, December 2026; docs/adr/0103-api-writes-bounded.md): a tenant's token
 * writing through the control-plane API as fast as it can. Each change is a row of the store (its
 * audit entry at least, ~285 bytes of platform.db): one `deployer` token saving one small test case
 * from four loops made 1 400 changes a second here (~34 GB of platform.db a day), in no quota.
 * Now a workspace's tokens make at most FP_API_WRITE_RATE changes a minute (429 API_RATE_LIMITED,
 * Retry-After), and a workspace keeps its newest FP_AUDIT_MAX_ENTRIES audit entries.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Api, errorOf, usePlatform } from './platform-harness.js';

const RATE = 30;
const KEEP = 100;
const h = usePlatform({ apiWriteRate: RATE, auditMaxEntries: KEEP });

async function tenant(role = 'deployer'): Promise<{ name: string; api: Api }> {
  const name = `w-${Math.random().toString(36).slice(2, 8)}`;
  assert.equal((await h.api.call('POST', '/workspaces', { name })).status, 201);
  const token = await h.api.call('POST', '/tokens', { role, label: 'tenant' }, { 'fp-workspace': name });
  assert.equal(token.status, 201, JSON.stringify(token.body));
  return { name, api: new Api(h.url, token.body.secret as string) };
}

const CASE = { mode: 'sync', request: { path: '/x' } };

describe('attack: a tenant writing through the API as fast as it can', () => {
  it('a workspace\'s tokens make at most FP_API_WRITE_RATE changes a minute: then 429 API_RATE_LIMITED with Retry-After; reads, uploads, other workspaces and the root token go on', { timeout: 60_000 }, async () => {
    const t = await tenant('owner');
    // The refill adds RATE a minute: a few may come back while these run on a slow machine.
    const statuses: number[] = [];
    for (let i = 0; i < RATE + 10; i++) {
      const res = await t.api.call(i === 0 ? 'POST' : 'PUT', i === 0 ? '/functions' : `/functions/f/test-cases/c${i % 3}`, i === 0 ? { name: 'f' } : CASE);
      statuses.push(res.status);
      if (res.status === 429) {
        // Before: every one was stored (200), as fast as the platform answers.
        assert.equal(errorOf(res).code, 'API_RATE_LIMITED');
        assert.equal(errorOf(res)['limit'], RATE);
        assert.equal(errorOf(res)['workspace'], t.name);
        assert.ok(Number(res.headers.get('retry-after')) >= 1, String(res.headers.get('retry-after')));
      }
    }
    assert.ok(statuses.slice(0, RATE).every((s) => s === 200 || s === 201), statuses.join(','));
    assert.ok(statuses.filter((s) => s === 429).length >= 3, `refused: ${statuses.join(',')}`);
    // A second token of the same workspace shares the rate: more tokens are no way around it.
    const second = await h.api.call('POST', '/tokens', { role: 'deployer', label: 'second' }, { 'fp-workspace': t.name });
    const other = new Api(h.url, second.body.secret as string);
    // (A place comes back every 2 s: of five quick tries, most are refused.)
    const tries: number[] = [];
    for (let i = 0; i < 5; i++) tries.push((await other.call('PUT', '/functions/f/test-cases/d', CASE)).status);
    assert.ok(tries.filter((s) => s === 429).length >= 3, `the second token: ${tries.join(',')}`);
    // Reads, and the operations the rate does not count, still answer.
    assert.equal((await t.api.call('GET', '/functions/f/test-cases')).status, 200);
    assert.equal((await t.api.call('POST', '/blobs/missing', { sha256: ['a'.repeat(64)] })).status, 200);
    // The root token (the operator) is not rated, in this workspace either.
    assert.equal((await h.api.call('PUT', '/functions/f/test-cases/root', CASE, { 'fp-workspace': t.name })).status, 200);
    // Another workspace's tenant is not held back by this one.
    const u = await tenant();
    assert.equal((await u.api.call('POST', '/functions', { name: 'g' })).status, 201);
  });

  it('a workspace keeps its newest FP_AUDIT_MAX_ENTRIES audit entries: 600 changes leave at most KEEP plus the slack, the newest, and an audit.trim entry', { timeout: 120_000 }, async () => {
    const t = await tenant();
    const inWs = { 'fp-workspace': t.name };
    assert.equal((await h.api.call('POST', '/functions', { name: 'f' }, inWs)).status, 201);
    // The root token is not rated, so it makes the changes quickly; each writes one entry here.
    for (let i = 0; i < 600; i++) assert.equal((await h.api.call('PUT', `/functions/f/test-cases/c${i % 3}`, CASE, inWs)).status, 200);
    const listed = await h.api.call('GET', '/audit?limit=1000', undefined, inWs);
    const items = listed.body.items as { action: string; target: string; detail: Record<string, unknown> }[];
    // Before: 602 (every change kept for FP_AUDIT_RETENTION, 90 days).
    assert.ok(items.length <= KEEP + 10, `${items.length} entries kept; at most ${KEEP + 10}`);
    assert.ok(items.length >= KEEP - 1, String(items.length));
    assert.equal(items.find((e) => e.action === 'test-case.save')?.detail['testCase'], 'c2'); // 599 % 3
    assert.ok(items.some((e) => e.action === 'audit.trim'), 'the trim leaves a mark');
  });

  it('a recycled workspace name: the new owner\'s audit numbers start at its own creation even once the first tenant\'s entries are trimmed away', { timeout: 120_000 }, async () => {
    const name = `r-${Math.random().toString(36).slice(2, 8)}`;
    const inWs = { 'fp-workspace': name };
    assert.equal((await h.api.call('POST', '/workspaces', { name })).status, 201);
    assert.equal((await h.api.call('POST', '/functions', { name: 'f' }, inWs)).status, 201);
    for (let i = 0; i < 200; i++) assert.equal((await h.api.call('PUT', `/functions/f/test-cases/c${i % 3}`, CASE, inWs)).status, 200);
    assert.equal((await h.api.call('DELETE', '/functions/f', undefined, inWs)).status, 204);
    assert.equal((await h.api.call('DELETE', `/workspaces/${name}`)).status, 204);
    // Another tenant gets the name; its changes push the first tenant's entries out (KEEP 100).
    assert.equal((await h.api.call('POST', '/workspaces', { name })).status, 201);
    const made = await h.api.call('POST', '/tokens', { role: 'owner', label: 'new' }, inWs);
    const owner = new Api(h.url, made.body.secret as string);
    assert.equal((await h.api.call('POST', '/functions', { name: 'g' }, inWs)).status, 201);
    for (let i = 0; i < 130; i++) assert.equal((await h.api.call('PUT', `/functions/g/test-cases/c${i % 3}`, CASE, inWs)).status, 200);
    const newest = (await owner.call('GET', '/audit?limit=1')).body.items[0] as { seq: number; action: string };
    // Its own: the creation, the token, the function, 130 saves and the trims' marks (under 20).
    // Before: the first tenant's ~205 entries were counted in (the store's number shown as is).
    assert.ok(newest.seq >= 133 && newest.seq < 160, `the new owner's newest entry is number ${newest.seq}`);
  });

  it('a function keeps its newest 1000 deploy records, and a workspace its newest 1000 revoked tokens: pausing and resuming, or creating and revoking, in a loop', { timeout: 600_000 }, async () => {
    const t = await tenant();
    const inWs = { 'fp-workspace': t.name };
    assert.equal((await h.api.call('POST', '/functions', { name: 'f' }, inWs)).status, 201);
    // The admin token, not rated; four loops.
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < 1006) {
        const i = next++;
        const res = await h.api.call('POST', `/functions/f/${i % 2 === 0 ? 'pause' : 'resume'}`, {}, inWs);
        assert.ok(res.status === 200 || res.status === 409, `${res.status} ${JSON.stringify(res.body)}`);
        const made = await h.api.call('POST', '/tokens', { role: 'viewer', label: `t${i}` }, inWs);
        assert.equal(made.status, 201);
        assert.equal((await h.api.call('DELETE', `/tokens/${made.body.token.id as string}`, undefined, inWs)).status, 200);
      }
    }));
    const deploys = await h.api.call('GET', '/functions/f/deploys?limit=1000', undefined, inWs);
    // Before: 1006 records, and 1006 revoked tokens.
    assert.equal(deploys.status, 200, JSON.stringify(deploys.body));
    const page = deploys.body.items as { seq: number }[];
    assert.equal(page.length, 1000);
    const oldest = Math.min(...page.map((e) => e.seq));
    const older = await h.api.call('GET', `/functions/f/deploys?before=${oldest}`, undefined, inWs);
    assert.deepEqual((older.body.items as unknown[]).length, 0, 'nothing older than the newest 1000');
    // The API lists at most 1000 revoked tokens anyway: count the rows in the store.
    const db = new Database(join(h.stateDir, 'platform.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT count(*) FROM tokens WHERE scope = ? AND revoked_at IS NOT NULL').pluck().get(t.name) as number;
      assert.equal(rows, 1000, `${rows} revoked token rows kept`);
    } finally {
      db.close();
    }
  });
});
