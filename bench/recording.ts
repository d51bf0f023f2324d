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
 * of each round's on ÷ off; and the CPU per request of the platform with its runtimes and, in
 * production, of redis-server and FerretDB (from /proc, around the measured run): on a shared
 * machine CPU per request is steadier than requests/s.
 * Target: recording costs ≤ 10 % of throughput (on ÷ off ≥ 0.90) in both modes.
 *
 * Storage (`--only storage`): the embedded platform under wrk for `--soak` seconds; the bytes the
 * state directory grew by (database, WAL), divided by the runs served. Target ≤ 100 B per run.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchOptions } from './args.js';
import { gatewayWithHello, HELLO_PATH, measure, withServer, type Load, type LoadRun, type MeasureHooks } from './load.js';
import { storesInNamespace } from './netns.js';
import { api, platformWithHello, type PlatformServer, type StoreMode } from './platform.js';
import { processCpuUs, treeCpuUs } from './proc-cpu.js';
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
  /** CPU µs per request during the measured run, medians of the rounds: the platform with its runtimes, and in production redis-server and FerretDB. */
  cpuUsPerRequest: { platform: number; redis?: number; ferret?: number };
  /** Median of the rounds' CPU per request (all of the above) ÷ the off run's (platform and runtimes). */
  cpuRatio: number;
}

