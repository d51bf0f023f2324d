/**
 * Human units at the edge (manifest, CLI, API), converted once into numbers with the unit in the
 * name (`timeoutMs`, `memoryBytes`). Nothing past the edge parses these forms again.
 */
import { PlatformError } from './errors.js';

/** BAD_UNIT: a value in human units that does not parse. The message gives the accepted forms. */
export class UnitError extends PlatformError {
  constructor(message: string) {
    super('BAD_UNIT', message);
  }
}

/**
 * Exactly what parseDurationMs reads (ASCII digits, spaces or tabs around): the JSON Schemas show
 * it as the pattern of every duration field (platform.schema.json, the OpenAPI document).
 */
export const DURATION_PATTERN = /^[ \t]*([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)[ \t]*$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * `500ms`, `30s`, `1.5s`, `2m`, `1h` → milliseconds (a whole number, at least 1).
 * A bare number is refused: `30` could be seconds or milliseconds.
 */
export function parseDurationMs(text: string): number {
  const match = DURATION_PATTERN.exec(text);
  if (!match) {
    // `"15"` (Lambda's Timeout, in seconds, quoted): the form meant (new-user round 12).
    const bare = /^[ \t]*[0-9]+(?:\.[0-9]+)?[ \t]*$/.test(text) ? ` (${text.trim()}s for ${text.trim()} seconds)` : '';
    throw new UnitError(`"${text}" is not a duration; use a number with a unit: 500ms, 30s, 2m, 1h${bare}`);
  }
  const ms = Math.round(Number(match[1]) * DURATION_MS[match[2]!]!);
  if (ms < 1) throw new UnitError(`"${text}" is shorter than 1ms`);
  if (!Number.isSafeInteger(ms)) throw new UnitError(`"${text}" is too long`);
  return ms;
}

/** The longest grace a rotation (a webhook secret, a binding's credentials) gives the previous secret. */
const MAX_GRACE_MS = 7 * 24 * 3_600_000;

/**
 * A rotation's grace: a duration of at most 168h, `0s` (any zero) ending the previous secret at
 * once. The one rule of the API's `grace` and the CLI's `--grace`; throws UnitError.
 */
export function parseGraceMs(text: string): number {
  if (Number(DURATION_PATTERN.exec(text)?.[1]) === 0) return 0;
  const ms = parseDurationMs(text);
  if (ms > MAX_GRACE_MS) throw new UnitError(`"${text}" is longer than 168h`);
  return ms;
}

// Kubernetes quantities: binary suffixes are powers of 1024, decimal ones powers of 1000.
// A trailing `B` is tolerated (`256MiB`, `512MB`) because people write it.
/** Exactly what parseMemoryBytes reads; the pattern of every memory field in the JSON Schemas. */
export const MEMORY_PATTERN = /^[ \t]*([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|K|k|M|G|T)?B?[ \t]*$/;
const MEMORY_FACTOR: Record<string, number> = {
  '': 1,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  k: 1000,
  K: 1000,
  M: 1000 ** 2,
  G: 1000 ** 3,
  T: 1000 ** 4,
};

/** `256Mi`, `1Gi`, `512M`, `64MiB`, `1048576` → bytes (a whole number). */
export function parseMemoryBytes(text: string): number {
  const match = MEMORY_PATTERN.exec(text);
  if (!match) {
    throw new UnitError(`"${text}" is not a memory size; use e.g. 256Mi, 1Gi, 512M (Ki/Mi/Gi = 1024^n, K/M/G = 1000^n)`);
  }
  const bytes = Math.round(Number(match[1]) * MEMORY_FACTOR[match[2] ?? '']!);
  if (!Number.isSafeInteger(bytes)) throw new UnitError(`"${text}" is too large`);
  return bytes;
}

/** Milliseconds back to the shortest exact human form (for contract cards and messages). */
export function formatDurationMs(ms: number): string {
  for (const [unit, factor] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= factor && ms % factor === 0) return `${ms / factor}${unit}`;
  }
  return `${ms}ms`;
}

/** Bytes back to the shortest exact form, binary first (`268435456` → `256Mi`; `100000000` → `100M`). */
export function formatMemoryBytes(bytes: number): string {
  const binary = binaryForm(bytes);
  const decimal = decimalForm(bytes);
  if (binary !== null && (decimal === null || binary.length <= decimal.length)) return binary;
  return decimal ?? String(bytes);
}

function binaryForm(bytes: number): string | null {
  for (const [unit, factor] of [['Ti', 1024 ** 4], ['Gi', 1024 ** 3], ['Mi', 1024 ** 2], ['Ki', 1024]] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return null;
}

/** `memory: 100M` (decimal, as Kubernetes and Docker write it) shown back as `100M`, not `100000000`. */
function decimalForm(bytes: number): string | null {
  for (const [unit, factor] of [['T', 1000 ** 4], ['G', 1000 ** 3], ['M', 1000 ** 2]] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return null;
}

/**
 * A size for a person to read in an error message: `6 MiB (6291456 bytes)` when it is a whole
 * number of KiB/MiB/GiB, `54.0 MiB (56624918 bytes)` past 1 KiB otherwise, else `1000 bytes`.
 * The exact figure stays, so scripts can still read it.
 */
export function describeBytes(bytes: number): string {
  const short = binaryForm(bytes);
  if (short !== null) return `${short.replace(/i$/, 'iB').replace(/([0-9])([KMGT])/, '$1 $2')} (${bytes} bytes)`;
  for (const [unit, factor] of [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= factor) return `${(bytes / factor).toFixed(1)} ${unit} (${bytes} bytes)`;
  }
  return `${bytes} bytes`;
}

/**
 * A duration that may also be given in days (`30d`, `90d`, `12h`, `15m`): token expiry, the audit
 * log's retention, the CLI's `--since`. The manifest's durations stay without days
 * (DURATION_PATTERN): nothing there runs that long.
 */
export const LONG_DURATION_PATTERN = /^[ \t]*([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)[ \t]*$/;

/** `30d`, `12h`, `90m`, `1.5h` → milliseconds (a whole number, at least 1). */
export function parseLongDurationMs(text: string): number {
  const match = LONG_DURATION_PATTERN.exec(text);
  if (!match) throw new UnitError(`"${text}" is not a duration; use a number with a unit: 30d, 12h, 15m, 30s`);
  const ms = Math.round(Number(match[1]) * (match[2] === 'd' ? 86_400_000 : DURATION_MS[match[2]!]!));
  if (ms < 1) throw new UnitError(`"${text}" is shorter than 1ms`);
  if (!Number.isSafeInteger(ms)) throw new UnitError(`"${text}" is too long`);
  return ms;
}

/** Milliseconds back to the shortest exact form parseLongDurationMs reads (`604800000` → `7d`). */
export function formatLongDurationMs(ms: number): string {
  return ms >= 86_400_000 && ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : formatDurationMs(ms);
}

/** A rate as written in `limits.rate`: `100/s`, `6000/m`, `10/h` (a whole number of calls per unit). */
export const RATE_PATTERN = /^[ \t]*([0-9]{1,9})[ \t]*\/[ \t]*(s|m|h)[ \t]*$/;
const RATE_PERIOD_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/** A rate as the platform keeps it: `requests` calls per `periodMs`. */
export interface Rate {
  requests: number;
  periodMs: number;
}

/** `100/s` → `{requests: 100, periodMs: 1000}`; at least 1 call per period. */
export function parseRate(text: string): Rate {
  const match = RATE_PATTERN.exec(text);
  if (!match) throw new UnitError(`"${text}" is not a rate; use calls per second, minute or hour: 100/s, 6000/m, 10/h`);
  const requests = Number(match[1]);
  if (requests < 1) throw new UnitError(`"${text}" allows no call at all; use at least 1`);
  return { requests, periodMs: RATE_PERIOD_MS[match[2]!]! };
}

/** A rate back to its human form (`{100, 1000}` → `100/s`). */
export function formatRate(rate: Rate): string {
  const unit = rate.periodMs === 1000 ? 's' : rate.periodMs === 60_000 ? 'm' : rate.periodMs === 3_600_000 ? 'h' : null;
  return unit === null ? `${rate.requests}/${rate.periodMs}ms` : `${rate.requests}/${unit}`;
}
