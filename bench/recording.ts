/**
 * Section 4: what recording runs costs warm throughput, and what a run costs on disk.
 *
 * Throughput: the same hello function with the same limits, under the same wrk load, served three
 * times in one invocation:
 * - recording off: directory mode (dist/platform/main.js --functions DIR; run records only go to
 *   an in-memory ring, the same hot path otherwise);
 * - the embedded default: the platform with its SQLite state directory, `hello` deployed through
 *   the API (bench/platform.ts);
 * - production mode: the platform against a real redis-server and FerretDB (started like the
 *   tests do, co-located on this machine).
 * Target: recording costs ≤ 10 % of throughput (on ÷ off ≥ 0.90) in both modes.
 *
 * Storage (`--only storage`): the embedded platform under wrk for `--soak` seconds; the bytes the
 * state directory grew by (database, WAL), divided by the runs served. Target ≤ 100 B per run.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchOptions } from './args.js';
import { gatewayWithHello, HELLO_PATH, measure, withServer, type Load, type LoadRun } from './load.js';
import { api, platformWithHello, type PlatformServer } from './platform.js';
import type { RunningServer } from './servers.js';
import { runWrk, wrkProblems } from './wrk.js';

export interface RecordingArm {
  run: LoadRun;
  /** on ÷ off requests per second. */
  ratio: number;
  /** Invocations the usage API counted after the run (warm-up and measured run): a check that recording ran. */
  recordedInvocations: number;
}

export interface RecordingResult {
  off: LoadRun;
  embedded: RecordingArm | null;
  production: RecordingArm | null;
  /** Why the production arm did not run (no redis-server or FerretDB), when it did not. */
  productionSkipped?: string;
}

async function usageCount(s: RunningServer): Promise<number> {
  const token = (s as PlatformServer).token;
  // Samples are folded per function-minute and written every 100 ms (live) / 5 s (rollups).
  await new Promise((r) => setTimeout(r, 1000));
  const usage = (await api(s, token, 'GET', '/functions/hello/usage?window=1h')) as { totals: { invocations: number } };
  return usage.totals.invocations;
}

export async function recording(opts: BenchOptions): Promise<RecordingResult> {
  const load: Load = { connections: opts.connections, threads: opts.threads, durationS: opts.durationS, warmupS: opts.warmupS };
  const setting = opts.gatewaySettings[0]!;
  const off = await withServer(() => gatewayWithHello(setting, opts.verbose), (s) => measure('recording off (directory mode)', s, load, 1));
  const arm = async (label: string, start: () => Promise<PlatformServer>): Promise<RecordingArm> => {
    let recordedInvocations = 0;
    const run = await withServer(start, async (s) => {
      const r = await measure(label, s, load, 1);
      recordedInvocations = await usageCount(s);
      return r;
    });
    return { run, ratio: run.wrk.requestsPerSec / off.wrk.requestsPerSec, recordedInvocations };
  };
  const embedded = await arm('recording on (SQLite)', () => platformWithHello({ store: 'embedded' }, setting));
  // The test helpers start and stop the real servers (and kill them if the bench is interrupted).
  const { startFerret, startRedis } = await import('../test/helpers/servers.js');
  let servers: [Awaited<ReturnType<typeof startRedis>>, Awaited<ReturnType<typeof startFerret>>];
  try {
    servers = await Promise.all([startRedis(), startFerret()]);
  } catch (err) {
    return { off, embedded, production: null, productionSkipped: `redis-server or FerretDB did not start (bash scripts/services.sh): ${(err as Error).message.split('\n')[0]}` };
  }
  const [redis, ferret] = servers;
  try {
    const production = await arm('recording on (Redis+Mongo)', () => platformWithHello({ store: 'production', redisUrl: redis.url, mongoUrl: ferret.url }, setting));
    return { off, embedded, production };
  } finally {
    await Promise.all([redis.destroy(), ferret.destroy()]);
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
