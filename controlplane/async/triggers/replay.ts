/**
 * Replay protection for Stripe-style webhooks: an accepted (trigger, t, digest of the signed bytes) is remembered
 * until its tolerance window has passed, and a second delivery of it is refused. After the window
 * the timestamp check refuses it anyway, so what is kept stays bounded by the window. Embedded: in
 * SQLite (here); production: in Redis (redis.ts).
 */
import { openIntactSqlite } from '../../store/index.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TriggerError } from './errors.js';
import { TICK_LOCK_DB_FILE } from './locks.js';
import { DEFAULT_TOLERANCE_MS } from './webhook.js';
import type { ReplayGuard, TriggerRef, WebhookVerdict } from './types.js';

/**
 * Remembers deliveries in `<stateDir>/cron-ticks.db` (the triggers' file, beside the tick locks):
 * embedded mode, across restarts. In memory, a restart forgot every accepted delivery, and one
 * captured within the tolerance window ran again after any restart or crash (reliability round of
 * 2026-12-05: a payment webhook handled twice). Rows live until their window has passed.
 */
export function openSqliteReplayGuard(options: { stateDir: string; now?: () => number }): ReplayGuard {
  mkdirSync(options.stateDir, { recursive: true });
  const db = openIntactSqlite(join(options.stateDir, TICK_LOCK_DB_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 2000');
  db.exec(`CREATE TABLE IF NOT EXISTS deliveries (
    function TEXT NOT NULL, trigger_id TEXT NOT NULL, key TEXT NOT NULL, until_ms INTEGER NOT NULL,
    PRIMARY KEY (function, trigger_id, key)) WITHOUT ROWID`);
  const forget = db.prepare('DELETE FROM deliveries WHERE function = ? AND trigger_id = ? AND key = ? AND until_ms <= ?');
  const insert = db.prepare('INSERT OR IGNORE INTO deliveries (function, trigger_id, key, until_ms) VALUES (?, ?, ?, ?)');
  const prune = db.prepare('DELETE FROM deliveries WHERE until_ms <= ?');
  const drop = db.prepare('DELETE FROM deliveries WHERE function = ? AND trigger_id = ? AND key = ?');
  const now = options.now ?? Date.now;
  let seen = 0;
  return {
    async firstSeen(ref, key, ttlMs) {
      if (!db.open) throw new TriggerError('TRIGGER_UNAVAILABLE', 'the replay guard is closed');
      try {
        const at = now();
        if (++seen % 100 === 0) prune.run(at);
        forget.run(ref.function, ref.triggerId, key, at);
        return insert.run(ref.function, ref.triggerId, key, at + ttlMs).changes === 1;
      } catch (err) {
        throw new TriggerError('TRIGGER_UNAVAILABLE', `replay guard: ${(err as Error).message}`);
      }
    },
    async forget(ref, key) {
      if (!db.open) throw new TriggerError('TRIGGER_UNAVAILABLE', 'the replay guard is closed');
      try {
        drop.run(ref.function, ref.triggerId, key);
      } catch (err) {
        throw new TriggerError('TRIGGER_UNAVAILABLE', `replay guard: ${(err as Error).message}`);
      }
    },
    async close() {
      if (db.open) db.close();
    },
  };
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
  if (!verdict.ok || verdict.timestamp === undefined || verdict.delivery === undefined) return verdict;
  const nowMs = options.nowMs ?? Date.now();
  const ttlMs = verdict.timestamp * 1000 + (options.toleranceMs ?? DEFAULT_TOLERANCE_MS) - nowMs + 1000;
  const first = await guard.firstSeen(ref, replayKey(verdict)!, Math.max(ttlMs, 1000));
  return first ? verdict : { ok: false, code: 'WEBHOOK_REPLAYED' };
}

/** What the guard records for an accepted Stripe-style verdict (undefined: GitHub style, nothing recorded). */
export function replayKey(verdict: WebhookVerdict): string | undefined {
  if (!verdict.ok || verdict.timestamp === undefined || verdict.delivery === undefined) return undefined;
  return `${verdict.timestamp}:${verdict.delivery}`;
}
