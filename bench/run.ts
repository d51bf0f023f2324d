/**
 * The benchmark: `npm run build && node dist/bench/run.js [--quick]`. See bench/README.md.
 *
 * All three measurements in one run on one machine, each next to its baseline:
 * 1. warm throughput and latency under load: gateway vs uvicorn + FastAPI;
 * 2. latency at one connection: gateway vs a bare uWebSockets.js server (the added latency);
 * 3. cold start: a pool runtime specialized on demand vs a fresh Python process;
 * 4. recording: warm throughput with runs recorded (SQLite; Redis + MongoDB) vs recording off, and
 *    (4b, `storage`) bytes on disk per run;
 * 5. CPU fairness between functions, sandbox vs no sandbox;
 * 6. a FastAPI app: the platform vs uvicorn, at one connection and under load;
 * 7. the run sink: one record() call with Redis or MongoDB down vs with both up;
 * 8. `dev`: save → new code answers; 9. `deploy` → first call with it (with --compare: another
 * checkout side by side); 10. (only named) a fresh clone → first invoke.
 * 11. the rate limiter: warm throughput of a rate-limited function vs the same one without a limit
 *     (embedded and production; bench/limiter.ts).
 * Prints one table (stdout; progress goes to stderr) and writes bench/results/<timestamp>.json.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseBenchArgs, USAGE, type BenchOptions, type Section } from './args.js';
import { gatewayCold, pythonBaseline, type GatewayCold, type PythonBaseline } from './cold.js';
import { poolCold, type PoolColdPair } from './cold-pool.js';
import { depsCold, type DepsCold } from './cold-deps.js';
import { zygoteCold, type ZygoteCold } from './cold-zygote.js';
import { templateCold, type TemplateCold } from './cold-template.js';
import { fairness, type FairnessResult } from './fairness.js';
import { fastapiApp, type FastapiResult } from './fastapi.js';
import { devLoop, type DevLoopResult } from './dev-loop.js';
import { deployLoop, type DeployLoopResult } from './deploy-loop.js';
import { freshClone, type FreshCloneResult } from './fresh-clone.js';
import { requireGatewayBuild } from './gateway.js';
import { limiter, type LimiterResult } from './limiter.js';
import { latency, throughput, type LatencyResult, type ThroughputResult } from './load.js';
import { describeMachine, type Machine } from './machine.js';
import { recording, storage, type RecordingResult, type StorageResult } from './recording.js';
import { sink, type SinkResult } from './sink.js';
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
  let deps: DepsCold | null = null;
  let zygotes: ZygoteCold | null = null;
  let templates: TemplateCold | null = null;
  let rec: RecordingResult | null = null;
  let store: StorageResult | null = null;
  let fair: FairnessResult | null = null;
  let lim: LimiterResult | null = null;
  let fastapi: FastapiResult | null = null;
  let sinkResult: SinkResult | null = null;
  let dev: DevLoopResult | null = null;
  let deploy: DeployLoopResult | null = null;
  let fresh: FreshCloneResult | null = null;

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
    deps = await section('cold', errors, () => depsCold(opts as BenchOptions));
    if (deps?.skipped) console.error(`  with dependencies    skipped: ${deps.skipped}`);
    else if (deps) {
      console.error(`  5 dependencies       p50 ${deps.deps.summary.p50.toFixed(2)} ms  p99 ${deps.deps.summary.p99.toFixed(2)} ms (none: p50 ${deps.none.summary.p50.toFixed(2)} ms; built once in ${(deps.buildMs / 1000).toFixed(1)} s)`);
      console.error(`  … without bytecode   p50 ${deps.depsNoBytecode.summary.p50.toFixed(2)} ms  p99 ${deps.depsNoBytecode.summary.p99.toFixed(2)} ms`);
      console.error(`  python spawn+imports p50 ${deps.pythonSpawn.summary.p50.toFixed(2)} ms  p99 ${deps.pythonSpawn.summary.p99.toFixed(2)} ms`);
    }
  }

  if (opts.sections.includes('zygotes')) {
    console.error(`3. zygotes: fork vs spawn, ${opts.coldN} runtimes and empty-pool cold starts each, FastAPI cold starts with the preset vs the default`);
    zygotes = await section('zygotes', errors, () => zygoteCold(opts as BenchOptions));
    if (zygotes) {
      const z = zygotes;
      console.error(`  generic ready        fork p50 ${z.ready.fork.summary.p50.toFixed(2)} ms  spawn p50 ${z.ready.spawn.summary.p50.toFixed(2)} ms (sandbox ${z.mode})`);
      console.error(`  idle runtime USS     fork ${(z.uss.fork / 1048576).toFixed(2)} MiB (runtime alone ${(z.uss.forkRuntime / 1048576).toFixed(2)})  spawn ${(z.uss.spawn / 1048576).toFixed(2)} MiB (runtime alone ${(z.uss.spawnRuntime / 1048576).toFixed(2)})`);
      console.error(`  empty-pool cold      fork p50 ${z.emptyPool.fork.summary.p50.toFixed(2)} ms  spawn p50 ${z.emptyPool.spawn.summary.p50.toFixed(2)} ms`);
      console.error(`  FastAPI cold         preset p50 ${z.fastapi.preset.summary.p50.toFixed(2)} ms  default p50 ${z.fastapi.default.summary.p50.toFixed(2)} ms  with a site of the preset's versions p50 ${z.fastapi.sameSite?.summary.p50.toFixed(2) ?? '-'} ms`);
      if (z.bound) console.error(`  bound handler cold   its preset p50 ${z.bound.preset.summary.p50.toFixed(2)} ms  default preset (pool, imports pymongo) p50 ${z.bound.default.summary.p50.toFixed(2)} ms`);
    }
  }

  if (opts.sections.includes('templates')) {
    console.error(`3c. templates: scale-out of a function with a 400 ms import, forked from its template vs specialized on a pool runtime, ${opts.coldN} each`);
    templates = await section('templates', errors, () => templateCold(opts as BenchOptions));
    if (templates) {
      const t = templates;
      console.error(`  scale-out            template p50 ${t.template.summary.p50.toFixed(2)} ms  p99 ${t.template.summary.p99.toFixed(2)} ms  generic p50 ${t.generic.summary.p50.toFixed(2)} ms  p99 ${t.generic.summary.p99.toFixed(2)} ms (sandbox ${t.mode}; not forked: ${t.notForked})`);
    }
  }

  if (opts.sections.includes('recording')) {
    console.error(`4. recording: wrk -c${opts.connections} -t${opts.threads} ${opts.durationS}s, ${opts.rounds} round(s): directory mode (recording off) vs the platform embedded (SQLite) and in production mode (Redis + FerretDB co-located, and in a separate network namespace)${opts.compare ? `; side by side with ${opts.compare}` : ''}`);
    rec = await section('recording', errors, () => recording(opts as BenchOptions));
    for (const a of rec?.arms ?? []) {
      console.error(`  on ÷ off (${a.build === 'compare' ? 'compare, ' : ''}${a.kind})`.padEnd(34) + `${a.ratio.toFixed(3)} (recording costs ${((1 - a.ratio) * 100).toFixed(1)} %); CPU per request ${a.cpuRatio.toFixed(3)}× off's`);
    }
    if (rec?.namespaceSkipped) console.error(`  separate namespace   skipped: ${rec.namespaceSkipped}`);
    if (rec?.productionSkipped) console.error(`  production           skipped: ${rec.productionSkipped}`);
  }
  if (opts.sections.includes('storage')) {
    console.error(`4b. storage per run: the embedded platform under wrk -c${opts.connections} for ${opts.soakS} s, state directory growth ÷ runs`);
    store = await section('storage', errors, () => storage(opts as BenchOptions));
    if (store) console.error(`  ${store.runs} runs, state dir +${store.grewBytes} bytes: ${store.bytesPerRun.toFixed(1)} B/run`);
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

  if (opts.sections.includes('fastapi')) {
    console.error(`6. a FastAPI app (bench/fixtures/shop): wrk -c1 ${opts.latencyDurationS}s and -c${opts.connections} -t${opts.threads} ${opts.durationS}s with mix.lua, platform vs uvicorn`);
    fastapi = await section('fastapi', errors, () => fastapiApp(opts as BenchOptions));
  }

  if (opts.sections.includes('sink')) {
    console.error('7. run sink: record() with Redis and FerretDB up, then with each down (real servers)');
    sinkResult = await section('sink', errors, () => sink(opts as BenchOptions));
    if (sinkResult) {
      for (const a of [sinkResult.up, sinkResult.redisDown, sinkResult.ferretDown]) {
        console.error(`  ${`${a.down} down`.padEnd(16)} record() p50 ${a.callUs.p50.toFixed(1)} µs  p99 ${a.callUs.p99.toFixed(1)} µs  max ${a.callUs.max.toFixed(0)} µs`);
      }
    }
  }
  if (opts.sections.includes('dev')) {
    console.error(`8. dev: ${opts.devSaves} saves of a one-line change, each → the next call answering with it (${opts.devPauseMs} ms between saves)`);
    dev = await section('dev', errors, () => devLoop(opts as BenchOptions));
    if (dev) console.error(`  save → new code answers  p50 ${dev.saveToAnswer.summary.p50.toFixed(0)} ms  p95 ${dev.saveToAnswer.summary.p95.toFixed(0)} ms  (reload p50 ${dev.reload.summary.p50.toFixed(0)} ms)`);
  }
  if (opts.sections.includes('deploy')) {
    console.error(`9. deploy: ${opts.deployRounds} one-line changes, each deployed by a new CLI process → the first call answering with it${opts.compare ? `; side by side with ${opts.compare}` : ''}`);
    deploy = await section('deploy', errors, () => deployLoop(opts as BenchOptions));
    for (const c of deploy?.checkouts ?? []) {
      console.error(`  ${c.label.padEnd(20)} p50 ${c.total.summary.p50.toFixed(0)} ms  p95 ${c.total.summary.p95.toFixed(0)} ms  (deploy ${c.deploy.summary.p50.toFixed(0)}, CLI start ${c.cliStart.summary.p50.toFixed(0)}, validate ${c.validate.summary.p50.toFixed(0)} ms)`);
    }
  }
  if (opts.sections.includes('fresh')) {
    console.error(`10. fresh clone → first invoke by \`npm start\`, ${opts.freshRuns} run(s)${opts.compare ? ` each, side by side with ${opts.compare}` : ''}`);
    fresh = await section('fresh', errors, () => freshClone(opts as BenchOptions));
  }

  if (opts.sections.includes('limiter')) {
    console.error(`11. rate limiter: wrk -c${opts.connections} -t${opts.threads} ${opts.durationS}s, a rate-limited function vs the same without a limit, interleaved (embedded, then production)`);
    lim = await section('limiter', errors, () => limiter(opts as BenchOptions));
    for (const m of lim?.modes ?? []) console.error(`  ${m.mode.padEnd(10)} on ÷ off  ${m.ratio.toFixed(3)} (the limiter costs ${((1 - m.ratio) * 100).toFixed(1)} %); median of the rounds' on ÷ off ${m.medianRoundRatio.toFixed(3)}`);
    for (const f of lim?.failures ?? []) errors.push({ section: `limiter (${f.mode})`, message: f.message });
  }

  const results: Results = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options: opts,
    machine: { ...machine, loadavgAfter: describeMachine(wrkVersion).loadavg },
    throughput: tp,
    latency: lat,
    cold: { baseline, pool, gateway: gw, deps, zygotes, templates },
    recording: rec,
    storage: store,
    fairness: fair,
    fastapi,
    sink: sinkResult,
    dev,
    deploy,
    fresh,
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
