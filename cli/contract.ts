/**
 * The contract card as people read it (docs/cli.md): the limits a caller can count on, the rate
 * limit, auth, payload sizes, retries and retention, and the workspace's quotas with what is used of each now. `deploy` and `functions show`
 * print it.
 */
import type { ApiContract, ApiQuota } from './client.js';
import { formatBytes } from './output.js';
import { formatDurationMs, formatMemoryBytes } from '../protocol/index.js';

function rateText(rate: { requests: number; periodMs: number; burst: number }): string {
  const unit = rate.periodMs === 1000 ? 's' : rate.periodMs === 60_000 ? 'm' : rate.periodMs === 3_600_000 ? 'h' : `${rate.periodMs}ms`;
  return `${rate.requests}/${unit} (burst ${rate.burst})`;
}

function quota(q: ApiQuota, bytes = false): string {
  const show = (n: number): string => (bytes ? formatBytes(n) : String(n));
  return q.limit === null ? `${show(q.used)} (no limit)` : `${show(q.used)} of ${show(q.limit)}`;
}

/** Lines of the card (no trailing newline). */
export function contractLines(c: ApiContract): string[] {
  const lines = [
    `Limits:  timeout ${formatDurationMs(c.timeoutMs)}, memory ${formatMemoryBytes(c.memoryBytes)}, concurrency ${c.concurrency}, ` +
      `instances ${c.minWarm}-${c.maxInstances}, queue ${c.maxQueue}, rate ${c.rateLimit ? rateText(c.rateLimit) : 'no limit'}`,
  ];
  // The rest of the card FUNCTION_MODE.md asks for (the console shows it): who may call, how big a
  // body, how an async run is retried, how long runs and logs are kept. The CLI showed only the limits.
  if (c.retry !== undefined && c.syncPayloadBytes !== undefined && c.asyncPayloadBytes !== undefined && c.runRetentionMs !== undefined) {
    const r = c.retry;
    lines.push(
      `Contract: auth ${c.auth === 'token' ? 'invoke token' : 'public'}, payload ${formatBytes(c.syncPayloadBytes)} sync / ${formatBytes(c.asyncPayloadBytes)} async, ` +
        `async retries ${r.maxAttempts} attempt${r.maxAttempts === 1 ? '' : 's'} (backoff ${formatDurationMs(r.backoffBaseMs)}-${formatDurationMs(r.backoffMaxMs)}, given up after ${formatDurationMs(r.maxEventAgeMs)}), ` +
        `runs and logs kept ${formatDurationMs(c.runRetentionMs)}`,
    );
  }
  if (c.quotas !== undefined) {
    const q = c.quotas;
    lines.push(
      `Quotas of workspace ${c.workspace ?? 'default'}:  functions ${quota(q.functions)}, instances ${quota(q.instances)}, ` +
        // Calls are counted only against a limit (the API's `used` is 0 without one): "0 (no limit)" read as none made.
        `calls this minute ${q.invocationsPerMinute.limit === null ? 'not counted (no limit)' : quota(q.invocationsPerMinute)}, code ${quota(q.codeBytes, true)}, logs ${quota(q.logBytes, true)}`,
    );
  }
  return lines;
}
