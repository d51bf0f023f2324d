/**
 * The live tokens of the platform, by the sha256 of their secret, held in memory so that checking
 * a token (every API call, every call of a `token` function) costs one hash and one map lookup,
 * never a store call. The store stays the source of truth: the index is loaded from it at start
 * and changed right after each store change that issues, rotates or revokes a token, in the same
 * turn, so a rotated secret stops working the moment the API answers.
 * With several processes sharing a production store, a change reaches the other processes through
 * the ConfigBus, and each reloads its index from the store (`replaceAll`, service/sync.ts).
 */
import { hashSecret, type TokenKind, type TokenRecord, type TokenStore } from '../store/index.js';

export interface TokenEntry {
  id: string;
  kind: TokenKind;
  /** The function name of an invoke token; null for admin. */
  scope: string | null;
  label: string;
}

export class TokenIndex {
  private readonly byHash = new Map<string, TokenEntry>();
  private readonly hashById = new Map<string, string>();

  static async load(tokens: TokenStore): Promise<TokenIndex> {
    const index = new TokenIndex();
    for (const record of await tokens.list()) index.add(record);
    return index;
  }

  /** Replaces every entry with the live ones of `records` (a resync from the store). */
  replaceAll(records: readonly TokenRecord[]): void {
    this.byHash.clear();
    this.hashById.clear();
    for (const record of records) this.add(record);
  }

  /** The live token with this secret, if any. */
  lookup(secret: string): TokenEntry | undefined {
    return this.byHash.get(hashSecret(secret));
  }

  add(record: TokenRecord): void {
    if (record.revokedAt !== null) return;
    this.byHash.set(record.hash, { id: record.id, kind: record.kind, scope: record.scope, label: record.label });
    this.hashById.set(record.id, record.hash);
  }

  remove(id: string): void {
    const hash = this.hashById.get(id);
    if (hash === undefined) return;
    this.hashById.delete(id);
    this.byHash.delete(hash);
  }

  /** Forgets every invoke token of a function (it was deleted). */
  removeScope(scope: string): void {
    for (const [hash, entry] of this.byHash) {
      if (entry.kind === 'invoke' && entry.scope === scope) {
        this.byHash.delete(hash);
        this.hashById.delete(entry.id);
      }
    }
  }

  /** Live tokens of one kind (and scope). */
  list(kind: TokenKind, scope: string | null = null): TokenEntry[] {
    return [...this.byHash.values()].filter((e) => e.kind === kind && (kind === 'admin' || e.scope === scope));
  }
}
