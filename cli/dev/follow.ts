/**
 * `dev --remote`: the calls of a function on another platform, found by following its runs over
 * the API (`GET /runs?function=…&since=…`, then `GET /runs/:id` for each new run's logs). A run
 * appears once it ended; its logs come with it (no live lines: the API has no stream here).
 */
import type { ApiClient, ApiRunSummary } from '../client.js';
import type { RunView } from './calls.js';

export interface RunFollower {
  stop(): void;
}

export interface FollowOptions {
  client: ApiClient;
  /** The function to follow now (it may change when platform.yaml's name does). */
  functionName: () => string | null;
  intervalMs: number;
  /** Runs that started before this (Unix ms) are not shown. */
  since: number;
  onRun: (run: RunView) => void;
  onError: (err: Error) => void;
}

/** How far back each poll looks: a run is listed by its start, and appears when it ends. */
const LOOKBACK_MS = 15 * 60_000;

export function followRuns(options: FollowOptions): RunFollower {
  const seen = new Map<string, number>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failing = false;

  const poll = async (): Promise<void> => {
    const name = options.functionName();
    if (name === null) return;
    const since = Math.max(options.since, Date.now() - LOOKBACK_MS);
    const page = await options.client.listRuns({ function: name, limit: 100, since });
    const fresh = page.items.filter((r) => !seen.has(key(r))).reverse(); // oldest first
    for (const run of fresh) {
      seen.set(key(run), run.startedAt);
      if (stopped) return;
      // The list has no logs: the run itself does (a run that is gone meanwhile is shown without them).
      const full = await options.client.getRun(run.runId).catch(() => null);
      options.onRun({ ...run, logs: full !== null && 'logs' in full && Array.isArray(full.logs) ? full.logs : [] });
    }
    for (const [k, startedAt] of seen) if (startedAt < since) seen.delete(k);
  };

  const loop = (): void => {
    poll().then(
      () => {
        failing = false;
      },
      (err: unknown) => {
        // Reported once per outage, not once per poll.
        if (!failing) options.onError(err as Error);
        failing = true;
      },
    ).finally(() => {
      if (!stopped) timer = setTimeout(loop, options.intervalMs);
    });
  };
  loop();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

function key(run: ApiRunSummary): string {
  return `${run.runId}#${run.attempt}`;
}
