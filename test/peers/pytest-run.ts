/** One pytest run of FastAPI's tutorial tests with the peers plugin; returns its JSON lines. */
import { spawn } from 'node:child_process';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PEERS_SRC } from './paths.js';

/** One test as the plugin records it (peers_plugin.py). */
export interface TestRecord {
  nodeid: string;
  outcome: 'passed' | 'failed' | 'skipped' | 'error';
  when?: string;
  message?: string;
  excluded?: string;
  apps?: string[];
  platformRequests?: number;
  inprocessRequests?: number;
  notRouted?: string[];
  unknownApps?: string[];
  flags?: string[];
  /** setup + call + teardown, s */
  seconds?: number;
  platformErrors?: { code: string; type?: string; message?: string }[];
}

export interface PytestRun {
  records: TestRecord[];
  seconds: number;
  /** pytest's last lines (the summary), for the log. */
  summary: string;
}

export interface PytestOptions {
  python: string;
  /** The extracted sdist (cache); each run works on its own copy (tests write into their working directory). */
  src: string;
  /** A fresh directory for this run: its copy of the sources, its ini and its JSON lines. */
  workDir: string;
  /** Test files or folders relative to `src`. */
  targets: string[];
  mode: 'inprocess' | 'platform';
  appsFile?: string;
  env?: NodeJS.ProcessEnv;
}

export async function runPytest(opts: PytestOptions): Promise<PytestRun> {
  const src = join(opts.workDir, 'src');
  await mkdir(opts.workDir, { recursive: true });
  await cp(opts.src, src, { recursive: true });
  const outFile = join(opts.workDir, 'results.jsonl');
  const ini = join(opts.workDir, 'pytest.ini');
  // Our own ini: FastAPI's pyproject settings (warnings as errors, pytest-timeout, strict
  // markers) are for its CI, not for this comparison.
  await writeFile(ini, '[pytest]\naddopts = -p no:cacheprovider\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...opts.env,
    PYTHONPATH: PEERS_SRC,
    PYTHONDONTWRITEBYTECODE: '1',
    FP_PEERS_MODE: opts.mode,
    FP_PEERS_OUT: outFile,
    ...(opts.appsFile ? { FP_PEERS_APPS: opts.appsFile } : {}),
  };
  delete env['NODE_EXTRA_CA_CERTS'];
  const started = Date.now();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(opts.python, ['-m', 'pytest', '-c', ini, '--rootdir', src, '-p', 'peers_plugin', '-q', '--no-header', '-rN', ...opts.targets], {
      cwd: src,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    const keep = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      if (text.length > 100_000) text = text.slice(-50_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    // pytest exits 1 when a test failed: that is a result, not an error of the run.
    child.on('close', (code) => (code === 0 || code === 1 ? resolve(text) : reject(new Error(`pytest (${opts.mode}) exited with ${code}:\n${text.slice(-4000)}`))));
  });
  const seconds = (Date.now() - started) / 1000;
  const lines = (await readFile(outFile, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  return { records: lines.map((l) => JSON.parse(l) as TestRecord), seconds, summary: out.trim().split('\n').slice(-3).join('\n') };
}

/**
 * The same run split over `jobs` pytest processes at once (topics dealt out by weight, heaviest
 * first): through the platform most of a test run is cold starts (importing FastAPI and the app),
 * which two processes overlap on two cores. Records are merged; `seconds` is the wall time.
 */
export async function runPytestSharded(opts: PytestOptions, jobs: number, weight: (target: string) => number): Promise<PytestRun> {
  const shards: { targets: string[]; load: number }[] = Array.from({ length: Math.max(1, Math.min(jobs, opts.targets.length)) }, () => ({ targets: [], load: 0 }));
  for (const target of [...opts.targets].sort((a, b) => weight(b) - weight(a) || a.localeCompare(b))) {
    const lightest = shards.reduce((a, b) => (b.load < a.load ? b : a));
    lightest.targets.push(target);
    lightest.load += Math.max(1, weight(target));
  }
  const started = Date.now();
  const runs = await Promise.all(
    shards.map((shard, i) => runPytest({ ...opts, targets: shard.targets.sort(), workDir: join(opts.workDir, `shard-${i + 1}`) })),
  );
  return {
    records: runs.flatMap((r) => r.records),
    seconds: (Date.now() - started) / 1000,
    summary: runs.map((r) => r.summary.split('\n').pop()).join(' | '),
  };
}
