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
 * Beside RESULT_OMITTED_HEADER on an async run's stored result: the FP_ASYNC_RESULT_MAX_BYTES the
 * run was kept under, so its owner reads the cap that dropped the body, not the default (an
 * operator's 1 KiB was said as "256 KiB by default"; loose ends round 8).
 */
export const RESULT_MAX_BYTES_HEADER = 'x-fp-result-max-bytes';
/**
 * Names starting with this are the platform's on an answer (`x-fp-result-omitted`,
 * `x-fp-result-headers-omitted`, `x-fp-sandbox`, and any it adds later): the gateway drops a
 * function's own (gateway/responses.ts checkFunctionResponse), so a caller, the CLI, the console and
 * an async run's stored result read them as the platform's word (red team round 45, ADR 0244).
 */
export const PLATFORM_ANSWER_PREFIX = 'x-fp-';

/** `lower` (a header name in lower case) is one only the platform sets on an answer. */
export function isPlatformAnswerHeader(lower: string): boolean {
  return lower.startsWith(PLATFORM_ANSWER_PREFIX);
}
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

/**
 * `headers` within MAX_RESULT_HEADER_BYTES, in order (the same array when all fit), and the count of
 * those dropped, which the caller says in RESULT_HEADERS_OMITTED_HEADER after the function's
 * headers were checked (a function's own `x-fp-*` are dropped: ADR 0244).
 */
export function boundResultHeaders<H extends readonly (readonly [string, string])[]>(headers: H): { headers: H | [string, string][]; dropped: number } {
  let total = 0;
  for (const [name, value] of headers) total += name.length + value.length;
  if (total <= MAX_RESULT_HEADER_BYTES) return { headers, dropped: 0 };
  let bytes = 0;
  const kept: [string, string][] = [];
  for (const [name, value] of headers) {
    bytes += name.length + value.length;
    if (bytes > MAX_RESULT_HEADER_BYTES) return { headers: kept, dropped: headers.length - kept.length };
    kept.push([name, value]);
  }
  return { headers: kept, dropped: 0 };
}

/** A result whose body was not kept: its size, and the cap it was over when that was recorded (null: a run stored before). */
export interface ResultOmission {
  sizeBytes: number;
  maxBytes: number | null;
}

/** What a result's headers say of a body not kept (RESULT_OMITTED_HEADER, RESULT_MAX_BYTES_HEADER), or null when it was kept. */
export function resultOmission(headers: Readonly<Record<string, string>> | undefined): ResultOmission | null {
  const size = Number(headers?.[RESULT_OMITTED_HEADER]);
  if (!Number.isSafeInteger(size) || size <= 0) return null;
  const max = headers?.[RESULT_MAX_BYTES_HEADER];
  const maxBytes = max !== undefined && /^\d{1,9}$/.test(max) ? Number(max) : null;
  return { sizeBytes: size, maxBytes };
}

/** Why a kept result was dropped later: its workspace's kept results passed FP_ASYNC_RESULT_BYTES_PER_WORKSPACE (ADR 0250), the one reason today. */
export const RESULT_DROP_REASONS = ['workspace-budget'] as const;
/** A result kept, then dropped: the bytes that went and why (`GET /runs/<id>`'s `result.dropped`). */
export interface ResultDrop {
  sizeBytes: number;
  reason: (typeof RESULT_DROP_REASONS)[number];
}

/**
 * What a result's headers say of its being dropped after it was kept (RESULT_DROPPED_HEADER), or
 * null: the API's `result.dropped` and the notes read it here (the header alone said it; loose ends round 10).
 */
export function resultDrop(headers: Readonly<Record<string, string>> | undefined): ResultDrop | null {
  const size = Number(headers?.[RESULT_DROPPED_HEADER]);
  return Number.isSafeInteger(size) && size > 0 ? { sizeBytes: size, reason: 'workspace-budget' } : null;
}

/** A size as the notes say it: exact bytes under 10 KiB (a cap of 1024 and a body of 1025 read apart), KiB above. */
function sizeText(n: number): string {
  return n < 10 * 1024 ? `${n} bytes` : `${Math.ceil(n / 1024)} KiB`;
}

/**
 * What to print in place of a result's body that was not kept, or null when it was: an async run's
 * stored result (`stored`, over its FP_ASYNC_RESULT_MAX_BYTES), or a test invoke's answer (`shown`,
 * over MAX_SHOWN_RESULT_BYTES: the console's Invoke tab showed an empty body, read as an empty
 * answer; console round 4).
 */
export function omittedResultNote(headers: Readonly<Record<string, string>> | undefined, of: 'stored' | 'shown' = 'stored'): string | null {
  const dropped = of === 'stored' ? resultDrop(headers) : null;
  if (dropped !== null) {
    return `(result dropped: ${sizeText(dropped.sizeBytes)} kept, then dropped as the workspace's newer async results filled its budget, FP_ASYNC_RESULT_BYTES_PER_WORKSPACE; the run's status stays)`;
  }
  const omission = resultOmission(headers);
  if (omission === null) return null;
  const size = sizeText(omission.sizeBytes);
  if (of === 'shown') return `(body not shown: ${size}, over the ${sizeText(MAX_SHOWN_RESULT_BYTES)} a test call shows; the function answered it whole: call its URL for it, as the curl line does)`;
  const advice = 'nothing stores a larger answer: write a large result to the data binding or elsewhere and return a reference';
  // The cap it was kept under (ADR 0236), as recorded with it; a run stored before that was recorded names the default.
  if (omission.maxBytes !== null) return `(body not kept: ${size}, over the ${sizeText(omission.maxBytes)} an async run's result keeps on this platform, FP_ASYNC_RESULT_MAX_BYTES; ${advice})`;
  return `(body not kept: ${size}, over what an async run's result keeps, FP_ASYNC_RESULT_MAX_BYTES: ${sizeText(MAX_STORED_RESULT_BYTES)} by default; ${advice})`;
}
