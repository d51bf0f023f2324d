/**
 * The run-list cursor: the sort key (startedAt, runId) of the last item of a page, as opaque
 * base64url JSON. Shared by the adapters so a cursor's shape is defined once.
 */
import { StoreError } from './errors.js';

export interface RunCursor {
  startedAt: number;
  runId: string;
}

export function encodeRunCursor(cursor: RunCursor): string {
  return Buffer.from(JSON.stringify([cursor.startedAt, cursor.runId]), 'utf8').toString('base64url');
}

export function decodeRunCursor(text: string): RunCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && Number.isFinite(value[0]) && typeof value[1] === 'string') {
      return { startedAt: value[0] as number, runId: value[1] };
    }
  } catch {
    // fall through: not JSON
  }
  throw new StoreError('RUN_CURSOR_INVALID', 'the cursor is not one this store returned', { cursor: text });
}

export const DEFAULT_RUN_LIMIT = 50;
export const MAX_RUN_LIMIT = 1000;

/** The page size asked for, clamped to 1..MAX_RUN_LIMIT. */
export function runLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_RUN_LIMIT;
  return Math.min(MAX_RUN_LIMIT, Math.max(1, Math.floor(limit)));
}
