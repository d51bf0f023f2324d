/**
 * An async run's stored result: a body over MAX_STORED_RESULT_BYTES is not kept, only its status and
 * headers, with its size in RESULT_OMITTED_HEADER (docs/adr/0043-red-team-3-bounds.md). Shared so
 * the CLI says so instead of printing an empty body (docs/adr/0048-newcomer-round-3.md).
 */
export const MAX_STORED_RESULT_BYTES = 6 * 1024 * 1024;
export const RESULT_OMITTED_HEADER = 'x-fp-result-omitted';

/** What to print in place of a result's body that was not kept, or null when it was. */
export function omittedResultNote(headers: Readonly<Record<string, string>> | undefined): string | null {
  const size = Number(headers?.[RESULT_OMITTED_HEADER]);
  if (!Number.isFinite(size) || size <= 0) return null;
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `(body not kept: ${mib(size)}, over the ${mib(MAX_STORED_RESULT_BYTES)} an async run's result keeps: nothing stores a larger answer; write a large result to the data binding or elsewhere and return a reference)`;
}
