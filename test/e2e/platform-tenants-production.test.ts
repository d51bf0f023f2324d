/**
 * Tenants in production mode (docs/adr/0011-tenants.md): two platform processes on one Redis and
 * one FerretDB, calls spread over both. The same scenarios as the embedded files, and the limits
 * that must hold across processes: the functions quota (slots in MongoDB), the token bucket and
 * the calls per minute (one Lua script in Redis) — 200 concurrent calls over two processes against
 * a limit of 50 let exactly 50 through; and a workspace's changes through the API (FP_API_WRITE_RATE, ADR 0103)
 * share one bucket across processes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Api } from './platform-harness.js';
import { clusterOptions, productionSkip, startNode, useServers, type Node } from './production-harness.js';
import type { Platform } from './tenants-harness.js';
import { functionsQuota, instancesQuota, invocationsPerMinute, rateLimit, startOfAMinute, storageQuotas } from './tenants-limits.js';
import { auditTrail, expiredAndRevoked, isolation, roles, workspaceDeletion } from './tenants-scenarios.js';

describe('tenants (production, two processes)', { skip: productionSkip }, () => {
  const servers = useServers();
  const nodes: Node[] = [];
  before(async () => {
    const options = { ...clusterOptions(servers), poolSize: 2 };
    nodes.push(await startNode(options));
    nodes.push(await startNode(options, nodes[0]!.api.token));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.close()));
  });
  const platform = (): Platform => ({ urls: nodes.map((n) => n.url), rootToken: nodes[0]!.api.token! });

  it('keeps two workspaces apart across processes (404s)', () => isolation(platform()));
  it('refuses every role above itself', () => roles(platform()));
  it('expired and revoked tokens, in every process', () => expiredAndRevoked(platform()));
  it('refuses to delete a workspace with functions; nothing changes', () => workspaceDeletion(platform()));
  it('records every change in the audit log, in order', () => auditTrail(platform()));
  it('stops concurrent creates on two processes exactly at the functions quota', () => functionsQuota(platform()));
  it('lets exactly the burst through 200 concurrent calls on two processes', () => rateLimit(platform()));
  it('lets exactly invocationsPerMinute calls through on two processes', () => invocationsPerMinute(platform(), () => startOfAMinute()));
  it('caps a workspace\'s instances in a process', () => instancesQuota(platform()));
  it('refuses code past codeBytes and keeps no log lines past logBytes', () => storageQuotas(platform()));
});

describe('API changes rated across processes (production, two processes; ADR 0103)', { skip: productionSkip }, () => {
  const servers = useServers();
  const nodes: Node[] = [];
  const RATE = 20;
  before(async () => {
    const options = { ...clusterOptions(servers), apiWriteRate: RATE };
    nodes.push(await startNode(options));
    nodes.push(await startNode(options, nodes[0]!.api.token));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.close()));
  });

  it('a workspace\'s changes over two processes: the bucket is one, in Redis (not one per process)', async () => {
    const root = nodes[0]!.api;
    const ws = `rate-${Math.random().toString(36).slice(2, 8)}`;
    assert.equal((await root.call('POST', '/workspaces', { name: ws })).status, 201);
    const made = await root.call('POST', '/tokens', { role: 'deployer', label: 'rate' }, { 'fp-workspace': ws });
    const tenants = nodes.map((n) => new Api(n.url, made.body.secret as string));
    assert.equal((await tenants[0]!.call('POST', '/functions', { name: 'f' })).status, 201);
    // 60 changes at once, half on each process: a bucket per process would let 2 × 20 through.
    const statuses = await Promise.all(Array.from({ length: 60 }, (_, i) => tenants[i % 2]!.call('PUT', `/functions/f/test-cases/c${i % 5}`, { mode: 'sync', request: { path: '/' } }).then((r) => r.status)));
    const stored = statuses.filter((s) => s === 200).length;
    // 19 places were left after the create; one comes back every 3 s (a bucket per process: 39).
    assert.ok(stored >= RATE - 5 && stored <= RATE + 5, `${stored} of 60 went through; the rate is ${RATE} a minute with the create (${statuses.join(',')})`);
    assert.equal(statuses.filter((s) => s === 429).length, 60 - stored);
  });
});
