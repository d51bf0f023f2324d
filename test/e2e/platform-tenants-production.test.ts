/**
 * Tenants in production mode (docs/adr/0011-tenants.md): two platform processes on one Redis and
 * one FerretDB, calls spread over both. The same scenarios as the embedded files, and the limits
 * that must hold across processes: the functions quota (slots in MongoDB), the token bucket and
 * the calls per minute (one Lua script in Redis) — 200 concurrent calls over two processes against
 * a limit of 50 let exactly 50 through.
 */
import { after, before, describe, it } from 'node:test';
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
