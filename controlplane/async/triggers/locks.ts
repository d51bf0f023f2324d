/**
 * Embedded TickLocks: in memory (one process) and SQLite (one file shared by every scheduler
 * process on the host; a tick is claimed by the `INSERT OR IGNORE` that inserted its row).
 */
import { openIntactSqlite } from '../../store/index.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TriggerError } from './errors.js';
import type { TickLock, TickNote, TriggerRef } from './types.js';

/** How long claimed ticks are remembered by default; longer than any clock skew between schedulers. */
export const DEFAULT_TICK_LOCK_TTL_MS = 10 * 60 * 1000;

const tickKey = (ref: TriggerRef, tickMs: number): string => `${ref.function}\u0000${ref.triggerId}\u0000${tickMs}`;
const refKey = (ref: TriggerRef): string => `${ref.function}\u0000${ref.triggerId}`;

/** For one scheduler process (or several schedulers inside one process). */
export class MemoryTickLock implements TickLock {
  /** key → [tick, settled]. */
  readonly #claimed = new Map<string, [number, boolean]>();
  readonly #notes = new Map<string, TickNote>();
  constructor(private readonly ttlMs = DEFAULT_TICK_LOCK_TTL_MS) {}

  async acquire(ref: TriggerRef, tickMs: number): Promise<boolean> {
    for (const [key, [tick]] of this.#claimed) if (tick < tickMs - this.ttlMs) this.#claimed.delete(key);
    const key = tickKey(ref, tickMs);
    if (this.#claimed.has(key)) return false;
    this.#claimed.set(key, [tickMs, false]);
    const note = this.#notes.get(refKey(ref)) ?? { lastTickMs: tickMs, lastMissedMs: null, missedSinceFired: 0 };
    this.#notes.set(refKey(ref), { ...note, lastTickMs: Math.max(note.lastTickMs, tickMs) });
    return true;
  }

  async note(ref: TriggerRef): Promise<TickNote | null> {
    const note = this.#notes.get(refKey(ref));
    return note === undefined ? null : { ...note };
  }

  async noteFired(ref: TriggerRef): Promise<void> {
    const note = this.#notes.get(refKey(ref));
    if (note) note.missedSinceFired = 0;
  }

  async noteMissed(ref: TriggerRef, lastMs: number, count: number, fromTickMs?: number): Promise<boolean> {
    const note = this.#notes.get(refKey(ref)) ?? { lastTickMs: lastMs, lastMissedMs: null, missedSinceFired: 0 };
    if (fromTickMs !== undefined && note.lastTickMs !== fromTickMs) return false;
    this.#notes.set(refKey(ref), {
      lastTickMs: Math.max(note.lastTickMs, lastMs),
      lastMissedMs: Math.max(note.lastMissedMs ?? lastMs, lastMs),
      missedSinceFired: note.missedSinceFired + count,
    });
    return true;
  }

  async noteArmed(ref: TriggerRef, atMs: number): Promise<void> {
    const note = this.#notes.get(refKey(ref));
    if (note) note.lastTickMs = Math.max(note.lastTickMs, atMs);
  }

