/**
 * What the signature check refused, per webhook trigger, for its owner (`GET
 * /functions/{name}/triggers`, `fastapi-platform triggers <name>`): how many deliveries this process
 * refused since it started and the last one's time, code and detail. Before, a refused delivery
 * left no trace the owner could see (no run is made for it, by design): only the sender's side
 * showed the 401, and the operator's `fp_webhook_verdicts_total`.
 *
 * In memory, per process (ADR 0208): a refusal is an unauthenticated request, so it writes nothing
 * to the store; the map holds only triggers the active version declares (the hooks route finds the
 * trigger first) and is bounded besides, the least recently refused dropped first.
 */
import type { WebhookFailureCode } from './errors.js';
import type { WebhookRefusalDetail } from './types.js';

export interface LastRefusal {
  at: number;
  code: WebhookFailureCode;
  detail?: WebhookRefusalDetail;
}

export interface RefusalTally {
  count: number;
  last: LastRefusal;
}

/** Triggers tallied at once; past it the least recently refused is forgotten. */
export const MAX_TALLIED_TRIGGERS = 4096;

export class HookRefusals {
  private readonly tallies = new Map<string, RefusalTally>();

  constructor(private readonly max = MAX_TALLIED_TRIGGERS) {}

  note(fn: string, triggerId: string, refusal: LastRefusal): void {
    const key = keyOf(fn, triggerId);
    const had = this.tallies.get(key);
    this.tallies.delete(key); // to the end: the map's order is that of the last refusal
    this.tallies.set(key, { count: (had?.count ?? 0) + 1, last: refusal });
    if (this.tallies.size > this.max) this.tallies.delete(this.tallies.keys().next().value!);
  }

  of(fn: string, triggerId: string): RefusalTally | undefined {
    return this.tallies.get(keyOf(fn, triggerId));
  }

  /** A deleted function's tallies go with it (a new function of the same name starts clean). */
  forget(fn: string): void {
    const prefix = keyOf(fn, '');
    for (const key of [...this.tallies.keys()]) if (key.startsWith(prefix)) this.tallies.delete(key);
  }
}

/** Function keys and trigger ids hold no NUL. */
const keyOf = (fn: string, triggerId: string): string => `${fn}\0${triggerId}`;
