/**
 * The live tokens of the platform, by their keyed digest, held in memory so that checking a token
 * (every API call, every call of a `token` function) costs a hash, an HMAC and a map lookup,
 * never a store call. The store stays the source of truth: the index is loaded from it at start
 * and changed right after each store change that issues, rotates or revokes a token, in the same
 * turn, so a rotated secret stops working the moment the API answers.
 * With several processes sharing a production store, a change reaches the other processes through
 * the ConfigBus, and each reloads its index from the store (`replaceAll`, service/sync.ts).
 *
 * Digests are made with the keyring's token key (docs/adr/0009-secrets-at-rest.md). A token whose
 * digest is under an older key still works while that key is in the ring, and is re-keyed under
 * the current key on its first successful use (`rekey`, off the caller's path). A row without a
 * key id, or under a key not in the ring, matches nothing.
 */
import type { Keyring } from '../secrets/index.js';
import type { TokenKind, TokenRecord, TokenStore } from '../store/index.js';

export interface TokenEntry {
  id: string;
  kind: TokenKind;
  /** The function name of an invoke token; null for admin. */
  scope: string | null;
  label: string;
  /** The key its digest is made with. */
  keyId: string;
}

export interface TokenIndexOptions {
  /** Where re-keyed digests are written (none: tokens under an old key are never re-keyed). */
  store?: TokenStore;
  /** After a token was re-keyed in the store (production: tell the other processes). */
  rekeyed?: () => void;
  log?: (line: string) => void;
}

export class TokenIndex {
  /** `<keyId>:<digest>` → entry. */
  private readonly byDigest = new Map<string, TokenEntry>();
  private readonly slotById = new Map<string, string>();
  /** Key ids of the live entries, with how many each has (the HMACs a lookup tries). */
  private readonly keyIds = new Map<string, number>();
  private readonly rekeying = new Set<string>();

  constructor(
    private readonly ring: Keyring,
    private readonly options: TokenIndexOptions = {},
  ) {}

  static async load(tokens: TokenStore, ring: Keyring, options: Omit<TokenIndexOptions, 'store'> = {}): Promise<TokenIndex> {
    const index = new TokenIndex(ring, { ...options, store: tokens });
    index.replaceAll(await tokens.list());
    return index;
  }

  /** Replaces every entry with the live ones of `records` (a resync from the store). */
  replaceAll(records: readonly TokenRecord[]): void {
    this.byDigest.clear();
    this.slotById.clear();
    this.keyIds.clear();
    const unusable = new Map<string, number>();
    for (const record of records) {
      if (record.revokedAt !== null) continue;
      const why = record.keyId === null ? 'no key id' : this.ring.has(record.keyId) ? null : `key ${record.keyId}`;
      if (why !== null) unusable.set(why, (unusable.get(why) ?? 0) + 1);
      this.add(record);
    }
    for (const [why, count] of unusable) {
      this.options.log?.(`controlplane: ${count} live token${count === 1 ? '' : 's'} with ${why} (not in this platform's keyring) cannot be used; see docs/secrets.md`);
    }
  }

  /** The live token with this secret, if any. */
  lookup(secret: string): TokenEntry | undefined {
    for (const keyId of this.keyIds.keys()) {
      if (!this.ring.has(keyId)) continue;
      const entry = this.byDigest.get(`${keyId}:${this.ring.tokenDigest(secret, keyId)}`);
      if (entry === undefined) continue;
      if (keyId !== this.ring.currentId) this.rekey(entry, secret);
      return entry;
    }
    return undefined;
  }

  add(record: TokenRecord): void {
    if (record.revokedAt !== null || record.keyId === null) return;
    this.remove(record.id);
    const slot = `${record.keyId}:${record.digest}`;
    this.byDigest.set(slot, { id: record.id, kind: record.kind, scope: record.scope, label: record.label, keyId: record.keyId });
    this.slotById.set(record.id, slot);
    this.keyIds.set(record.keyId, (this.keyIds.get(record.keyId) ?? 0) + 1);
  }

  remove(id: string): void {
    const slot = this.slotById.get(id);
    if (slot === undefined) return;
    const entry = this.byDigest.get(slot);
    this.slotById.delete(id);
    this.byDigest.delete(slot);
    if (entry !== undefined) {
      const left = (this.keyIds.get(entry.keyId) ?? 1) - 1;
      if (left > 0) this.keyIds.set(entry.keyId, left);
      else this.keyIds.delete(entry.keyId);
    }
  }

  /** Forgets every invoke token of a function (it was deleted). */
  removeScope(scope: string): void {
    for (const entry of [...this.byDigest.values()]) {
      if (entry.kind === 'invoke' && entry.scope === scope) this.remove(entry.id);
    }
  }

  /** Live tokens of one kind (and scope). */
  list(kind: TokenKind, scope: string | null = null): TokenEntry[] {
    return [...this.byDigest.values()].filter((e) => e.kind === kind && (kind === 'admin' || e.scope === scope));
  }

  /** Writes the token's digest under the current key, once at a time per token; the caller does not wait. */
  private rekey(entry: TokenEntry, secret: string): void {
    const store = this.options.store;
    if (store === undefined || this.rekeying.has(entry.id)) return;
    this.rekeying.add(entry.id);
    store
      .rekey(entry.id, secret)
      .then((record) => {
        if (record === null || this.slotById.get(entry.id) === undefined) return;
        this.add(record);
        this.options.rekeyed?.();
      })
      .catch((err: unknown) => this.options.log?.(`controlplane: could not re-key token ${entry.id} (it keeps working under ${entry.keyId}): ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => this.rekeying.delete(entry.id));
  }
}
