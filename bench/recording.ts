/**
 * Section 4: what recording runs costs warm throughput, and what a run costs on disk.
 *
 * Throughput: the same hello function with the same limits, under the same wrk load, served by
 * each arm in turn, every round (`--rounds`), in one invocation:
 * - recording off: directory mode (dist/platform/main.js --functions DIR; run records only go to
 *   an in-memory ring, the same hot path otherwise);
 * - the embedded default: the platform with its SQLite state directory, `hello` deployed through
 *   the API (bench/platform.ts);
 * - production mode, co-located: the platform against a real redis-server and FerretDB on
 *   127.0.0.1 (started like the tests do);
 * - production mode, separate namespace: the same servers in a network namespace of their own,
 *   reached over a veth pair (bench/netns.ts: another "host" on the network, the same CPUs).
 * With `--compare DIR` the on arms run for that build too, in the same rounds (its off arm is this
 * build's: the hot path is the same). Per arm: the median requests/s of the rounds and the median
 * of each round's on ÷ off; for production, the CPU Redis and FerretDB spent per request.
 * Target: recording costs ≤ 10 % of throughput (on ÷ off ≥ 0.90) in both modes.
 *
 * Storage (`--only storage`): the embedded platform under wrk for `--soak` seconds; the bytes the
 * state directory grew by (database, WAL), divided by the runs served. Target ≤ 100 B per run.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchOptions } from './args.js';
import { gatewayWithHello, HELLO_PATH, measure, withServer, type Load, type LoadRun } from './load.js';
import { storesInNamespace } from './netns.js';
import { api, platformWithHello, type PlatformServer, type StoreMode } from './platform.js';
import { processCpuUs } from './proc-cpu.js';
import type { RunningServer } from './servers.js';
import { median } from './stats.js';
import { runWrk, wrkProblems } from './wrk.js';

export type RecordingArmKind = 'embedded' | 'co-located' | 'namespace';

export interface RecordingArm {
  kind: RecordingArmKind;
  /** `this` tree, or the `--compare` checkout. */
  build: 'this' | 'compare';
  label: string;
  /** One per round. */
  runs: LoadRun[];
  /** Median requests/s of the rounds. */
  requestsPerSec: number;
  /** Median of the rounds' on ÷ off (each round's own off run). */
  ratio: number;
  /** Invocations the usage API counted after each run (warm-up and measured run): a check that recording ran. */
  recordedInvocations: number[];
  /** Production: CPU µs per request of redis-server and FerretDB during the measured run, median of the rounds. */
  storesCpuUsPerRequest?: { redis: number; ferret: number };
}

export interface RecordingResult {
  /** One per round. */
  off: LoadRun[];
  offRequestsPerSec: number;
  arms: RecordingArm[];
  /** The `--compare` checkout, when given. */
  compare: string | null;
  /** Why the production arms did not run (no redis-server or FerretDB), when they did not. */
  productionSkipped?: string;
  /** Why the separate-namespace arm did not run (no root, no `ip`), when it did not. */
  namespaceSkipped?: string;
}

async function usageCount(s: RunningServer): Promise<number> {
  const token = (s as PlatformServer).token;
  // Samples are folded per function-minute and written every 100 ms (live) / 5 s (rollups).
  await new Promise((r) => setTimeout(r, 1000));
  const usage = (await api(s, token, 'GET', '/functions/hello/usage?window=1h')) as { totals: { invocations: number } };
  return usage.totals.invocations;
}

interface Stores {
  mode: StoreMode & { store: 'production' };
  pids: { redis: number; ferret: number };
  close(): Promise<void>;
}

