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
    throw new UnitError(`"${text}" is not a duration; use a number with a unit: 500ms, 30s, 2m, 1h`);
  }
  const ms = Math.round(Number(match[1]) * DURATION_MS[match[2]!]!);
  if (ms < 1) throw new UnitError(`"${text}" is shorter than 1ms`);
  if (!Number.isSafeInteger(ms)) throw new UnitError(`"${text}" is too long`);
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

/** Bytes back to the shortest exact binary form (`268435456` → `256Mi`). */
export function formatMemoryBytes(bytes: number): string {
  for (const [unit, factor] of [['Ti', 1024 ** 4], ['Gi', 1024 ** 3], ['Mi', 1024 ** 2], ['Ki', 1024]] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}
