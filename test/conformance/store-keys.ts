/**
 * Conformance: secrets at rest (docs/secrets.md). Secret env values and webhook secrets are sealed
 * (never in the persisted bytes in clear), values under a key the ring lacks fail with a stable
 * code naming the key, a rotation re-seals everything, and token digests are re-keyed on use.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { generateKey, Keyring } from '../../controlplane/secrets/index.js';
import type { Store } from '../../controlplane/store/index.js';
import { settings, uniqueName, withStore, type ConformanceHooks, type OpenStore } from './fixtures.js';

const clear = (label: string): string => `${label}-${randomBytes(9).toString('hex')}`;

/** Key id → {fields, tokens}, for comparing usage() answers. */
async function usageOf(store: Store): Promise<Record<string, { fields: number; tokens: number }>> {
  const out: Record<string, { fields: number; tokens: number }> = {};
  for (const u of await store.keys.usage()) out[String(u.keyId)] = { fields: u.fields, tokens: u.tokens };
  return out;
}

export function secretsAtRestTests(open: OpenStore, hooks: ConformanceHooks): void {
  describe('secrets at rest', () => {
    it('seals secret env values and webhook secrets: their clear values are nowhere in the persisted bytes', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        const password = clear('hunter2');
        const apiKey = clear('sk_live');
        const [hookOld, hookNew] = [clear('whsec_old'), clear('whsec_new')];
        const created = await store.functions.create(name, settings({ env: { GREETING: 'hi', SHARED: 'plain' }, secrets: { DB_PASSWORD: password, SHARED: apiKey } }));
        assert.deepEqual(created.secrets, { DB_PASSWORD: password, SHARED: apiKey });
        const withHook = await store.functions.update(name, created.revision, { hookSecrets: { github: { current: hookOld } } });
        const rotated = await store.functions.update(name, withHook.revision, { hookSecrets: { github: { current: hookNew, previous: hookOld, previousValidUntil: 1_900_000_000_000 } } });
        assert.deepEqual(rotated.hookSecrets, { github: { current: hookNew, previous: hookOld, previousValidUntil: 1_900_000_000_000 } });
        assert.deepEqual(rotated.secrets, { DB_PASSWORD: password, SHARED: apiKey }, 'secrets survive a change of other settings');
        const got = await store.functions.get(name);
        assert.deepEqual([got?.secrets, got?.env, got?.hookSecrets], [{ DB_PASSWORD: password, SHARED: apiKey }, { GREETING: 'hi', SHARED: 'plain' }, rotated.hookSecrets]);
        assert.deepEqual((await store.functions.list()).find((f) => f.name === name)?.secrets, { DB_PASSWORD: password, SHARED: apiKey });
        const raw = await hooks.rawBytes(store);
        for (const value of [password, apiKey, hookOld, hookNew]) assert.equal(raw.includes(value), false, 'a clear secret value was found in storage');
        assert.equal(raw.includes('fpenc:v1:'), true, 'the dump must contain the envelopes (else it reads nothing)');
        assert.equal(raw.includes('hi'), true);
      }));

    it('replaces the secrets map on update, and a rotation without grace keeps no previous secret', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        const fn = await store.functions.create(name, settings({ secrets: { A: 'a-value', B: 'b-value' } }));
        const one = await store.functions.update(name, fn.revision, { secrets: { B: 'b-changed' }, hookSecrets: { gh: { current: 'whsec_first' } } });
        assert.deepEqual(one.secrets, { B: 'b-changed' });
        const two = await store.functions.update(name, one.revision, { hookSecrets: { gh: { current: 'whsec_second' } } });
        assert.deepEqual(two.hookSecrets, { gh: { current: 'whsec_second' } });
        assert.deepEqual((await store.functions.get(name))?.hookSecrets, { gh: { current: 'whsec_second' } });
        const deployed = await store.deploys.apply({ function: name, action: 'pause', actor: 't' });
        assert.deepEqual([deployed.function.secrets, deployed.function.hookSecrets], [{ B: 'b-changed' }, { gh: { current: 'whsec_second' } }]);
      }));

    it('fails with SECRETS_KEY_UNKNOWN, naming the key id, for values under a key the ring does not have', async () => {
      const store = await open();
      const name = uniqueName();
      await store.functions.create(name, settings({ secrets: { TOKEN: 'value-under-a' } }));
      await store.close();
      const other = await hooks.reopen(store, new Keyring([generateKey()]));
      try {
        await assert.rejects(other.functions.get(name), (err: unknown) => {
          const e = err as { code?: string; details?: { keyId?: string }; message?: string };
          assert.equal(e.code, 'SECRETS_KEY_UNKNOWN');
          assert.equal(e.details?.keyId, hooks.keyring.currentId);
          assert.equal(String(e.message).includes('value-under-a'), false, 'the message must not carry the value');
          return true;
        });
        assert.deepEqual((await usageOf(other))[hooks.keyring.currentId], { fields: 1, tokens: 0 });
      } finally {
        await other.close();
      }
    });

    it('rotates: re-seals every field under the new key; token digests move on their next use; the old key is then not needed', async () => {
      const first = await open();
      const name = uniqueName();
      const created = await first.functions.create(name, settings({ secrets: { DB_PASSWORD: 'pw-1', API_KEY: 'key-1' } }));
      await first.functions.update(name, created.revision, { hookSecrets: { gh: { current: 'whsec_cur', previous: 'whsec_prev', previousValidUntil: 2_000_000_000_000 } } });
      const admin = await first.tokens.issue({ kind: 'admin', label: 'admin' });
      const invoke = await first.tokens.issue({ kind: 'invoke', scope: name });
      await first.close();
      const old = hooks.keyring.currentId;
      const newKey = generateKey();
      const ring = new Keyring([newKey, hooks.masterKey]);
      const second = await hooks.reopen(first, ring);
      let third: Store | null = null;
      try {
        assert.deepEqual((await second.functions.get(name))?.secrets, { DB_PASSWORD: 'pw-1', API_KEY: 'key-1' }, 'old-key values still open');
        assert.deepEqual((await usageOf(second))[old], { fields: 4, tokens: 2 });
        assert.equal(await second.keys.reencrypt(), 4);
        assert.equal(await second.keys.reencrypt(), 0, 'a second run finds nothing to do');
        const after = await usageOf(second);
        assert.deepEqual(after[ring.currentId], { fields: 4, tokens: 0 });
        assert.deepEqual(after[old], { fields: 0, tokens: 2 });
        assert.equal((await second.tokens.verify(admin.secret, 'admin'))?.id, admin.record.id, 'an old-key token still verifies');
        assert.equal(await second.tokens.rekey(admin.record.id, 'fpa_not-the-secret'), null);
        const rekeyed = await second.tokens.rekey(admin.record.id, admin.secret);
        assert.deepEqual([rekeyed?.keyId, rekeyed?.digest], [ring.currentId, ring.tokenDigest(admin.secret)]);
        assert.equal((await second.tokens.rekey(admin.record.id, admin.secret))?.keyId, ring.currentId, 'already current: unchanged');
        await second.tokens.rekey(invoke.record.id, invoke.secret);
        assert.deepEqual(await usageOf(second), { [ring.currentId]: { fields: 4, tokens: 2 } });
        await second.close();
        third = await hooks.reopen(second, new Keyring([newKey]));
        const fn = await third.functions.get(name);
        assert.deepEqual([fn?.secrets, fn?.hookSecrets?.['gh']?.previous], [{ DB_PASSWORD: 'pw-1', API_KEY: 'key-1' }, 'whsec_prev']);
        assert.equal((await third.tokens.verify(invoke.secret, 'invoke', name))?.id, invoke.record.id, 'works with the new key alone');
      } finally {
        await second.close();
        await third?.close();
      }
    });
  });
}