  async forgetFunction(fn: string): Promise<void> {
    const prefix = `${fn}\u0000`;
    for (const map of [this.#claimed, this.#notes]) for (const key of [...map.keys()]) if (key.startsWith(prefix)) map.delete(key);
  }

  async settle(ref: TriggerRef, tickMs: number): Promise<void> {
    const claim = this.#claimed.get(tickKey(ref, tickMs));
    if (claim) claim[1] = true;
  }

  async unsettled(ref: TriggerRef, ticks: readonly number[]): Promise<number[]> {
    return ticks.filter((t) => this.#claimed.get(tickKey(ref, t))?.[1] === false);
  }

  async close(): Promise<void> {}
}

export const TICK_LOCK_DB_FILE = 'cron-ticks.db';

export interface SqliteTickLockOptions {
  /** Directory of `cron-ticks.db`, next to the platform's other state files. */
  stateDir: string;
  /** Rows of ticks older than this are deleted (default DEFAULT_TICK_LOCK_TTL_MS). */
  ttlMs?: number;
}

/** A TickLock in `<stateDir>/cron-ticks.db`; several processes may open it at once (WAL, busy timeout). */
export function openSqliteTickLock(options: SqliteTickLockOptions): TickLock {
  mkdirSync(options.stateDir, { recursive: true });
  const db = openIntactSqlite(join(options.stateDir, TICK_LOCK_DB_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 2000');
  db.exec(`CREATE TABLE IF NOT EXISTS ticks (
    function TEXT NOT NULL, trigger_id TEXT NOT NULL, tick_ms INTEGER NOT NULL,
    PRIMARY KEY (function, trigger_id, tick_ms)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS settled (
    function TEXT NOT NULL, trigger_id TEXT NOT NULL, tick_ms INTEGER NOT NULL,
    PRIMARY KEY (function, trigger_id, tick_ms)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS notes (
    function TEXT NOT NULL, trigger_id TEXT NOT NULL, last_tick_ms INTEGER NOT NULL,
    last_missed_ms INTEGER, missed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (function, trigger_id)) WITHOUT ROWID`);
  const insert = db.prepare('INSERT OR IGNORE INTO ticks (function, trigger_id, tick_ms) VALUES (?, ?, ?)');
  const settle = db.prepare('INSERT OR IGNORE INTO settled (function, trigger_id, tick_ms) VALUES (?, ?, ?)');
  const unsettled = db.prepare(`SELECT 1 FROM ticks t WHERE t.function = ? AND t.trigger_id = ? AND t.tick_ms = ?
    AND NOT EXISTS (SELECT 1 FROM settled s WHERE s.function = t.function AND s.trigger_id = t.trigger_id AND s.tick_ms = t.tick_ms)`);
  // The lasting note (ADR 0238): never pruned with the claims; one row a trigger.
  const noteClaim = db.prepare(`INSERT INTO notes (function, trigger_id, last_tick_ms) VALUES (?, ?, ?)
    ON CONFLICT (function, trigger_id) DO UPDATE SET last_tick_ms = max(last_tick_ms, excluded.last_tick_ms)`);
  const noteRead = db.prepare('SELECT last_tick_ms, last_missed_ms, missed FROM notes WHERE function = ? AND trigger_id = ?');
  const noteFired = db.prepare('UPDATE notes SET missed = 0 WHERE function = ? AND trigger_id = ?');
  const noteMissed = db.prepare(`INSERT INTO notes (function, trigger_id, last_tick_ms, last_missed_ms, missed) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (function, trigger_id) DO UPDATE SET last_tick_ms = max(last_tick_ms, excluded.last_tick_ms),
    last_missed_ms = max(coalesce(last_missed_ms, excluded.last_missed_ms), excluded.last_missed_ms), missed = missed + excluded.missed`);
  const noteOutage = db.prepare(`UPDATE notes SET last_tick_ms = max(last_tick_ms, ?), last_missed_ms = max(coalesce(last_missed_ms, ?), ?),
    missed = missed + ? WHERE function = ? AND trigger_id = ? AND last_tick_ms = ?`);
  const noteArmed = db.prepare('UPDATE notes SET last_tick_ms = max(last_tick_ms, ?) WHERE function = ? AND trigger_id = ?');
  const forget = ['notes', 'ticks', 'settled'].map((table) => db.prepare(`DELETE FROM ${table} WHERE function = ?`));
  const forgetAll = db.transaction((fn: string) => {
    for (const step of forget) step.run(fn);
  });
  const claim = db.transaction((ref: TriggerRef, tickMs: number): boolean => {
    if (insert.run(ref.function, ref.triggerId, tickMs).changes !== 1) return false;
    noteClaim.run(ref.function, ref.triggerId, tickMs);
    return true;
  });
  const prune = [db.prepare('DELETE FROM ticks WHERE tick_ms < ?'), db.prepare('DELETE FROM settled WHERE tick_ms < ?')];
  const guarded = <T>(step: () => T): T => {
    if (!db.open) throw new TriggerError('TRIGGER_UNAVAILABLE', 'the tick lock is closed');
    try {
      return step();
    } catch (err) {
      throw new TriggerError('TRIGGER_UNAVAILABLE', `tick lock: ${(err as Error).message}`);
    }
  };
  const ttlMs = options.ttlMs ?? DEFAULT_TICK_LOCK_TTL_MS;
  let claims = 0;
  return {
    async acquire(ref, tickMs) {
      return guarded(() => {
        if (++claims % 100 === 0) for (const p of prune) p.run(tickMs - ttlMs);
        return claim(ref, tickMs);
      });
    },
    async note(ref) {
      const row = guarded(() => noteRead.get(ref.function, ref.triggerId)) as { last_tick_ms: number; last_missed_ms: number | null; missed: number } | undefined;
      return row === undefined ? null : { lastTickMs: row.last_tick_ms, lastMissedMs: row.last_missed_ms, missedSinceFired: row.missed };
    },
    async noteFired(ref) {
      guarded(() => noteFired.run(ref.function, ref.triggerId));
    },
    async noteMissed(ref, lastMs, count, fromTickMs) {
      return guarded(() => fromTickMs === undefined
        ? noteMissed.run(ref.function, ref.triggerId, lastMs, lastMs, count).changes === 1
        : noteOutage.run(lastMs, lastMs, lastMs, count, ref.function, ref.triggerId, fromTickMs).changes === 1);
    },
    async noteArmed(ref, atMs) {
      guarded(() => noteArmed.run(atMs, ref.function, ref.triggerId));
    },
    async forgetFunction(fn) {
      guarded(() => forgetAll(fn));
    },
    async settle(ref, tickMs) {
      guarded(() => settle.run(ref.function, ref.triggerId, tickMs));
    },
    async unsettled(ref, ticks) {
      return guarded(() => ticks.filter((t) => unsettled.get(ref.function, ref.triggerId, t) !== undefined));
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
