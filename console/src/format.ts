/** Numbers, durations, sizes and times as people read them. */

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (value < 1) return `${value.toFixed(2)} ms`;
  if (value < 10) return `${value.toFixed(1)} ms`;
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`;
  return `${(value / 60_000).toFixed(1)} min`;
}

export function pct(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '—';
  if (ratio === 0) return '0%';
  if (ratio < 0.001) return '<0.1%';
  return `${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}%`;
}

export function count(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n < 10_000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 100_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(n < 10 * 1024 ** 2 ? 1 : 0)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

/** `30s`, `256Mi` as platform.yaml writes them (the API takes these). */
export function duration(msValue: number): string {
  if (msValue % 3_600_000 === 0) return `${msValue / 3_600_000}h`;
  if (msValue % 60_000 === 0) return `${msValue / 60_000}m`;
  if (msValue % 1000 === 0) return `${msValue / 1000}s`;
  return `${msValue}ms`;
}

export function memory(b: number): string {
  if (b % 1024 ** 3 === 0) return `${b / 1024 ** 3}Gi`;
  if (b % 1024 ** 2 === 0) return `${b / 1024 ** 2}Mi`;
  return `${Math.round(b / 1024)}Ki`;
}

export function ago(at: number | null | undefined, now = Date.now()): string {
  if (at === null || at === undefined) return 'never';
  const s = Math.round((now - at) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

export function time(at: number): string {
  return new Date(at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function clock(at: number): string {
  const d = new Date(at);
  return `${d.toLocaleTimeString(undefined, { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** A body as text: JSON pretty-printed, strings as they are. */
/** protocol/run-result.ts RESULT_OMITTED_HEADER: an async result's body over 256 KiB is not kept, its size is in this header. */
const RESULT_OMITTED_HEADER = 'x-fp-result-omitted';

/** An async run's stored result as text; one whose body was not kept says so (an empty box read as an empty answer). */
export function resultText(result: { headers?: Record<string, string>; body?: unknown; bodyBase64?: string }): string {
  const size = Number(result.headers?.[RESULT_OMITTED_HEADER]);
  if (Number.isFinite(size) && size > 0) {
    return `(body not kept: ${Math.ceil(size / 1024)} KiB, over the 256 KiB an async run's result keeps: nothing stores a larger answer; write a large result to the data binding or elsewhere and return a reference)`;
  }
  return bodyText(result.body, result.bodyBase64);
}

export function bodyText(body: unknown, base64?: string): string {
  if (base64 !== undefined) return `(${Math.floor((base64.length * 3) / 4)} bytes, not text) ${base64.slice(0, 200)}`;
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return shownText(body);
  return shownText(JSON.stringify(body, null, 2));
}

/** More than 30 combining marks in a row: Unicode's stream-safe bound (UAX #15), which no text needs. */
const LONG_MARK_RUN = /(\p{M}{30})(\p{M}+)/gu;

/**
 * Text a function wrote (a body, a log line, an error), as the page shows it: a run of more than
 * 30 combining marks keeps its first 30 and says how many followed. Chromium shapes a character
 * and its marks as one cluster, in time that grows with the square of its length: `a` and 120 000
 * U+0301 (240 KB, within an async result's 256 KiB) held the tab 30 s when the run's result was
 * opened, 20 000 about 1 s (red team round 18).
 */
export function shownText(text: string): string {
  return text.replace(LONG_MARK_RUN, (_all, kept: string, rest: string) => `${kept}[${[...rest].length} more combining marks]`);
}
