/**
 * The pieces of tenancy that are pure (docs/adr/0011-tenants.md): the function key, roles, the
 * status of QUOTA_EXCEEDED, rates and long durations, `limits.rate` in the manifest and in a PATCH,
 * the gateway's routes for keys (odd characters included), the API's scope (the FP-Workspace
 * header, hostile values included), and the logBytes budget.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatRate, functionKey, httpStatus, isFunctionKey, nameOfKey, parseFunctionKey, parseLongDurationMs, parseManifest, parseRate,
  PlatformError, retryAfterOf, roleAllows, workspaceOfKey,
} from '../../protocol/index.js';
import { route } from '../../gateway/routes.js';
import { triggerChanges } from '../../controlplane/api/trigger-changes.js';
import { resolveScope } from '../../controlplane/api/scope.js';
import type { Principal } from '../../controlplane/api/auth.js';
import { mergedLimits } from '../../controlplane/api/schemas.js';
import { WorkspaceRegistry } from '../../controlplane/tenancy/workspace-registry.js';
import { LogBudget } from '../../controlplane/runs/log-budget.js';
import { NO_QUOTAS } from '../../controlplane/store/index.js';
import { run } from '../conformance/fixtures.js';

describe('the function key', () => {
  it('is the name in default and name.workspace elsewhere, read back the same', () => {
    assert.equal(functionKey('shop', 'default'), 'shop');
    assert.equal(functionKey('shop', 'acme'), 'shop.acme');
    assert.deepEqual(parseFunctionKey('shop'), { name: 'shop', workspace: 'default' });
    assert.deepEqual(parseFunctionKey('shop.acme'), { name: 'shop', workspace: 'acme' });
    assert.equal(workspaceOfKey('shop.acme'), 'acme');
    assert.equal(nameOfKey('shop.acme'), 'shop');
    assert.throws(() => functionKey('Shop', 'acme'), RangeError);
    assert.throws(() => functionKey('shop', 'a.b'), RangeError);
  });

  it('refuses anything that is not exactly one key: no alias of default, no second dot, no escapes', () => {
    for (const bad of ['shop.default', 'a.b.c', '.acme', 'shop.', 'Shop.acme', 'shop%2eacme', 'shop..acme', '-shop.acme', 'shop.acme-', `shop.${'w'.repeat(31)}`, '', 'a/b', 'shop.acme\n']) {
      assert.equal(isFunctionKey(bad), false, JSON.stringify(bad));
      assert.equal(workspaceOfKey(bad), 'default', 'a string that is no key lands in no other tenant');
    }
    assert.equal(isFunctionKey(`${'a'.repeat(63)}.${'w'.repeat(30)}`), true);
  });
});

describe('roles', () => {
  it('includes the ones below; root above all', () => {
    assert.equal(roleAllows('owner', 'deployer'), true);
    assert.equal(roleAllows('deployer', 'owner'), false);
    assert.equal(roleAllows('viewer', 'invoker'), false);
    assert.equal(roleAllows('invoker', 'viewer'), true);
    assert.equal(roleAllows('owner', 'root'), false);
    assert.equal(roleAllows('root', 'owner'), true);
  });
});

describe('QUOTA_EXCEEDED', () => {
  it('is 403 for what must be deleted, 429 with Retry-After for rates', () => {
    assert.equal(httpStatus('QUOTA_EXCEEDED', { quota: 'functions' }), 403);
    assert.equal(httpStatus('QUOTA_EXCEEDED', { quota: 'codeBytes' }), 403);
    assert.equal(httpStatus('QUOTA_EXCEEDED', { quota: 'invocationsPerMinute' }), 429);
    assert.equal(httpStatus('QUOTA_EXCEEDED', { quota: 'instances' }), 429);
    assert.equal(httpStatus('QUOTA_EXCEEDED'), 429);
    assert.equal(new PlatformError('QUOTA_EXCEEDED', 'x', { quota: 'functions' }).status, 403);
    assert.equal(retryAfterOf(new PlatformError('RATE_LIMITED', 'x', { retryAfterS: 1.2 })), '2');
    assert.equal(retryAfterOf(new PlatformError('RATE_LIMITED', 'x', {})), null);
    // An outage whose fix is "retry" says when, from its code (chaos round 1, ADR 0217); its details win.
    assert.equal(retryAfterOf(new PlatformError('ASYNC_QUEUE_UNAVAILABLE')), '1');
    assert.equal(retryAfterOf(new PlatformError('STORE_UNAVAILABLE', 'x', { retryAfterS: 5 })), '5');
    // No runtime could start (out of pids or descriptors, EAGAIN/EMFILE): an outage too (chaos round 3).
    assert.equal(retryAfterOf(new PlatformError('RUNTIME_UNAVAILABLE')), '1');
    assert.equal(retryAfterOf(new PlatformError('SHUTTING_DOWN')), null);
    assert.equal(retryAfterOf({ details: {} }), null);
  });
});

describe('rates and long durations', () => {
  it('parses and formats rates', () => {
    assert.deepEqual(parseRate('100/s'), { requests: 100, periodMs: 1000 });
    assert.deepEqual(parseRate(' 6000 / m '), { requests: 6000, periodMs: 60_000 });
    assert.equal(formatRate(parseRate('10/h')), '10/h');
    for (const bad of ['0/s', '1.5/s', '100', '100/d', '/s', '-1/s']) assert.throws(() => parseRate(bad), (e: unknown) => (e as { code?: string }).code === 'BAD_UNIT', bad);
  });

  it('parses durations with days', () => {
    assert.equal(parseLongDurationMs('30d'), 30 * 86_400_000);
    assert.equal(parseLongDurationMs('12h'), 12 * 3_600_000);
    assert.throws(() => parseLongDurationMs('30'), (e: unknown) => (e as { code?: string }).code === 'BAD_UNIT');
  });

  it('reads limits.rate and limits.burst from platform.yaml (burst defaults to the rate; never without a rate)', () => {
    const base = { kind: 'function', name: 'f' };
    assert.deepEqual(parseManifest({ ...base, limits: { rate: '100/s' } }).limits.rate, { requests: 100, periodMs: 1000 });
    assert.equal(parseManifest({ ...base, limits: { rate: '100/s' } }).limits.burst, 100);
    assert.equal(parseManifest({ ...base, limits: { rate: '6000/m', burst: 20 } }).limits.burst, 20);
    assert.equal(parseManifest(base).limits.rate, undefined);
    assert.throws(() => parseManifest({ ...base, limits: { burst: 5 } }), (e: unknown) => (e as { issues?: { path: string }[] }).issues?.[0]?.path === 'limits.burst');
    assert.throws(() => parseManifest({ ...base, limits: { rate: 'fast' } }), (e: unknown) => (e as { issues?: { path: string }[] }).issues?.[0]?.path === 'limits.rate');
  });

  it('merges a PATCH of the rate: null removes it with its burst, a new rate gets the default burst', () => {
    const current = { timeoutMs: 1000, memoryBytes: 1024, concurrency: 1, maxInstances: 1, minWarm: 0, maxQueue: 1, rate: { requests: 5, periodMs: 1000 }, burst: 9 };
    assert.deepEqual([mergedLimits(current, { rate: null })['rate'], mergedLimits(current, { rate: null })['burst']], [undefined, undefined]);
    assert.deepEqual([mergedLimits(current, { rate: '7/m' })['rate'], mergedLimits(current, { rate: '7/m' })['burst']], ['7/m', undefined]);
    assert.deepEqual([mergedLimits(current, { timeout: '2s' })['rate'], mergedLimits(current, { timeout: '2s' })['burst']], ['5/s', 9]);
  });
});

describe('gateway routes with keys', () => {
  it('routes /fn, /async and /hooks by key; anything else in that place is no function', () => {
    assert.deepEqual(route('/fn/shop.acme/orders/1'), { kind: 'invoke', name: 'shop.acme', path: '/orders/1' });
    assert.deepEqual(route('/async/shop.acme'), { kind: 'async', name: 'shop.acme', path: '/' });
    assert.deepEqual(route('/hooks/shop.acme/gh'), { kind: 'hook', name: 'shop.acme', triggerId: 'gh' });
    assert.deepEqual(route('/fn/shop/'), { kind: 'invoke', name: 'shop', path: '/' });
    for (const odd of ['/fn/shop.default/', '/fn/shop%2Eacme/', '/fn/shop.acme.x/', '/fn/SHOP/', '/fn/sh%00op/', '/fn/..%2F..%2Fetc/', '/hooks/shop.default/gh']) {
      assert.equal(route(odd).kind, 'badFunctionName', odd);
    }
  });
});

describe('the API scope', () => {
  const workspaces = new WorkspaceRegistry({ setWorkspaceInstances() {} });
  workspaces.replaceAll([{ name: 'default', quotas: NO_QUOTAS, createdAt: 0, updatedAt: 0 }, { name: 'acme', quotas: NO_QUOTAS, createdAt: 0, updatedAt: 0 }, { name: 'beta', quotas: NO_QUOTAS, createdAt: 0, updatedAt: 0 }]);
  const root: Principal = { tokenId: 'tok_r', label: 'admin', kind: 'admin', role: 'root', workspace: null, expiresAt: null };
  const member: Principal = { tokenId: 'tok_m', label: 'm', kind: 'workspace', role: 'owner', workspace: 'acme', expiresAt: null };
  const code = (fn: () => unknown): string | undefined => {
    try {
      fn();
      return undefined;
    } catch (err) {
      return (err as PlatformError).code;
    }
  };

  it('acts in the token\'s workspace, or for the root token in FP-Workspace (default: default)', () => {
    assert.equal(resolveScope(workspaces, root, [], '1.2.3.4').workspace, 'default');
    assert.equal(resolveScope(workspaces, root, [['fp-workspace', 'beta']], '').workspace, 'beta');
    const scope = resolveScope(workspaces, member, [], '');
    assert.equal(scope.workspace, 'acme');
    assert.equal(scope.key('shop'), 'shop.acme');
    assert.equal(scope.owns('shop.acme'), true);
    assert.equal(scope.owns('shop.beta'), false);
    assert.equal(scope.owns('shop'), false);
    assert.equal(resolveScope(workspaces, member, [['fp-workspace', 'acme']], '').workspace, 'acme');
  });

  it('answers WORKSPACE_NOT_FOUND for another workspace, one that does not exist, or a hostile value; INVALID_FIELD for two', () => {
    assert.equal(code(() => resolveScope(workspaces, member, [['fp-workspace', 'beta']], '')), 'WORKSPACE_NOT_FOUND');
    assert.equal(code(() => resolveScope(workspaces, member, [['fp-workspace', 'nope']], '')), 'WORKSPACE_NOT_FOUND');
    assert.equal(code(() => resolveScope(workspaces, root, [['fp-workspace', 'nope']], '')), 'WORKSPACE_NOT_FOUND');
    for (const hostile of ['acme\r\nx-admin: 1', '../default', 'ACME', 'a'.repeat(5000), '*', 'acme,beta']) {
      let thrown: PlatformError | null = null;
      try {
        resolveScope(workspaces, root, [['fp-workspace', hostile]], '');
      } catch (err) {
        thrown = err as PlatformError;
      }
      assert.equal(thrown?.code, 'WORKSPACE_NOT_FOUND', hostile);
      assert.ok(thrown!.message.length < 120, 'the value is cut short');
      assert.ok(!/[\r\n]/.test(thrown!.message), 'no raw line breaks in the message');
    }
    assert.equal(code(() => resolveScope(workspaces, root, [['fp-workspace', 'acme'], ['fp-workspace', 'beta']], '')), 'INVALID_FIELD');
  });
});

describe('the logBytes budget', () => {
  it('keeps lines while the workspace is under its quota, then records runs with a marker only', async () => {
    const workspaces = new WorkspaceRegistry({ setWorkspaceInstances() {} });
    workspaces.replaceAll([{ name: 'acme', quotas: { ...NO_QUOTAS, logBytes: 250 }, createdAt: 0, updatedAt: 0 }]);
    const budget = new LogBudget({ usage: async () => ({ functions: 0, codeBytes: 0, logBytes: 0 }) }, workspaces, () => {});
    const line = { stream: 'stdout', ts: 1, msg: 'x'.repeat(100) };
    const out = await budget.apply([run({ function: 'f.acme', logs: [line] }), run({ function: 'f.acme', logs: [line] }), run({ function: 'g', logs: [line, line, line] })]);
    assert.deepEqual(out[0]!.logs, [line]);
    assert.equal(out[1]!.logs.length, 1);
    assert.equal(out[1]!.logs[0]!.stream, 'platform');
    assert.match(out[1]!.logs[0]!.msg, /logBytes quota \(250 bytes\)/);
    assert.match(out[1]!.logs[0]!.msg, /the admin token raises it \(`workspaces set \S+ --log-bytes SIZE`\)/, 'names the command that raises it (new-user round 5)');
    assert.equal(out[2]!.logs.length, 3, 'a workspace without the quota keeps everything');
  });
});

describe('trigger changes for the audit log', () => {
  it('names triggers added and removed between two manifests; a changed schedule is both; none is null', () => {
    const cron = (schedule: string) => ({ type: 'cron', id: 'nightly', schedule, payload: { secret: 'never shown' } });
    const hook = { type: 'webhook', id: 'gh', style: 'github', sync: false };
    assert.deepEqual(triggerChanges(null, { triggers: [hook] }), { added: ['webhook:gh github'], removed: [] });
    assert.deepEqual(triggerChanges({ triggers: [hook, cron('0 3 * * *')] }, { triggers: [cron('0 4 * * *')] }), {
      added: ['cron:nightly 0 4 * * *'], removed: ['webhook:gh github', 'cron:nightly 0 3 * * *'],
    });
    assert.equal(triggerChanges({ triggers: [hook] }, { triggers: [hook] }), null);
    assert.equal(triggerChanges({}, 'not a manifest'), null);
    assert.ok(!JSON.stringify(triggerChanges(null, { triggers: [cron('* * * * *')] })).includes('never shown'), 'no payload');
  });
});
