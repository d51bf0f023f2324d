/**
 * Webhook signing secrets a function keeps are bounded (red team of 2026-12-04, second round): a
 * manifest declares at most 32 triggers, and the secrets of earlier versions' triggers are dropped,
 * oldest first, past 64. Before, one function held 76 000 (1 900 triggers a manifest, 40 versions)
 * and every anonymous delivery read and decrypted them all: 0.6 s of the event loop each.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ensureHookSecrets } from '../../controlplane/async/index.js';
import { openSqliteStore } from '../../controlplane/store/sqlite/index.js';
import { MAX_TRIGGERS, parseManifest } from '../../protocol/index.js';
import { testKeyring } from '../helpers/keyring.js';

const webhooks = (prefix: string, n: number): unknown => ({ kind: 'function', name: 'hooked', triggers: Array.from({ length: n }, (_, i) => ({ type: 'webhook', id: `${prefix}${i}` })) });

describe('webhook secrets kept per function', () => {
  it('a manifest takes at most 32 triggers', () => {
    assert.equal(parseManifest(webhooks('a', MAX_TRIGGERS)).triggers.length, 32);
    assert.throws(() => parseManifest(webhooks('a', MAX_TRIGGERS + 1)), /at most 32 triggers per function/);
  });

  it('keeps the deployed version\'s secrets and at most 64 in all, the oldest of earlier versions dropped first', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fp-hooks-'));
    const store = await openSqliteStore({ keyring: testKeyring(), stateDir: dir });
    try {
      await store.functions.create('hooked', { preset: 'http', invocation: 'both', limits: parseManifest({ kind: 'function', name: 'hooked' }).limits, env: {}, auth: 'public' });
      const first = await ensureHookSecrets(store, 'hooked', webhooks('a', 32));
      const keptA = first!.hookSecrets!['a0']!.current;
      await ensureHookSecrets(store, 'hooked', webhooks('b', 32));
      // A rollback to the first version's triggers gets the same secrets back (still kept).
      assert.equal((await store.functions.get('hooked'))!.hookSecrets!['a0']!.current, keptA);
      const third = await ensureHookSecrets(store, 'hooked', webhooks('c', 32));
      const ids = Object.keys(third!.hookSecrets!);
      assert.equal(ids.length, 64);
      for (let i = 0; i < 32; i++) assert.ok(ids.includes(`c${i}`) && ids.includes(`b${i}`) && !ids.includes(`a${i}`), ids.join(' '));
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
