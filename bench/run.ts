/**
 * The benchmark: `npm run build && node dist/bench/run.js [--quick]`. See bench/README.md.
 *
 * All three measurements in one run on one machine, each next to its baseline:
 * 1. warm throughput and latency under load: gateway vs uvicorn + FastAPI;
 * 2. latency at one connection: gateway vs a bare uWebSockets.js server (the added latency);
 * 3. cold start: a pool runtime specialized on demand vs a fresh Python process;
 * 4. recording: warm throughput with runs recorded into Redis + MongoDB vs recording off;
 * 8. the rate limiter: warm throughput of a rate-limited function vs the same one without a limit
 *    (embedded and production; bench/limiter.ts).
 * Prints one table (stdout; progress goes to stderr) and writes bench/results/<timestamp>.json.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseBenchArgs, USAGE, type BenchOptions, type Section } from './args.js';
import { gatewayCold, pythonBaseline, type GatewayCold, type PythonBaseline } from './cold.js';
import { poolCold, type PoolColdPair } from './cold-pool.js';
import { fairness, type FairnessResult } from './fairness.js';
import { requireGatewayBuild } from './gateway.js';
import { limiter, type LimiterResult } from './limiter.js';
import { latency, throughput, type LatencyResult, type ThroughputResult } from './load.js';
import { describeMachine, type Machine } from './machine.js';
import { recording, type RecordingResult } from './recording.js';
import { PYTHON, RESULTS_DIR, UWS_HELLO } from './paths.js';
import { buildRows, header, type Results } from './table.js';
import { renderMarkdown, renderTable } from './report.js';
import { requireWrk } from './wrk.js';

async function section<T>(name: Section, errors: Results['errors'], body: () => Promise<T>): Promise<T | null> {
  try {
    return await body();
  } catch (err) {
    const message = (err as Error).message;
    console.error(`  ${name}: FAILED: ${message}`);
    errors.push({ section: name, message });
    return null;
  }
}

function preflight(): string {
  const wrk = requireWrk();
  if (!existsSync(PYTHON)) throw new Error(`no Python virtual environment at ${PYTHON}: see runtime/requirements-dev.txt`);
  if (!existsSync(UWS_HELLO)) throw new Error(`${UWS_HELLO} is missing: run npm run build first`);
  requireGatewayBuild(); // every section runs the gateway
  return wrk;
}

async function main(): Promise<number> {
  let opts: BenchOptions | 'help';
  try {
    opts = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    console.log(USAGE);
    return 0;
  }
  let wrkVersion: string;
  try {
    wrkVersion = preflight();
  } catch (err) {
    console.error(`bench: ${(err as Error).message}`);
    return 2;
  }
  const machine: Machine = describeMachine(wrkVersion);
  const startedAt = new Date();
  console.error(
    `bench: ${machine.cpus} × ${machine.cpuModel}, load ${machine.loadavg.join(' ')}, node ${machine.node}, python ${machine.python}` +
      (opts.quick ? ' (quick)' : ''),
  );
  if ((machine.loadavg[0] ?? 0) > machine.cpus * 0.5) {
    console.error(`bench: warning: the machine is busy (1-minute load ${machine.loadavg[0]} on ${machine.cpus} CPUs); figures will be noisy`);
  }
  const errors: Results['errors'] = [];
  let tp: ThroughputResult | null = null;
  let lat: LatencyResult | null = null;
  let baseline: PythonBaseline | null = null;
  let gw: GatewayCold | null = null;
  let pool: PoolColdPair | null = null;
  let rec: RecordingResult | null = null;
  let fair: FairnessResult | null = null;
  let lim: LimiterResult | null = null;

  if (opts.sections.includes('throughput')) {
    console.error(`1. warm throughput: wrk -c${opts.connections} -t${opts.threads} ${opts.durationS}s (after ${opts.warmupS}s warm-up)`);
    tp = await section('throughput', errors, () => throughput(opts as BenchOptions));
  }
  if (opts.sections.includes('latency')) {
    console.error(`2. added latency: wrk -c1 -t1 ${opts.latencyDurationS}s (after ${opts.warmupS}s warm-up)`);
    lat = await section('latency', errors, () => latency(opts as BenchOptions));
  }
  if (opts.sections.includes('cold')) {
    console.error(`3. cold start: ${opts.coldN} fresh versions each, pool refilled to ${opts.coldPoolSize} before every call`);
    baseline = await section('cold', errors, () => pythonBaseline((opts as BenchOptions).coldN));
    if (baseline) console.error(`  python spawn         p50 ${baseline.wall.summary.p50.toFixed(2)} ms  p99 ${baseline.wall.summary.p99.toFixed(2)} ms`);
    pool = await section('cold', errors, () => poolCold(opts as BenchOptions));
    if (pool) {
      console.error(`  PoolManager.invoke   p50 ${pool.sandboxed.wall.summary.p50.toFixed(2)} ms  p99 ${pool.sandboxed.wall.summary.p99.toFixed(2)} ms (sandbox ${pool.mode})`);
      console.error(`  … sandbox off        p50 ${pool.unsandboxed.wall.summary.p50.toFixed(2)} ms  p99 ${pool.unsandboxed.wall.summary.p99.toFixed(2)} ms`);
    }
    gw = await section('cold', errors, () => gatewayCold(opts as BenchOptions));
    if (gw) console.error(`  gateway (client)     p50 ${gw.wall.summary.p50.toFixed(2)} ms  p99 ${gw.wall.summary.p99.toFixed(2)} ms`);
  }

  if (opts.sections.includes('recording')) {
    console.error(`4. recording: wrk -c${opts.connections} -t${opts.threads} ${opts.durationS}s, gateway (recording off) vs platform in production mode (Redis + FerretDB)`);
    rec = await section('recording', errors, () => recording(opts as BenchOptions));
    if (rec) console.error(`  on ÷ off             ${rec.ratio.toFixed(3)} (recording costs ${((1 - rec.ratio) * 100).toFixed(1)} %)`);
  }

  if (opts.sections.includes('fairness')) {
    console.error('5. CPU fairness: a trivial function called alone, then while another keeps 8 instances busy burning CPU');
    fair = await section('fairness', errors, () => fairness(opts as BenchOptions));
    if (fair) {
      for (const a of [fair.sandboxed, fair.unsandboxed]) {
        console.error(`  sandbox ${a.mode.padEnd(5)}  victim p50 ${a.alone.p50.toFixed(2)} → ${a.loaded.p50.toFixed(2)} ms (${a.slowdown.toFixed(1)}×), p99 ${a.alone.p99.toFixed(2)} → ${a.loaded.p99.toFixed(2)} ms`);
      }
    }
  }

  if (opts.sections.includes('limiter')) {
    console.error(`8. rate limiter: wrk -c${opts.connections} -t${opts.threads} ${opts.durationS}s, a rate-limited function vs the same without a limit, interleaved (embedded, then production)`);
    lim = await section('limiter', errors, () => limiter(opts as BenchOptions));
    for (const m of lim?.modes ?? []) console.error(`  ${m.mode.padEnd(10)} on ÷ off  ${m.ratio.toFixed(3)} (the limiter costs ${((1 - m.ratio) * 100).toFixed(1)} %)`);
    for (const f of lim?.failures ?? []) errors.push({ section: `limiter (${f.mode})`, message: f.message });
  }

  const results: Results = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options: opts,
    machine: { ...machine, loadavgAfter: describeMachine(wrkVersion).loadavg },
    throughput: tp,
    latency: lat,
    cold: { baseline, pool, gateway: gw },
    recording: rec,
    fairness: fair,
    limiter: lim,
    rows: [],
    markdown: '',
    errors,
  };
  results.rows = buildRows(results);
  results.markdown = renderMarkdown(header, results.rows.map((r) => r.cells));
  console.log('');
  console.log(renderTable(header, results.rows.map((r) => r.cells)));
  for (const note of results.rows.flatMap((r) => (r.note ? [r.note] : []))) console.log(`  ${note}`);
  if (errors.length > 0) {
    console.log('');
    for (const e of errors) console.log(`  ${e.section} FAILED: ${e.message.split('\n')[0]}`);
  }
  const outDir = opts.outDir ?? RESULTS_DIR;
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nresults: ${file}`);
  return errors.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
