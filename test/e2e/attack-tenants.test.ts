/**
 * Red team, part 7 (December 2026, third probe): a tenant holding a token of one workspace (an
 * `invoker` or `deployer`, never the root token) against the limits the operator set on that
 * workspace (docs/adr/0011-tenants.md, "Quotas"). Each attack is made through the API as the
 * tenant's own scripts would; the operator's quota must hold whatever route the tenant takes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useAttackPlatform } from './attack-harness.js';
import { Api, deployed, errorOf, py, sleep } from './platform-harness.js';

const h = useAttackPlatform();

/** A workspace with `quotas`, and an API client holding a token of it with `role`. */
async function tenant(quotas: Record<string, number>, role = 'deployer'): Promise<{ name: string; api: Api }> {
  const name = `red-${Math.random().toString(36).slice(2, 8)}`;
  assert.equal((await h.api.call('POST', '/workspaces', { name, quotas })).status, 201);
  const token = await h.api.call('POST', '/tokens', { role, label: 'tenant' }, { 'fp-workspace': name });
  assert.equal(token.status, 201, JSON.stringify(token.body));
  return { name, api: new Api(h.url, token.body.secret as string) };
}

/** Waits, if needed, so that the next few seconds stay within one calendar minute (per-minute quotas). */
async function freshMinute(needMs = 15_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < needMs) await sleep(left + 200);
}

describe('attack: a tenant against its workspace\'s quotas', () => {
  it('test invokes (sync and async) count against invocationsPerMinute: past it they are refused as /fn is', { timeout: 120_000 }, async () => {
    const t = await tenant({ invocationsPerMinute: 3 });
    await deployed(t.api, 'spender', { 'main.py': py('def handler(event, context):', '    return {"ok": True}') });
    await freshMinute();
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${h.url}/fn/spender.${t.name}/`)).status, 200);
    assert.equal((await fetch(`${h.url}/fn/spender.${t.name}/`)).status, 429, 'the quota holds on /fn');
    // The same workspace's token, through the API's test invoke: before the fix, every one ran.
    const sync = await t.api.call('POST', '/functions/spender/invoke', {});
    assert.equal(sync.status, 429, `a test invoke ran past the workspace's quota: ${JSON.stringify(sync.body)}`);
    assert.equal(errorOf(sync).code, 'QUOTA_EXCEEDED');
    assert.ok(Number(sync.headers.get('retry-after')) >= 1);
    const queued = await t.api.call('POST', '/functions/spender/invoke/async', {});
    assert.equal(queued.status, 429, `an async test invoke was queued past the workspace's quota: ${JSON.stringify(queued.body)}`);
    assert.equal(errorOf(queued).code, 'QUOTA_EXCEEDED');
  });

  it('test invokes are counted: three of them use up a quota of three for /fn too', { timeout: 120_000 }, async () => {
    const t = await tenant({ invocationsPerMinute: 3 });
    await deployed(t.api, 'counted', { 'main.py': py('def handler(event, context):', '    return {"ok": True}') });
    await freshMinute();
    for (let i = 0; i < 3; i++) assert.equal((await t.api.call('POST', '/functions/counted/invoke', {})).status, 200);
    assert.equal((await fetch(`${h.url}/fn/counted.${t.name}/`)).status, 429, 'test invokes were not counted');
  });
});
