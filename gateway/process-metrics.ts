/**
 * The process's own metrics: prom-client's default set (CPU, resident memory, heap, event-loop
 * lag, GC, open file descriptors, handles) under their standard names (`process_*`, `nodejs_*`),
 * not prefixed `fp_`: they describe the Node.js process, not the platform, and stock dashboards
 * and alert rules expect those names (decision in docs/gateway.md, "Metrics").
 *
 * One set per process, made on first use and shared by every gateway the process runs (tests run
 * several): the values are the process's anyway, and each `collectDefaultMetrics` call starts an
 * event-loop delay monitor and a GC observer that are never stopped. It lives in its own
 * Registry (prom-client's global one is never used), merged into a gateway's at scrape time.
 *
 * The event-loop delay monitor samples every EVENT_LOOP_MONITORING_PRECISION_MS (prom-client's
 * default, 10 ms, woke an idle platform ~100 times a second): ADR 0268.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

/** How often the `nodejs_eventloop_lag_*` histogram samples (ms); each sample includes it. */
export const EVENT_LOOP_MONITORING_PRECISION_MS = 50;

let shared: Registry | null = null;

export function processRegistry(): Registry {
  if (shared === null) {
    shared = new Registry();
    collectDefaultMetrics({
      register: shared,
      eventLoopMonitoringPrecision: EVENT_LOOP_MONITORING_PRECISION_MS,
    });
  }
  return shared;
}
