/**
 * Replay protection for Stripe-style webhooks: an accepted (trigger, t, signature) is remembered
 * until its tolerance window has passed, and a second delivery of it is refused. After the window
 * the timestamp check refuses it anyway, so memory stays bounded by the window.
 */
import { DEFAULT_TOLERANCE_MS } from './webhook.js';
import type { ReplayGuard, TriggerRef, WebhookVerdict } from './types.js';

/** Remembers deliveries in this process (embedded mode, one gateway). */
export class MemoryReplayGuard implements ReplayGuard {
  readonly #seen = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}

  async firstSeen(ref: TriggerRef, key: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    for (const [k, until] of this.#seen) if (until <= now) this.#seen.delete(k);
    const full = `${ref.function}\u0000${ref.triggerId}\u0000${key}`;
    if (this.#seen.has(full)) return false;
    this.#seen.set(full, now + ttlMs);
    return true;
  }

  async close(): Promise<void> {}
}

/**
 * Turns an accepted Stripe-style verdict into WEBHOOK_REPLAYED when the same delivery was accepted
 * before. Other verdicts (refusals, GitHub style without a timestamp) pass through unchanged.
 * Throws TRIGGER_UNAVAILABLE when the guard cannot answer (the route answers 503, no run).
 */
export async function checkReplay(
  guard: ReplayGuard,
  ref: TriggerRef,
  verdict: WebhookVerdict,
  options: { nowMs?: number; toleranceMs?: number } = {},
): Promise<WebhookVerdict> {
  if (!verdict.ok || verdict.timestamp === undefined || verdict.signature === undefined) return verdict;
  const nowMs = options.nowMs ?? Date.now();
  const ttlMs = verdict.timestamp * 1000 + (options.toleranceMs ?? DEFAULT_TOLERANCE_MS) - nowMs + 1000;
  const first = await guard.firstSeen(ref, `${verdict.timestamp}:${verdict.signature}`, Math.max(ttlMs, 1000));
  return first ? verdict : { ok: false, code: 'WEBHOOK_REPLAYED' };
}
