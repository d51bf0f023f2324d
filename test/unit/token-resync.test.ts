/**
 * A token resync (controlplane/service/sync.ts `refreshTokens`: the config bus's first connection,
 * a reconnect, another process's token change) replaces the token index with what the store
 * lists. A token this process issued while that list was being read was dropped with it: on a
 * production cluster's first start, the resync of the bus's first connection read the store as
 * the admin token was issued, and the token the process had just handed out was refused
 * ADMIN_TOKEN_INVALID (e2e platform-production, under load). The interleaving, made here at will.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TokenRecord } from '../../controlplane/store/index.js';
import type { ServiceContext } from '../../controlplane/service/context.js';
import { refreshTokens } from '../../controlplane/service/sync.js';
import { TokenIndex } from '../../controlplane/service/tokens.js';
import { testKeyring } from '../helpers/keyring.js';

const ring = testKeyring();

function record(id: string, secret: string): TokenRecord {
  return { id, kind: 'admin', scope: null, label: 'admin', role: null, expiresAt: null, lastUsedAt: null, createdBy: '', keyId: ring.currentId, digest: ring.tokenDigest(secret), createdAt: 1, revokedAt: null };
}

/** A store whose lists answer when the test says, with what the store holds at that moment or before. */
function slowStore(): { ctx: ServiceContext; rows: TokenRecord[]; answer: (rows: TokenRecord[]) => void; reads: () => number } {
  const rows: TokenRecord[] = [];
  let pending: ((rows: TokenRecord[]) => void)[] = [];
  let reads = 0;
  const list = (): Promise<TokenRecord[]> => {
    reads++;
    return new Promise((resolve) => pending.push(resolve));
  };
  const tokens = new TokenIndex(ring);
  const ctx = { tokens, store: { tokens: { list } } } as unknown as ServiceContext;
  const answer = (snapshot: TokenRecord[]): void => {
    const waiting = pending;
    pending = [];
    for (const resolve of waiting) resolve([...snapshot]);
  };
  return { ctx, rows, answer, reads: () => reads };
}

async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('a token resync and a token issued here while it reads the store', () => {
  it('keeps the token: the store is read again when the index changed during the read', async () => {
    const s = slowStore();
    const refreshing = refreshTokens(s.ctx);
    await turns();
    // Issued meanwhile: written to the store after the resync's read began, then added here.
    const admin = record('t-admin', 'the-secret');
    s.rows.push(admin);
    s.ctx.tokens.add(admin);
    s.answer([]); // the read that began before the write
    await turns();
    s.answer(s.rows); // the read again
    await refreshing;
    assert.equal(s.reads(), 2);
    assert.equal(s.ctx.tokens.lookup('the-secret')?.id, 't-admin', 'the token handed out is still accepted');
  });

  it('a read during which nothing changed here is applied as it is (a token revoked elsewhere goes)', async () => {
    const s = slowStore();
    s.ctx.tokens.add(record('t-old', 'old'));
    const refreshing = refreshTokens(s.ctx);
    await turns();
    s.answer([]);
    await refreshing;
    assert.equal(s.reads(), 1);
    assert.equal(s.ctx.tokens.lookup('old'), undefined);
  });
});
