/**
 * A token's `lastUsedAt` (controlplane/service/tokens.ts) notes the uses the platform let in: an
 * expired token's attempt, refused with TOKEN_EXPIRED, is none (newcomer round 8: `tokens` said
 * an expired token was "last used 3m ago", after its expiry).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TokenRecord, TokenStore } from '../../controlplane/store/index.js';
import { TokenIndex } from '../../controlplane/service/tokens.js';
import { testKeyring } from '../helpers/keyring.js';

const ring = testKeyring();

function record(id: string, secret: string, expiresAt: number | null): TokenRecord {
  return { id, kind: 'workspace', scope: 'w', label: id, role: 'viewer', expiresAt, lastUsedAt: null, createdBy: 'admin', keyId: ring.currentId, digest: ring.tokenDigest(secret), createdAt: 1, revokedAt: null };
}

describe('a token\'s last use', () => {
  it('is noted for a live token, not for an expired one that was refused', async () => {
    const touched: { id: string; at: number }[] = [];
    const store = { touch: async (uses: readonly { id: string; at: number }[]) => { touched.push(...uses); } } as unknown as TokenStore;
    const now = 1_000_000;
    const tokens = new TokenIndex(ring, { store, now: () => now });
    tokens.add(record('live', 'live-secret', null));
    tokens.add(record('old', 'old-secret', now - 1));
    const old = tokens.lookup('old-secret');
    assert.equal(old?.id, 'old', 'still found, so the caller can answer TOKEN_EXPIRED');
    assert.equal(tokens.expired(old!), true);
    assert.equal(tokens.lookup('live-secret')?.id, 'live');
    await tokens.flushUses();
    assert.deepEqual(touched, [{ id: 'live', at: now }]);
  });
});