export async function recording(opts: BenchOptions): Promise<RecordingResult> {
  const load: Load = { connections: opts.connections, threads: opts.threads, durationS: opts.durationS, warmupS: opts.warmupS };
  const setting = opts.gatewaySettings[0]!;
  const builds: ('this' | 'compare')[] = opts.compare === null ? ['this'] : ['this', 'compare'];
  const mainOf = (build: 'this' | 'compare'): { main?: string } => (build === 'compare' ? { main: join(opts.compare!, 'dist', 'platform', 'main.js') } : {});
  const result: RecordingResult = { off: [], offRequestsPerSec: 0, arms: [], compare: opts.compare };
  const cleanups: (() => Promise<void>)[] = [];
  const stores: Partial<Record<'co-located' | 'namespace', Stores>> = {};
  // The test helpers start and stop the real servers (and kill them if the bench is interrupted).
  const { startFerret, startRedis } = await import('../test/helpers/servers.js');
  try {
    const [redis, ferret] = await Promise.all([startRedis(), startFerret()]);
    cleanups.push(async () => void (await Promise.all([redis.destroy(), ferret.destroy()])));
    stores['co-located'] = { mode: { store: 'production', redisUrl: redis.url, mongoUrl: ferret.url }, pids: { redis: redis.pid, ferret: ferret.pid }, close: async () => {} };
  } catch (err) {
    result.productionSkipped = `redis-server or FerretDB did not start (bash scripts/services.sh): ${(err as Error).message.split('\n')[0]}`;
  }
  if (stores['co-located'] !== undefined) {
    try {
      const host = await storesInNamespace();
      cleanups.push(() => host.close());
      stores.namespace = { mode: { store: 'production', redisUrl: host.redisUrl, mongoUrl: host.mongoUrl }, pids: host.pids, close: () => host.close() };
    } catch (err) {
      result.namespaceSkipped = `no network namespace for the stores (needs root and iproute2): ${(err as Error).message.split('\n')[0]}`;
    }
  }
  try {
    const kinds: RecordingArmKind[] = ['embedded', ...(['co-located', 'namespace'] as const).filter((k) => stores[k] !== undefined)];
    const arms = new Map<string, RecordingArm & { ratios: number[]; stores: { redis: number; ferret: number }[] }>();
    for (let round = 1; round <= opts.rounds; round++) {
      const off = await withServer(() => gatewayWithHello(setting, opts.verbose), (s) => measure('recording off (directory mode)', s, load, round));
      result.off.push(off);
      for (const kind of kinds) {
        // Alternate which build goes first, so drift of a shared machine does not favour one.
        for (const build of round % 2 === 1 ? builds : [...builds].reverse()) {
          const where = stores[kind as 'co-located' | 'namespace'];
          const mode: StoreMode = kind === 'embedded' ? { store: 'embedded' } : where!.mode;
          const label = `${build === 'compare' ? 'compare: ' : ''}${kind === 'embedded' ? 'on (SQLite)' : `on (Redis+Mongo, ${kind})`}`;
          let recorded = 0;
          let storesCpu: { redis: number; ferret: number } | null = null;
          const run = await withServer(() => platformWithHello(mode, setting, mainOf(build)), async (s) => {
            const before = where === undefined ? null : { redis: processCpuUs(where.pids.redis), ferret: processCpuUs(where.pids.ferret) };
            const r = await measure(label, s, load, round);
            if (before !== null && where !== undefined) {
              // Warm-up included in the CPU: divided by the requests of both.
              const requests = Math.max(1, r.wrk.requests * (1 + load.warmupS / load.durationS));
              storesCpu = { redis: (processCpuUs(where.pids.redis) - before.redis) / requests, ferret: (processCpuUs(where.pids.ferret) - before.ferret) / requests };
            }
            recorded = await usageCount(s);
            return r;
          });
          const key = `${build}/${kind}`;
          let arm = arms.get(key);
          if (arm === undefined) arms.set(key, (arm = { kind, build, label, runs: [], requestsPerSec: 0, ratio: 0, recordedInvocations: [], ratios: [], stores: [] }));
          arm.runs.push(run);
          arm.ratios.push(run.wrk.requestsPerSec / off.wrk.requestsPerSec);
          arm.recordedInvocations.push(recorded);
          if (storesCpu !== null) arm.stores.push(storesCpu);
        }
      }
    }
    result.offRequestsPerSec = median(result.off.map((r) => r.wrk.requestsPerSec));
    for (const { ratios, stores: cpu, ...arm } of arms.values()) {
      result.arms.push({
        ...arm,
        requestsPerSec: median(arm.runs.map((r) => r.wrk.requestsPerSec)),
        ratio: median(ratios),
        ...(cpu.length > 0 ? { storesCpuUsPerRequest: { redis: median(cpu.map((c) => c.redis)), ferret: median(cpu.map((c) => c.ferret)) } } : {}),
      });
    }
    return result;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}

export interface StorageResult {
  seconds: number;
  /** Requests wrk completed (warm-up included: every one is a run). */
  runs: number;
  /** Bytes the state directory grew by over the soak (files under it, by size). */
  grewBytes: number;
  bytesPerRun: number;
  requestsPerSec: number;
  problems: string[];
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await dirBytes(path);
    else if (entry.isFile()) total += (await stat(path)).size;
  }
  return total;
}

/** The embedded platform under load for `seconds`: bytes on disk per run. */
export async function storage(opts: BenchOptions): Promise<StorageResult> {
  const setting = opts.gatewaySettings[0]!;
  const seconds = opts.soakS;
  return withServer(() => platformWithHello({ store: 'embedded' }, setting), async (s) => {
    const server = s as PlatformServer;
    const url = `http://127.0.0.1:${server.port}${HELLO_PATH}`;
    const before = await dirBytes(server.stateDir);
    const wrk = await runWrk({ url, connections: opts.connections, threads: opts.threads, durationS: seconds });
    // Let the recorders write what they hold (runs every 100 ms, rollups every 5 s).
    await new Promise((r) => setTimeout(r, 6000));
    const grewBytes = (await dirBytes(server.stateDir)) - before;
    return { seconds, runs: wrk.requests, grewBytes, bytesPerRun: grewBytes / Math.max(1, wrk.requests), requestsPerSec: wrk.requestsPerSec, problems: wrkProblems(wrk) };
  });
}
