/**
 * `--since` / `--until` of `logs`, `runs` and `audit`: one parser, so each takes the same forms
 * and a bad value is a usage error (exit 2) before any request (ADR 0055, Round 4b). Before it,
 * `audit --since 5x` was the API's INVALID_FIELD (exit 4) and `logs -f --since 5x` a note while
 * it followed anyway.
 */
import { usageError } from './errors.js';
import { LONG_DURATION_PATTERN, parseGraceMs, parseLongDurationMs } from '../protocol/index.js';

const WEEKS = /^[ \t]*([0-9]+)w[ \t]*$/;

/** `10m`, `2h`, `1d`, `1w` ago, or Unix ms, or an ISO 8601 time: Unix ms. */
export function parseWhen(text: string, now: number, option: string): number {
  const weeks = WEEKS.exec(text);
  if (weeks) return now - Number(weeks[1]) * 7 * 86_400_000;
  if (LONG_DURATION_PATTERN.test(text)) {
    try {
      return now - parseLongDurationMs(text);
    } catch {
      // 0m and the like: said below
    }
  } else {
    const ms = /^[0-9]{1,15}$/.test(text) ? Number(text) : /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : Number.NaN;
    if (!Number.isNaN(ms)) return ms;
  }
  throw usageError(`--${option} must be a duration ago (30s, 10m, 2h, 1d, 1w), Unix ms or an ISO 8601 time (2026-12-01T10:00:00Z), got ${JSON.stringify(text)}`);
}

/**
 * `--grace` of `triggers rotate-secret` and `data rotate`, checked by the API's rule (parseGraceMs:
 * a duration, `0s` ends the old secret at once, at most 168h) so a bad one is a usage error (exit 2),
 * not the API's INVALID_FIELD (exit 4); the text goes to the API as given.
 */
export function graceOption(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    parseGraceMs(text);
  } catch {
    throw usageError(`--grace must be a duration of at most 168h such as 1h, 30m or 0s (0s: the old secret stops at once), got ${JSON.stringify(text)}`);
  }
  return text;
}
