/**
 * An async run's stored result: a body over the platform's FP_ASYNC_RESULT_MAX_BYTES (default
 * MAX_STORED_RESULT_BYTES; ADR 0236) is not kept, only its status and
 * headers, with its size in RESULT_OMITTED_HEADER (docs/adr/0043-red-team-3-bounds.md). Shared so
 * the CLI says so instead of printing an empty body (docs/adr/0048-newcomer-round-3.md). 256 KiB
 * (Lambda's async payload size): results are kept for the run retention (7 days) by age only,
 * and at 6 MiB each a hundred async calls of a function added 500 MB to async.db (200 MB to
 * Redis in production) that no cap or quota counted (reliability round, 2026-12-05).
 */
export const MAX_STORED_RESULT_BYTES = 256 * 1024;
/** A test invoke's answer is shown, not stored: it keeps this much of a body (red team 10). */
export const MAX_SHOWN_RESULT_BYTES = 6 * 1024 * 1024;
export const RESULT_OMITTED_HEADER = 'x-fp-result-omitted';
/**
 * A kept result dropped later for its workspace's budget of async result bytes (FP_ASYNC_RESULT_BYTES_PER_WORKSPACE,
 * ADR 0250): its body and headers go, its status stays, and this header, the only one left, says
 * how many bytes went.
 */
export const RESULT_DROPPED_HEADER = 'x-fp-result-dropped';
/** The default of FP_ASYNC_RESULT_BYTES_PER_WORKSPACE: 64 MiB of kept results a workspace (ADR 0250). */
export const DEFAULT_RESULT_BYTES_PER_WORKSPACE = 64 * 1024 * 1024;
/**
 * The headers of a result kept or shown whole (an async run's, a test invoke's) keep at most this
 * many bytes (names and values); the rest are dropped, their count in RESULT_HEADERS_OMITTED_HEADER.
 * The body's cap did not cover them: one anonymous async call of a function answering 900 headers
 * of 64 KiB stored 59 MB, and each read of that run built a 59 MB answer (red team of 2026-12-05).
 */
export const MAX_RESULT_HEADER_BYTES = 64 * 1024;
export const RESULT_HEADERS_OMITTED_HEADER = 'x-fp-result-headers-omitted';

/** `headers` within MAX_RESULT_HEADER_BYTES, in order, with the count of those dropped (the same array when all fit). */
export function boundResultHeaders<H extends readonly (readonly [string, string])[]>(headers: H): H | [string, string][] {
  let total = 0;
  for (const [name, value] of headers) total += name.length + value.length;
  if (total <= MAX_RESULT_HEADER_BYTES) return headers;
  let bytes = 0;
  const kept: [string, string][] = [];
  for (const [name, value] of headers) {
    bytes += name.length + value.length;
    if (bytes > MAX_RESULT_HEADER_BYTES) {
      kept.push([RESULT_HEADERS_OMITTED_HEADER, String(headers.length - kept.length)]);
      return kept;
    }
    kept.push([name, value]);
  }
  return kept;
}

/**
 * What to print in place of a result's body that was not kept, or null when it was: an async run's
 * stored result (`stored`, over MAX_STORED_RESULT_BYTES), or a test invoke's answer (`shown`, over
 * MAX_SHOWN_RESULT_BYTES: the console's Invoke tab showed an empty body, read as an empty answer;
 * console round 4).
 */
export function omittedResultNote(headers: Readonly<Record<string, string>> | undefined, of: 'stored' | 'shown' = 'stored'): string | null {
  const kib = (n: number) => `${Math.ceil(n / 1024)} KiB`;
  const dropped = Number(headers?.[RESULT_DROPPED_HEADER]);
  if (of === 'stored' && Number.isFinite(dropped) && dropped > 0) {
    return `(result dropped: ${kib(dropped)} kept, then dropped as the workspace's newer async results filled its budget, FP_ASYNC_RESULT_BYTES_PER_WORKSPACE; the run's status stays)`;
  }
  const size = Number(headers?.[RESULT_OMITTED_HEADER]);
  if (!Number.isFinite(size) || size <= 0) return null;
  if (of === 'shown') return `(body not shown: ${kib(size)}, over the ${kib(MAX_SHOWN_RESULT_BYTES)} a test call shows; the function answered it whole: call its URL for it, as the curl line does)`;
  // The platform's own cap is its setting (FP_ASYNC_RESULT_MAX_BYTES, ADR 0236): named, not guessed.
  return `(body not kept: ${kib(size)}, over what an async run's result keeps, FP_ASYNC_RESULT_MAX_BYTES: ${kib(MAX_STORED_RESULT_BYTES)} by default; nothing stores a larger answer: write a large result to the data binding or elsewhere and return a reference)`;
}