export interface RecordingResult {
  /** One per round. */
  off: LoadRun[];
  offRequestsPerSec: number;
  /** CPU µs per request of the off runs (the gateway and its runtimes), median. */
  offCpuUsPerRequest: number;
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

/** CPU µs during a measured run: the server's process tree (platform and runtimes), redis-server, FerretDB. */
interface Cpu {
  platform: number;
  redis: number;
  ferret: number;
}

/** Reads the CPU times around the measured run (`stores`: also those processes). */
function cpuHooks(pid: number, stores: { redis: number; ferret: number } | undefined, done: (cpu: Cpu) => void): MeasureHooks {
  const read = (): Cpu => ({ platform: treeCpuUs(pid), redis: stores ? processCpuUs(stores.redis) : 0, ferret: stores ? processCpuUs(stores.ferret) : 0 });
  let before: Cpu | null = null;
  return {
    start: () => void (before = read()),
    end: () => {
      const after = read();
      if (before !== null) done({ platform: after.platform - before.platform, redis: after.redis - before.redis, ferret: after.ferret - before.ferret });
    },
  };
}

/** CPU per request of the run (zeros when it was not read). */
function perRequest(cpu: Cpu | null, run: LoadRun): Cpu {
  const n = Math.max(1, run.wrk.requests);
  return cpu === null ? { platform: 0, redis: 0, ferret: 0 } : { platform: cpu.platform / n, redis: cpu.redis / n, ferret: cpu.ferret / n };
}

interface Stores {
  mode: StoreMode & { store: 'production' };
  pids: { redis: number; ferret: number };
}

export async function recording(opts: BenchOptions): Promise<RecordingResult> {
  const load: Load = { connections: opts.connections, threads: opts.threads, durationS: opts.durationS, warmupS: opts.warmupS };
  const setting = opts.gatewaySettings[0]!;
  const builds: ('this' | 'compare')[] = opts.compare === null ? ['this'] : ['this', 'compare'];
  const mainOf = (build: 'this' | 'compare'): { main?: string } => (build === 'compare' ? { main: join(opts.compare!, 'dist', 'platform', 'main.js') } : {});
  const result: RecordingResult = { off: [], offRequestsPerSec: 0, offCpuUsPerRequest: 0, arms: [], compare: opts.compare };
  const cleanups: (() => Promise<void>)[] = [];
  const stores: Partial<Record<'co-located' | 'namespace', Stores>> = {};
  // The test helpers start and stop the real servers (and kill them if the bench is interrupted).
  const { startFerret, startRedis } = await import('../test/helpers/servers.js');
  try {
    const [redis, ferret] = await Promise.all([startRedis(), startFerret()]);
    cleanups.push(async () => void (await Promise.all([redis.destroy(), ferret.destroy()])));
    stores['co-located'] = { mode: { store: 'production', redisUrl: redis.url, mongoUrl: ferret.url }, pids: { redis: redis.pid, ferret: ferret.pid } };
  } catch (err) {
    result.productionSkipped = `redis-server or FerretDB did not start (bash scripts/services.sh): ${(err as Error).message.split('\n')[0]}`;
  }
  if (stores['co-located'] !== undefined) {
    try {
      const host = await storesInNamespace();
      cleanups.push(() => host.close());
      stores.namespace = { mode: { store: 'production', redisUrl: host.redisUrl, mongoUrl: host.mongoUrl }, pids: host.pids };
    } catch (err) {
      result.namespaceSkipped = `no network namespace for the stores (needs root and iproute2): ${(err as Error).message.split('\n')[0]}`;
    }
  }
  try {
    const kinds: RecordingArmKind[] = ['embedded', ...(['co-located', 'namespace'] as const).filter((k) => stores[k] !== undefined)];
    const arms = new Map<string, RecordingArm & { ratios: number[]; cpu: Cpu[] }>();
    const offCpu: number[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      let cpu: Cpu | null = null;
      const off = await withServer(() => gatewayWithHello(setting, opts.verbose), (s) => measure('recording off (directory mode)', s, load, round, cpuHooks(s.pid, undefined, (c) => (cpu = c))));
      result.off.push(off);
      offCpu.push(perRequest(cpu, off).platform);
      for (const kind of kinds) {
        // Alternate which build goes first, so drift of a shared machine does not favour one.
        for (const build of round % 2 === 1 ? builds : [...builds].reverse()) {
          const where = stores[kind as 'co-located' | 'namespace'];
          const mode: StoreMode = kind === 'embedded' ? { store: 'embedded' } : where!.mode;
          const label = `${build === 'compare' ? 'compare: ' : ''}${kind === 'embedded' ? 'on (SQLite)' : `on (Redis+Mongo, ${kind})`}`;
          let recorded = 0;
          let cpu: Cpu | null = null;
          const run = await withServer(() => platformWithHello(mode, setting, mainOf(build)), async (s) => {
            const r = await measure(label, s, load, round, cpuHooks(s.pid, where?.pids, (c) => (cpu = c)));
            recorded = await usageCount(s);
            return r;
          });
          const key = `${build}/${kind}`;
          let arm = arms.get(key);
          if (arm === undefined) {
            arms.set(key, (arm = { kind, build, label, runs: [], requestsPerSec: 0, ratio: 0, recordedInvocations: [], cpuUsPerRequest: { platform: 0 }, cpuRatio: 0, ratios: [], cpu: [] }));
          }
          arm.runs.push(run);
          arm.ratios.push(run.wrk.requestsPerSec / off.wrk.requestsPerSec);
          arm.recordedInvocations.push(recorded);
          arm.cpu.push(perRequest(cpu, run));
        }
      }
    }
    result.offRequestsPerSec = median(result.off.map((r) => r.wrk.requestsPerSec));
    result.offCpuUsPerRequest = median(offCpu);
    for (const { ratios, cpu, ...arm } of arms.values()) {
      const stores = arm.kind !== 'embedded';
      result.arms.push({
        ...arm,
        requestsPerSec: median(arm.runs.map((r) => r.wrk.requestsPerSec)),
        ratio: median(ratios),
        cpuUsPerRequest: {
          platform: median(cpu.map((c) => c.platform)),
          ...(stores ? { redis: median(cpu.map((c) => c.redis)), ferret: median(cpu.map((c) => c.ferret)) } : {}),
        },
        cpuRatio: median(cpu.map((c) => c.platform + c.redis + c.ferret)) / result.offCpuUsPerRequest,
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
