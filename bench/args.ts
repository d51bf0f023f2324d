/** Command-line flags of `node dist/bench/run.js`, with their defaults. */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

export type Section = 'throughput' | 'latency' | 'cold' | 'zygotes' | 'templates' | 'recording' | 'storage' | 'fairness' | 'fastapi' | 'sink' | 'dev' | 'deploy' | 'fresh' | 'limiter';
export const SECTIONS: readonly Section[] = ['throughput', 'latency', 'cold', 'zygotes', 'templates', 'recording', 'storage', 'fairness', 'fastapi', 'sink', 'dev', 'deploy', 'fresh', 'limiter'];
/** Run when no --only is given: `fresh` takes minutes and installs packages, so it runs only when named. */
export const DEFAULT_SECTIONS: readonly Section[] = SECTIONS.filter((s) => s !== 'fresh');

export interface GatewaySetting {
  maxInstances: number;
  concurrency: number;
}

export interface BenchOptions {
  quick: boolean;
  sections: Section[];
  /** Throughput runs (section 1). */
  connections: number;
  threads: number;
  durationS: number;
  warmupS: number;
  /** Single-connection latency runs (section 2). */
  latencyDurationS: number;
  /** Gateway limits tried in section 1; the best is reported. */
  gatewaySettings: GatewaySetting[];
  uvicornWorkers: number[];
  /** Gateway limits tried for the FastAPI app under load (section 6); the best is reported. */
  fastapiSettings: GatewaySetting[];
  /** Cold starts (section 3). */
  coldN: number;
  /** Generic runtimes the pool keeps ready during the cold-start runs. */
  coldPoolSize: number;
  /** Rounds of sections 1 and 2, interleaving platform and baseline; the best run of each is reported. */
  rounds: number;
  /** Results directory (default bench/results). */
  outDir: string | null;
  /** Forward the gateway's output to stderr. */
  verbose: boolean;
  /** Section 8: saves measured, and the pause before each. */
  devSaves: number;
  devPauseMs: number;
  /** Section 9: deploys measured, and the pause before each round. */
  deployRounds: number;
  deployPauseMs: number;
  /** Sections 9 and 10: another checkout (built, for section 9) measured side by side; null: none. */
  compare: string | null;
  /** Section 10: fresh clones per checkout. */
  freshRuns: number;
  /** Section 11: the platform modes measured (default both). */
  limiterModes: ('embedded' | 'production')[];
  /** Section 4b (storage): seconds of load on the embedded platform. */
  soakS: number;
}

