/**
 * The peer conformance tier: `npm run test:peers` (= `node dist/test/peers/run.js`). See
 * test/README.md, "Peer conformance".
 *
 * 1. The cache: FastAPI's sdist (docs_src/, tests/) at the version the repository pins, and a
 *    virtual environment with what its tutorial tests and apps import (cache.ts).
 * 2. FastAPI's tutorial tests in-process (pytest + peers_plugin.py), recording which app each
 *    test calls.
 * 3. A real platform (startPlatform: store, sandboxed pool, gateway, API) whose runtimes use the
 *    same environment; every app the tests called is deployed through the API (deploy.ts).
 * 4. The same tests again, their TestClient sending each request over HTTP to `/fn/<name>/…`.
 * 5. The comparison (report.ts): per test passed / failed / excluded, totals through the platform
 *    vs in-process, every platform-only failure in a finding (findings.ts), the probes of what the
 *    tests cannot see (probes.ts), against the expected failures in test/peers/expected.json.
 *
 * Exit code: 0 when every platform-only failure is an expected one, 1 otherwise (or when a step
 * failed), 2 for a usage error.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startPlatform } from '../../platform/start.js';
import { ensureCache, type PeerCache } from './cache.js';
import { deployAll, PeerApi, type DeployedApp } from './deploy.js';
import { PEERS_SRC, REPO_PYTHON } from './paths.js';
import { runPytestSharded, type PytestRun } from './pytest-run.js';
import { checkPlatformEnvironment } from './environment.js';
import { buildReport, renderMarkdown, renderSummary, type Expected } from './report.js';
import { runProbes, type ProbeResult } from './probes.js';
import { runStats, type RunStats } from './runstats.js';

const USAGE = `Usage: node dist/test/peers/run.js [flags]

  --topics LIST        only these tutorial topics (folders of tests/test_tutorial without test_), e.g. body,cookie_params
  --sample             a fixed sample of 27 topics that shows every finding (118 of 333 apps; 1.5-5 min)
  --no-probes          skip the probes (apps written here for what the tests cannot see)
  --update-expected    rewrite test/peers/expected.json from this run's platform-only failures
  --jobs N             pytest processes at once, each on its share of the topics (default 2)
  --out DIR            where report.json and report.md go (default test/peers/results, git-ignored)
  --keep               keep the platform's state directory and the pytest outputs
  --help
`;

/** Topics that `--sample` runs: every finding shows in its tests or in the probes (see test/README.md). */
export const SAMPLE_TOPICS = [
  'first_steps', 'body', 'query_params', 'path_params', 'header_params', 'cookie_params', 'request_forms',
  'request_files', 'response_model', 'handling_errors', 'custom_response', 'response_cookies', 'response_headers',
  'behind_a_proxy', 'sub_applications', 'metadata', 'stream_data', 'server_sent_events', 'middleware',
  'advanced_middleware', 'cors', 'security', 'using_request_directly', 'templates', 'static_files', 'extending_openapi',
  'sql_databases',
];

/** Topics not collected at all: their conftest or app needs a package the peer environment does not install. */
export const UNCOLLECTED_TOPICS: Record<string, string> = {
  opentelemetry: 'needs opentelemetry-sdk (its conftest imports it); its tests patch exporters in the test process',
  graphql: 'needs strawberry-graphql, not installed in the peer environment to keep the install small',
};

