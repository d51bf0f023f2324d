/**
 * Per-binding credentials for the data proxy (ADR 0021, "Credentials"). Minted by the platform,
 * handed to a runtime at specialize (the URI in its env), never stored in the manifest, an API
 * answer or a log; kept here as digests only. Rotation issues a new one and lets the old one live
 * for a grace period; revocation (binding or function removed) ends them at once. A proxy
 * connection re-checks its credential on every command, so a revoked one stops mid-run.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Grant {
  /** The function's key (ADR 0011: `<name>` or `<name>.<workspace>`). */
  functionKey: string;
  workspace: string;
  /** The database's name in its workspace, as the manifest says it. */
  database: string;
  /** Its physical name on the backend (databaseName()). */
  physical: string;
}

export interface Credential {
  user: string;
  password: string;
}

interface Entry {
  grant: Grant;
  digest: Buffer;
  /** Epoch ms after which it is refused; null: no end. */
  expiresAtMs: number | null;
}

const digest = (password: string): Buffer => createHash('sha256').update(password).digest();

export class DataCredentials {
  private readonly byUser = new Map<string, Entry>();
  /** The current credential per binding key (`functionKey\0physical`). */
  private readonly current = new Map<string, Credential>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The binding's live credential, minted on first use. */
  credentialFor(grant: Grant): Credential {
    const key = `${grant.functionKey}\0${grant.physical}`;
    const found = this.current.get(key);
    if (found !== undefined && this.byUser.has(found.user)) return found;
    const credential = { user: `fp-${randomBytes(9).toString('base64url')}`, password: randomBytes(24).toString('base64url') };
    this.byUser.set(credential.user, { grant, digest: digest(credential.password), expiresAtMs: null });
    this.current.set(key, credential);
    return credential;
  }

  /** The grant of a valid user and password, or null (unknown, wrong, expired or revoked). */
  check(user: string, password: string): Grant | null {
    const entry = this.byUser.get(user);
    if (entry === undefined) return null;
    if (!timingSafeEqual(entry.digest, digest(password))) return null;
    return this.live(user) ? entry.grant : null;
  }

  /** Still valid (not revoked, not past its grace)? Asked on every proxied command. */
  live(user: string): boolean {
    const entry = this.byUser.get(user);
    if (entry === undefined) return false;
    if (entry.expiresAtMs !== null && this.now() >= entry.expiresAtMs) {
      this.byUser.delete(user);
      return false;
    }
    return true;
  }

  /**
   * Rotates every credential of a function: the next credentialFor() mints new ones; the old
   * ones keep working for `graceMs`. Returns how many were rotated.
   */
  rotate(functionKey: string, graceMs: number): number {
    // Only the last rotated credential keeps its grace (as a webhook's previous secret): the ones
    // rotated before it end now, and an expired one goes even if nothing asks for it again. Before
    // (red team round 7), each rotation followed by a new instance left an entry here for good:
    // nothing removed one no connection asked about once its grace was over.
    for (const [user, entry] of this.byUser) {
      if (entry.grant.functionKey === functionKey && entry.expiresAtMs !== null) this.byUser.delete(user);
    }
    let n = 0;
    for (const [key, credential] of this.current) {
      if (!key.startsWith(`${functionKey}\0`)) continue;
      const entry = this.byUser.get(credential.user);
      if (entry !== undefined) entry.expiresAtMs = this.now() + graceMs;
      this.current.delete(key);
      n += 1;
    }
    return n;
  }

  /** Credentials held (live, or within their grace). */
  get size(): number {
    return this.byUser.size;
  }

  /** Ends every credential of a function at once (binding or function removed). */
  revoke(functionKey: string): void {
    for (const [user, entry] of this.byUser) if (entry.grant.functionKey === functionKey) this.byUser.delete(user);
    for (const key of this.current.keys()) if (key.startsWith(`${functionKey}\0`)) this.current.delete(key);
  }
}
