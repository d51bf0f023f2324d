/**
 * A cron tick recovery gave up on (ADR 0264 amended, loose ends round 10): claimed by a scheduler
 * that stopped before queueing its run, and found by a start only past `maxLateMs`. It is kept as a
 * failed run record (`CRON_TICK_MISSED`), so its owner sees it in `runs`, the console's Runs and
 * `GET /runs/<id>`; before, such a tick was gone without a trace. The run id is made from the tick,
 * so two processes giving it up at once write one record (a (runId, attempt) seen before is replaced).
 */
import { createHash } from 'node:crypto';
import type { RunRecord } from '../../../protocol/index.js';
import type { MissedTicks, TickTarget } from './types.js';

/**
 * The run id of a missed tick's record: the same in every process for the same tick, a UUID as
 * every run id is (name-based, version 5's layout over SHA-256), so the CLI and console take it as one.
 */
export function missedTickRunId(fn: string, triggerId: string, tickMs: number, kind = 'cron-missed'): string {
  const b = createHash('sha256').update(`${kind}\0${fn}\0${triggerId}\0${tickMs}`).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The record of a missed tick of `fn`'s trigger `triggerId`, at the tick's time; `version`: the one active when it was given up. */
export function missedTickRecord(fn: string, triggerId: string, tickMs: number, version: string, at: TickTarget, maxLateMs: number): RunRecord {
  const when = new Date(tickMs).toISOString();
  return {
    runId: missedTickRunId(fn, triggerId, tickMs), attempt: 1, function: fn, version, trigger: 'cron', cold: false, start: null,
    initMs: 0, handlerMs: 0, queuedMs: 0, durationMs: 0, status: 'failed', httpStatus: 500, errorCode: 'CRON_TICK_MISSED', errorClass: null,
    error: {
      type: 'CRON_TICK_MISSED',
      message: `the tick of ${when} of trigger ${triggerId} did not run: the platform process that claimed it stopped before queueing its run, and none started within ${Math.round(maxLateMs / 1000)} s of the tick to fire it late`,
    },
    logs: [], startedAt: tickMs, method: at.method, path: at.path,
  };
}

/** Why a running process skipped ticks: its timer woke past them (chaos round 9). */
const LATE = 'the platform process\'s timer woke after them (its wall clock stepped forward, or the process or its machine was stopped), and ticks passed late are skipped, not caught up';

/**
 * The one record of the ticks of `fn`'s trigger nobody claimed while the platform was down (ADR
 * 0238), or a running process skipped as late (`cause`): at the first one's time, saying how many, the first and the last; its run id made from the first.
 */
export function outageRecord(fn: string, triggerId: string, ticks: MissedTicks, version: string, at: TickTarget): RunRecord {
  const first = new Date(ticks.firstMs).toISOString();
  const last = new Date(ticks.lastMs).toISOString();
  const count = ticks.more ? `${ticks.count} or more ticks (counted up to ${ticks.count})` : ticks.count === 1 ? '1 tick' : `${ticks.count} ticks`;
  return {
    ...missedTickRecord(fn, triggerId, ticks.firstMs, version, at, 0),
    runId: missedTickRunId(fn, triggerId, ticks.firstMs, 'cron-outage'),
    error: {
      type: 'CRON_TICK_MISSED',
      message: `${count} of trigger ${triggerId} did not run, from ${first} to ${last}: ${ticks.cause === 'late' ? LATE : 'no platform process was running to claim them'}`,
    },
  };
}