interface Options {
  topics: string[] | null;
  probes: boolean;
  updateExpected: boolean;
  outDir: string;
  keep: boolean;
  jobs: number;
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive whole number, got "${text}"`);
  return n;
}

/** Test files under a topic's folder: the in-process run's weight. */
function testFiles(cache: PeerCache, target: string): number {
  try {
    return readdirSync(join(cache.src, target)).filter((f) => f.startsWith('test_') && f.endsWith('.py')).length;
  } catch {
    return 1;
  }
}

function parse(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      topics: { type: 'string' },
      sample: { type: 'boolean', default: false },
      'no-probes': { type: 'boolean', default: false },
      'update-expected': { type: 'boolean', default: false },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      jobs: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const topics = values.topics ? values.topics.split(',').map((t) => t.trim().replace(/^test_/, '')).filter(Boolean) : null;
  if (topics && values.sample) throw new Error('--topics and --sample exclude each other');
  if (values['update-expected'] && (topics || values.sample)) throw new Error('--update-expected needs the full run (no --topics, no --sample)');
  return {
    topics: values.sample ? SAMPLE_TOPICS : topics,
    probes: !values['no-probes'],
    updateExpected: values['update-expected'] ?? false,
    outDir: values.out ?? join(PEERS_SRC, 'results'),
    keep: values.keep ?? false,
    jobs: values.jobs === undefined ? 2 : positive('jobs', values.jobs),
  };
}

async function targets(cache: PeerCache, topics: string[] | null): Promise<{ targets: string[]; missing: string[] }> {
  const all = (await readdir(join(cache.src, 'tests', 'test_tutorial'), { withFileTypes: true }))
    .filter((e) => e.isDirectory() && e.name.startsWith('test_'))
    .map((e) => e.name.slice('test_'.length))
    .filter((t) => !(t in UNCOLLECTED_TOPICS))
    .sort();
  const wanted = topics ?? all;
  return {
    targets: wanted.filter((t) => all.includes(t)).map((t) => `tests/test_tutorial/test_${t}`),
    missing: wanted.filter((t) => !all.includes(t)),
  };
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

interface PlatformSide {
  sandbox: string;
  run: PytestRun;
  deployed: DeployedApp[];
  refused: { key: string; reason: string }[];
  probes: ProbeResult[] | null;
  runs: RunStats | null;
  logs: string[];
}

/** Steps 3 and 4 (and the probes): a platform on port 0, the apps deployed, the tests through it, the platform closed. */
async function throughPlatform(cache: PeerCache, tests: string[], keys: string[], opts: Options, work: string): Promise<PlatformSide> {
  const logs: string[] = [];
  const platform = await startPlatform({
    stateDir: join(work, 'state'),
    port: 0,
    poolSize: 2,
    // The runtimes import what the tests import: the same environment on both sides.
    pythonPath: cache.python,
    maxInstances: 16,
    idleTimeoutMs: 60_000,
    shutdownGraceMs: 2_000,
    // The tests' TestClient reaches the apps as a proxy on this host would: its Host, client and
    // root_path as X-Forwarded-* (peers_plugin.py), trusted from loopback as uvicorn trusts them.
    trustedProxies: '127.0.0.1,::1',
    secretsKey: randomBytes(32).toString('base64'),
    runtimeEnv: { PATH: process.env['PATH'], LANG: process.env['LANG'] },
    log: (line) => logs.push(line),
  });
  try {
    const token = platform.takeAdminToken();
    if (!token) throw new Error('the platform handed over no admin token');
    const api = new PeerApi(platform.url, token);
    const t0 = Date.now();
    const { deployed, refused } = await deployAll(api, cache.src, keys);
    log(`peers: deployed ${deployed.length} apps in ${((Date.now() - t0) / 1000).toFixed(1)} s (sandbox ${platform.isolation.mode})${refused.length ? `, ${refused.length} refused` : ''}`);
    const appsFile = join(work, 'apps.json');
    await writeFile(appsFile, JSON.stringify(Object.fromEntries(deployed.map((d) => [d.key, d.base])), null, 2));
    log('peers: the same tests through the platform');
    // Weighted by the apps each topic deploys: their cold starts are most of the time.
    const appsOf = (t: string): number => keys.filter((k) => k.startsWith(`docs_src.${t.replace('tests/test_tutorial/test_', '')}.`)).length;
    const run = await runPytestSharded({ python: cache.python, src: cache.src, targets: tests, mode: 'platform', workDir: join(work, 'platform'), appsFile }, opts.jobs, appsOf);
    log(`peers: through the platform: ${run.records.length} tests in ${run.seconds.toFixed(1)} s`);
    const runs = await runStats(api).catch((err: unknown) => {
      log(`peers: could not read the runs: ${(err as Error).message}`);
      return null;
    });
    let probes: ProbeResult[] | null = null;
    if (opts.probes) {
      log('peers: probes (platform vs uvicorn)');
      probes = await runProbes(api, cache);
    }
    return { sandbox: platform.isolation.mode, run, deployed, refused, probes, runs, logs };
  } finally {
    await platform.close();
  }
}

async function main(): Promise<number> {
  let opts: Options | 'help';
  try {
    opts = parse(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (!existsSync(REPO_PYTHON)) {
    console.error(`peers: no Python environment at ${REPO_PYTHON}: run scripts/setup.sh (npm run test:peers does)`);
    return 2;
  }
  const started = Date.now();
  const cache = await ensureCache(process.env, log);
  const { targets: tests, missing } = await targets(cache, opts.topics);
  if (missing.length > 0) {
    console.error(`peers: no such topic in fastapi ${cache.version}'s tests: ${missing.join(', ')}`);
    return 2;
  }
  const work = await mkdtemp(join(tmpdir(), 'fp-peers-'));
  let code = 1;
  try {
    log(`peers: fastapi ${cache.version}, ${tests.length} topics; in-process run`);
    const files = (t: string): number => testFiles(cache, t);
    const inprocess: PytestRun = await runPytestSharded({ python: cache.python, src: cache.src, targets: tests, mode: 'inprocess', workDir: join(work, 'inprocess') }, opts.jobs, files);
    log(`peers: in-process: ${inprocess.records.length} tests in ${inprocess.seconds.toFixed(1)} s (${inprocess.summary.split('\n').pop()})`);
    const keys = [...new Set(inprocess.records.filter((r) => !r.excluded).flatMap((r) => r.apps ?? []))].sort();

    const side = await throughPlatform(cache, tests, keys, opts, work);
    const environment = await checkPlatformEnvironment(cache, side.deployed.map((d) => d.key));
    const expectedFile = join(PEERS_SRC, 'expected.json');
    const expected: Expected = existsSync(expectedFile) ? (JSON.parse(await readFile(expectedFile, 'utf8')) as Expected) : { failures: {} };
    const report = buildReport({
      version: cache.version,
      src: cache.src,
      runs: side.runs,
      sandbox: side.sandbox,
      topics: tests.map((t) => t.replace('tests/test_tutorial/test_', '')),
      uncollected: opts.topics ? {} : UNCOLLECTED_TOPICS,
      inprocess,
      platform: side.run,
      deployed: side.deployed,
      refused: side.refused,
      environment,
      probes: side.probes,
      expected,
      seconds: (Date.now() - started) / 1000,
      platformLogs: side.logs,
    });
    await mkdir(opts.outDir, { recursive: true });
    await writeFile(join(opts.outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(join(opts.outDir, 'report.md'), renderMarkdown(report));
    console.log(renderSummary(report));
    console.log(`\nreport: ${join(opts.outDir, 'report.md')} (and report.json)`);
    if (opts.updateExpected) {
      await writeFile(expectedFile, `${JSON.stringify(report.newExpected, null, 2)}\n`);
      console.log(`expected failures rewritten: ${expectedFile} (${Object.keys(report.newExpected.failures).length})`);
      code = 0;
    } else {
      code = report.unexpected.length === 0 ? 0 : 1;
    }
  } finally {
    if (opts.keep) log(`peers: kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
