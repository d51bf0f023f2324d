/**
 * Loaded into the platform with `node --import` by bench/tail.ts (issue 11, the tails): stamps what
 * holds the gateway's event loop besides requests, in CLOCK_MONOTONIC nanoseconds
 * (`process.hrtime.bigint()`, the clock the bench's client stamps requests with):
 *
 * - every GC pause (`PerformanceObserver` gc entries: start, duration, kind);
 * - every `setTimeout`/`setInterval`/`setImmediate` callback that ran longer than 100 µs, with the
 *   process's CPU time over it (wall ≫ CPU: the thread was preempted, not busy) and where it was
 *   scheduled (function name and two stack frames, taken once per function).
 *
 * SIGUSR2 writes what was gathered since the last SIGUSR2 to `FP_TAIL_OUT` as JSON and starts over.
 * A bench tool only: the platform never loads it.
 */
import { writeFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';

/** [kind, start ns, wall µs, label, CPU µs]; kind 'gc' has the GC's kind (1 minor, 2 major, 4 incremental, 8 weak callbacks) as label. */
export type TailEvent = [string, string, number, string | number, number];

const out = process.env['FP_TAIL_OUT'];
let events: TailEvent[] = [];
const SLOW_NS = 100_000n;

new PerformanceObserver((list) => {
  const hr = process.hrtime.bigint();
  const now = performance.now();
  for (const entry of list.getEntries()) {
    const start = hr - BigInt(Math.round((now - entry.startTime) * 1e6));
    const kind = ((entry as unknown as { detail?: { kind?: number } }).detail)?.kind ?? 0;
    events.push(['gc', String(start), Math.round(entry.duration * 1e3), kind, -1]);
  }
}).observe({ entryTypes: ['gc'] });

const labels = new WeakMap<object, string>();
/** Labels by the callback's source text: a closure made per call (`() => this.kick()`) is a new function each time, one text. */
const bySource = new Map<string, string>();
function label(fn: object & { name?: string }): string {
  let name = labels.get(fn);
  if (name === undefined) {
    const source = Function.prototype.toString.call(fn).slice(0, 200);
    name = bySource.get(source);
    if (name === undefined) {
      // A stack trace once per callback text: taking one per call (~50-100 µs) was most of what the first
      // version of this shim measured in the callbacks that schedule timers.
      const frames = (new Error().stack ?? '').split('\n').slice(3, 5).map((line) => line.trim().replace(/^at /, '').replace(/file:\/\/\S*?\/dist\//, ''));
      name = `${fn.name || 'anonymous'} @ ${frames.join(' < ')}`;
      bySource.set(source, name);
    }
    labels.set(fn, name);
  }
  return name;
}

type Scheduler = (callback: (...args: unknown[]) => unknown, ...rest: unknown[]) => unknown;
for (const which of ['setTimeout', 'setInterval', 'setImmediate'] as const) {
  const original = globalThis[which] as unknown as Scheduler;
  const wrapped: Scheduler = function (this: unknown, callback, ...rest) {
    if (typeof callback !== 'function') return original.call(this, callback, ...rest);
    const where = label(callback);
    return original.call(this, function (this: unknown, ...args: unknown[]) {
      const t0 = process.hrtime.bigint();
      const cpu0 = process.cpuUsage();
      try {
        return callback.apply(this, args);
      } finally {
        const wall = process.hrtime.bigint() - t0;
        if (wall > SLOW_NS) {
          const cpu = process.cpuUsage(cpu0);
          events.push([which, String(t0), Math.round(Number(wall) / 1e3), where, cpu.user + cpu.system]);
        }
      }
    }, ...rest);
  };
  (globalThis as unknown as Record<string, unknown>)[which] = Object.assign(wrapped, original);
}

process.on('SIGUSR2', () => {
  if (out !== undefined) writeFileSync(out, JSON.stringify(events));
  events = [];
});
