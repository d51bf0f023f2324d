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
import type { Role } from '../../protocol/index.js';
import type { Keyring } from '../secrets/index.js';
import type { TokenKind, TokenRecord, TokenStore } from '../store/index.js';

export interface TokenEntry {
  id: string;
  kind: TokenKind;
  /** The function key of an invoke token, the workspace of a workspace token; null for admin. */
  scope: string | null;
  label: string;
  /** A workspace token's role; null otherwise. */
  role: Role | null;
  /** Unix ms after which it answers TOKEN_EXPIRED; null: never. */
  expiresAt: number | null;
  /** The key its digest is made with. */
  keyId: string;
}

/** How often a token's `lastUsedAt` is written at most (per token and process). */
export const LAST_USED_EVERY_MS = 60_000;

export interface TokenIndexOptions {
  /** Where re-keyed digests are written (none: tokens under an old key are never re-keyed). */
  store?: TokenStore;
  /** After a token was re-keyed in the store (production: tell the other processes). */
  rekeyed?: () => void;
  log?: (line: string) => void;
  /** The clock of `lastUsedAt` (default Date.now). */
  now?: () => number;
}

export class TokenIndex {
  /** `<keyId>:<digest>` → entry. */
  private readonly byDigest = new Map<string, TokenEntry>();
  private readonly slotById = new Map<string, string>();
  /** Key ids of the live entries, with how many each has (the HMACs a lookup tries). */
  private readonly keyIds = new Map<string, number>();
  private readonly rekeying = new Set<string>();
  /** When each token's last use was last handed to the store (at most once a minute each). */
  private readonly usedWritten = new Map<string, number>();
  /** Uses waiting to be written, off the callers' path; `writing` is the write in progress. */
  private pendingUses = new Map<string, number>();
  private writing: Promise<void> | null = null;

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

  /**
   * The live token with this secret, if any. The secret is never compared: its keyed digest (an
   * HMAC under a key no caller has) is looked up, so timing tells nothing about stored tokens.
   * A use is noted for `lastUsedAt` (written later, at most once a minute per token); an expired
   * token's attempt is refused (TOKEN_EXPIRED) and is no use: its `tokens` line said "last used
   * 3m ago" after its expiry, which read as if it had been let in.
   */
  lookup(secret: string): TokenEntry | undefined {
    for (const keyId of this.keyIds.keys()) {
      if (!this.ring.has(keyId)) continue;
      const entry = this.byDigest.get(`${keyId}:${this.ring.tokenDigest(secret, keyId)}`);
      if (entry === undefined) continue;
      if (keyId !== this.ring.currentId) this.rekey(entry, secret);
      if (!this.expired(entry)) this.noteUse(entry.id);
      return entry;
    }
    return undefined;
  }

  /** True when the entry's expiry has passed. */
  expired(entry: TokenEntry, now: number = (this.options.now ?? Date.now)()): boolean {
    return entry.expiresAt !== null && entry.expiresAt <= now;
  }

  /** Writes the uses noted so far (the tokens list calls it first, so it shows them). Never rejects. */
  async flushUses(): Promise<void> {
    while (this.writing !== null) await this.writing;
    if (this.pendingUses.size > 0) await this.writeUses();
  }

  private noteUse(id: string): void {
    const now = (this.options.now ?? Date.now)();
    const last = this.usedWritten.get(id);
    if (last !== undefined && now - last < LAST_USED_EVERY_MS) return;
    this.usedWritten.set(id, now);
    this.pendingUses.set(id, now);
    // Off the caller's path: the write starts on a later turn, one at a time.
    if (this.writing === null && this.options.store !== undefined) setImmediate(() => void this.writeUses());
  }

  private writeUses(): Promise<void> {
    const store = this.options.store;
    if (store === undefined || this.writing !== null || this.pendingUses.size === 0) return this.writing ?? Promise.resolve();
    const uses = [...this.pendingUses].map(([id, at]) => ({ id, at }));
    this.pendingUses = new Map();
    this.writing = store
      .touch(uses)
      .catch((err: unknown) => this.options.log?.(`controlplane: could not record the last use of ${uses.length} token(s): ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        this.writing = null;
        if (this.pendingUses.size > 0) setImmediate(() => void this.writeUses());
      });
    return this.writing;
  }

  /** Counts the changes made to the index (adds, removes): a resync compares it around its read. */
  get changes(): number {
    return this.changeCount;
  }

  private changeCount = 0;

  add(record: TokenRecord): void {
    if (record.revokedAt !== null || record.keyId === null) return;
    this.changeCount++;
    this.remove(record.id);
    const slot = `${record.keyId}:${record.digest}`;
    this.byDigest.set(slot, { id: record.id, kind: record.kind, scope: record.scope, label: record.label, role: record.role, expiresAt: record.expiresAt, keyId: record.keyId });
    this.slotById.set(record.id, slot);
    this.keyIds.set(record.keyId, (this.keyIds.get(record.keyId) ?? 0) + 1);
  }

  remove(id: string): void {
    const slot = this.slotById.get(id);
    if (slot === undefined) return;
    this.changeCount++;
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

  /** The ids of the live tokens held. */
  ids(): string[] {
    return [...this.slotById.keys()];
  }

  /** The live entry with this id, if any. */
  byId(id: string): TokenEntry | undefined {
    const slot = this.slotById.get(id);
    return slot === undefined ? undefined : this.byDigest.get(slot);
  }

  /** Forgets every workspace token of a workspace (it was deleted). */
  removeWorkspace(workspace: string): void {
    for (const entry of [...this.byDigest.values()]) {
      if (entry.kind === 'workspace' && entry.scope === workspace) this.remove(entry.id);
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