export const USAGE = `Usage: node dist/bench/run.js [flags]

  --quick                  smoke run: 3 s runs, 1 s warm-up, N=20 cold starts, one setting each
  --only LIST              sections to run: throughput,latency,cold,zygotes,templates,recording,
                           storage,fairness,fastapi,sink,dev,deploy,fresh,limiter (default all but fresh, which takes minutes: a
                           fresh clone and npm start; recording, sink and limiter's production half
                           need redis-server and FerretDB,
                           as npm test installs them)
  --connections N          wrk connections for throughput (default 64)
  --threads N              wrk threads for throughput (default 2)
  --duration S             seconds per throughput run (default 10)
  --warmup S               warm-up seconds before each wrk run, not measured (default 2)
  --latency-duration S     seconds per one-connection latency run (default 10)
  --gateway-settings LIST  gateway limits to try, maxInstances x concurrency (default 2x1,4x1,2x4)
  --uvicorn-workers LIST   uvicorn worker counts to try (default 1,2; sections 1 and 6)
  --fastapi-settings LIST  gateway limits for the FastAPI app at 64 connections (default 1x1,2x1,2x4;
                           quick 1x1,2x1); section 6 always runs uvicorn with 1 and 2 workers
  --cold N                 fresh function versions for the cold-start runs (default 100)
  --cold-pool-size N       generic runtimes kept ready in cold-start runs (default 3)
  --rounds N               repeat sections 1 and 2 N times, interleaved; report the best (default 1);
                           section 4 runs its arms N times in turn and reports medians
  --dev-saves N            saves measured in the dev section (default 40; quick 10)
  --dev-pause MS           pause before each save (default 500: the pool refills, as between saves)
  --deploy-rounds N        deploys measured in the deploy section (default 20; quick 5)
  --deploy-pause MS        pause before each deploy round (default 500)
  --compare DIR            another checkout of this repository (built) measured side by side in
                           the recording, deploy and fresh sections: before/after figures on the same load
  --fresh-runs N           fresh clones per checkout in the fresh section (default 1)
  --limiter-modes LIST     section 11's modes: embedded,production (default both)
  --soak S                 seconds of load in the storage section (default 30; quick 10)
  --out DIR                where the JSON result goes (default bench/results)
  --verbose                print the servers' output
  --help
`;

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive whole number, got "${text}"`);
  return n;
}

function settings(text: string): GatewaySetting[] {
  return text.split(',').map((part) => {
    const match = /^\s*(\d+)\s*x\s*(\d+)\s*$/.exec(part);
    if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
      throw new Error(`"${part}" is not maxInstances x concurrency, e.g. 4x1`);
    }
    return { maxInstances: Number(match[1]), concurrency: Number(match[2]) };
  });
}

function limiterModes(text: string): ('embedded' | 'production')[] {
  return text.split(',').map((m) => {
    const mode = m.trim();
    if (mode !== 'embedded' && mode !== 'production') throw new Error(`--limiter-modes: "${m}" is not embedded or production`);
    return mode;
  });
}

/** Parses argv (without node and script); throws with a readable message on a bad flag. */
export function parseBenchArgs(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      connections: { type: 'string' },
      threads: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      'latency-duration': { type: 'string' },
      'gateway-settings': { type: 'string' },
      'uvicorn-workers': { type: 'string' },
      'fastapi-settings': { type: 'string' },
      cold: { type: 'string' },
      'cold-pool-size': { type: 'string' },
      rounds: { type: 'string' },
      out: { type: 'string' },
      'dev-saves': { type: 'string' },
      'dev-pause': { type: 'string' },
      'deploy-rounds': { type: 'string' },
      'deploy-pause': { type: 'string' },
      compare: { type: 'string' },
      'fresh-runs': { type: 'string' },
      'limiter-modes': { type: 'string' },
      soak: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick ?? false;
  const sections = values.only
    ? values.only.split(',').map((s) => {
        const section = s.trim() as Section;
        if (!SECTIONS.includes(section)) throw new Error(`--only: unknown section "${s}" (${SECTIONS.join(', ')})`);
        return section;
      })
    : [...DEFAULT_SECTIONS];
  const opt = <T>(text: string | undefined, parse: (t: string) => T, fallback: T): T =>
    text === undefined ? fallback : parse(text);
  return {
    quick,
    sections,
    connections: opt(values.connections, (t) => positiveInt('connections', t), 64),
    threads: opt(values.threads, (t) => positiveInt('threads', t), 2),
    durationS: opt(values.duration, (t) => positiveInt('duration', t), quick ? 3 : 10),
    warmupS: opt(values.warmup, (t) => positiveInt('warmup', t), quick ? 1 : 2),
    latencyDurationS: opt(values['latency-duration'], (t) => positiveInt('latency-duration', t), quick ? 3 : 10),
    gatewaySettings: opt(values['gateway-settings'], settings, quick ? [{ maxInstances: 2, concurrency: 1 }] : settings('2x1,4x1,2x4')),
    uvicornWorkers: opt(
      values['uvicorn-workers'],
      (t) => t.split(',').map((w) => positiveInt('uvicorn-workers', w.trim())),
      quick ? [1] : [1, 2],
    ),
    // Quick keeps two instances (one per core: the platform's point) beside one (issue 10).
    fastapiSettings: opt(values['fastapi-settings'], settings, quick ? settings('1x1,2x1') : settings('1x1,2x1,2x4')),
    coldN: opt(values.cold, (t) => positiveInt('cold', t), quick ? 20 : 100),
    coldPoolSize: opt(values['cold-pool-size'], (t) => positiveInt('cold-pool-size', t), 3),
    rounds: opt(values.rounds, (t) => positiveInt('rounds', t), 1),
    outDir: values.out ?? null,
    verbose: values.verbose ?? false,
    devSaves: opt(values['dev-saves'], (t) => positiveInt('dev-saves', t), quick ? 10 : 40),
    devPauseMs: opt(values['dev-pause'], (t) => positiveInt('dev-pause', t), 500),
    deployRounds: opt(values['deploy-rounds'], (t) => positiveInt('deploy-rounds', t), quick ? 5 : 20),
    deployPauseMs: opt(values['deploy-pause'], (t) => positiveInt('deploy-pause', t), 500),
    compare: values.compare === undefined ? null : resolve(values.compare),
    freshRuns: opt(values['fresh-runs'], (t) => positiveInt('fresh-runs', t), 1),
    limiterModes: opt(values['limiter-modes'], limiterModes, ['embedded', 'production']),
    soakS: opt(values.soak, (t) => positiveInt('soak', t), quick ? 10 : 30),
  };
}
