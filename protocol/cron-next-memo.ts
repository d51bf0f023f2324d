/**
 * The next ticks the cron library found, per schedule (zone and expression): the library steps
 * luxon dates second by second, minute by minute and day by day on the event loop (1-20 ms per tick
 * asked for on an idle host, several times that under load; a rare date such as 29 February walks
 * years), and `GET /functions/{name}/triggers` (any viewer) asked for five fire times of up to 32
 * triggers on each listing: half a second to seconds of every tenant's calls, as often as asked
 * (red team round 35). A tick `next` found after `from` is also the next tick after any time in
 * [from, next): nothing fires between. Bounded: MEMO_SCHEDULES schedules (the least recently used
 * forgotten first), MEMO_SPANS spans each (the oldest first).
 */

export const MEMO_SCHEDULES = 8192;
export const MEMO_SPANS = 8;

interface Span {
  from: number;
  next: number;
}

const memo = new Map<string, Span[]>();

/** The next tick after `afterMs` when a remembered span holds it; undefined otherwise. */
export function recallNext(key: string, afterMs: number): number | undefined {
  const spans = memo.get(key);
  if (spans === undefined) return undefined;
  const span = spans.find((s) => s.from <= afterMs && afterMs < s.next);
  if (span === undefined) return undefined;
  memo.delete(key);
  memo.set(key, spans); // the most recently used last
  return span.next;
}

/** Remembers that `next` is the first tick after `from` (and so after any time before `next`). */
export function rememberNext(key: string, from: number, next: number): void {
  if (!(next > from)) return;
  const spans = memo.get(key) ?? [];
  memo.delete(key);
  spans.push({ from, next });
  if (spans.length > MEMO_SPANS) spans.shift();
  memo.set(key, spans);
  if (memo.size > MEMO_SCHEDULES) memo.delete(memo.keys().next().value!);
}
