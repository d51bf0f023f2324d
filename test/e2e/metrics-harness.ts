/**
 * Shared pieces of the /metrics end-to-end tests: the families every platform serves (name →
 * type), async calls and waiting for their runs to settle.
 */
import assert from 'node:assert/strict';
import type { Exposition, PromType } from '../helpers/prom-text.js';
import { sleep, type Api } from './platform-harness.js';

/** Every family of a platform's /metrics (gateway, async wing, run sink, process). */
export const PLATFORM_FAMILIES: Readonly<Record<string, PromType>> = {
  fp_invocations_total: 'counter',
  fp_invocations_refused_total: 'counter',
  fp_invocation_duration_seconds: 'histogram',
  fp_cold_starts_total: 'counter',
  fp_runs_dropped_total: 'counter',
  fp_pool_runtimes: 'gauge',
  fp_function_instances: 'gauge',
  fp_function_queued: 'gauge',
  fp_async_queue_depth: 'gauge',
  fp_async_queue_oldest_age_seconds: 'gauge',
  fp_async_dispatch_lag_seconds: 'histogram',
  fp_async_attempts_total: 'counter',
  fp_async_dead_letters_total: 'counter',
  fp_async_runs_cancelled_total: 'counter',
  fp_cron_ticks_total: 'counter',
  fp_webhook_verdicts_total: 'counter',
  fp_run_sink_buffered_records: 'gauge',
  fp_run_sink_flushed_records_total: 'counter',
  fp_run_sink_flush_duration_seconds: 'histogram',
  fp_run_sink_refused_records_total: 'counter',
  // prom-client's default metrics, standard names (a sample of them)
  process_cpu_user_seconds_total: 'counter',
  process_cpu_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
  process_start_time_seconds: 'gauge',
  nodejs_eventloop_lag_seconds: 'gauge',
  nodejs_heap_size_used_bytes: 'gauge',
  nodejs_gc_duration_seconds: 'histogram',
};

/** Asserts every platform family is served with its type. */
export function assertPlatformFamilies(exposition: Exposition): void {
  for (const [name, type] of Object.entries(PLATFORM_FAMILIES)) {
    assert.equal(exposition.get(name)?.type, type, `${name} is served as a ${type}`);
  }
}

/** `POST /async/<name>/`: the run id of the 202. */
export async function fireAsync(url: string, name: string, body = '{}'): Promise<string> {
  const res = await fetch(`${url}/async/${name}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const parsed = (await res.json()) as { runId?: string };
  assert.equal(res.status, 202, JSON.stringify(parsed));
  return parsed.runId!;
}

/** Waits for the run's final state (succeeded, failed or cancelled). */
export async function settled(api: Api, runId: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.call('GET', `/runs/${runId}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const state = res.body.run.state as string;
    if (['succeeded', 'failed', 'cancelled'].includes(state)) return state;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${state}`);
    await sleep(100);
  }
}

/** Waits until `check` passes (re-scraping through `read`), or fails with its last error. */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => void, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    try {
      check(value);
      return value;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await sleep(100);
  }
}
