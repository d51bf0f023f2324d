/**
 * Section 9: `fastapi-platform deploy` of a one-line change → the first call answering with it,
 * end to end: a new CLI process (Node start, preflight with Python, hashing, the API round trips,
 * the bundle check, activation), then a call (the new version's cold start). Against a platform
 * process (`node dist/platform/main.js`, embedded store, sandboxed) started for the section.
 *
 * With `--compare DIR` (another checkout, built), the same rounds run against it too, its own CLI
 * against its own platform, interleaved round by round (alternating which goes first), so both
 * see the same machine load: "before" and "after" side by side. Two decomposing figures per
 * checkout: the CLI's start (`--version`) and `validate` of the same folder.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchOptions } from './args.js';
import { ROOT } from './paths.js';
import { childEnv, freePort, httpGet, sleep, startServer, type RunningServer } from './servers.js';
import { summarize, type Summary } from './stats.js';

export interface Series {
  samples: number[];
  summary: Summary;
}

export interface CheckoutResult {
  label: string;
  root: string;
  /** Change written → the call answering with it (ms). */
  total: Series;
  /** The `deploy` process, start to exit (ms). */
  deploy: Series;
  /** The first call after it (a cold start) (ms). */
  call: Series;
  /** `fastapi-platform --version`: the CLI's Node start and module loading (ms). */
  cliStart: Series;
  /** `fastapi-platform validate <dir>` (ms). */
  validate: Series;
}

export interface DeployLoopResult {
  rounds: number;
  pauseMs: number;
  checkouts: CheckoutResult[];
}

interface Checkout {
  label: string;
  root: string;
  work: string;
  dir: string;
  server: RunningServer;
  env: NodeJS.ProcessEnv;
  samples: { total: number[]; deploy: number[]; call: number[]; cliStart: number[]; validate: number[] };
}

const NAME = 'deploybench';

function code(value: string): string {
  return `def handler(event, context):\n    return {"value": "${value}"}\n`;
}

/** Runs `node <root>/bin/fastapi-platform.js …`; resolves with the wall time, rejects on a non-zero exit. */
function cli(root: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(root, 'bin', 'fastapi-platform.js'), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (exit) => (exit === 0 ? resolve(performance.now() - t0) : reject(new Error(`fastapi-platform ${args.join(' ')} exited ${exit}: ${stderr}`))));
  });
}

async function open(label: string, root: string): Promise<Checkout> {
  const work = await mkdtemp(join(tmpdir(), 'fp-bench-deploy-'));
  const dir = join(work, NAME);
  await mkdir(dir);
  await writeFile(join(dir, 'platform.yaml'), `kind: function\nname: ${NAME}\nentrypoint: main:handler\n`);
  await writeFile(join(dir, 'main.py'), code('v0'));
  const port = await freePort();
  const server = await startServer({
    name: `platform (${label})`,
    command: process.execPath,
    args: [join(root, 'dist', 'platform', 'main.js'), '--state-dir', join(work, 'state'), '--port', String(port)],
    env: childEnv({ FP_SECRETS_KEY: randomBytes(32).toString('base64') }),
    port,
    readyPath: '/healthz',
  });
  // The banner may arrive a moment after the port answers.
  let token: string | undefined;
  for (let i = 0; i < 100 && token === undefined; i++) {
    token = /admin token: (\S+)/.exec(server.output())?.[1];
    if (token === undefined) await sleep(50);
  }
  if (token === undefined) {
    await server.stop();
    throw new Error(`the platform of ${label} printed no admin token:\n${server.output()}`);
  }
  const env = childEnv({ FP_URL: `http://127.0.0.1:${port}`, FP_TOKEN: token, FP_CONFIG_DIR: join(work, 'config') });
  return { label, root, work, dir, server, env, samples: { total: [], deploy: [], call: [], cliStart: [], validate: [] } };
}

async function round(c: Checkout, value: string): Promise<void> {
  const t0 = performance.now();
  await writeFile(join(c.dir, 'main.py'), code(value));
  const deployMs = await cli(c.root, ['deploy', c.dir], c.env);
  const t1 = performance.now();
  const answer = await httpGet(c.server.port, `/fn/${NAME}/`);
  const t2 = performance.now();
  if (!answer.body.includes(`"${value}"`)) throw new Error(`${c.label}: after the deploy the function answered ${answer.status} ${answer.body}`);
  c.samples.total.push(t2 - t0);
  c.samples.deploy.push(deployMs);
  c.samples.call.push(t2 - t1);
}

const series = (samples: number[]): Series => ({ samples, summary: summarize(samples) });

export async function deployLoop(opts: BenchOptions): Promise<DeployLoopResult> {
  const checkouts: Checkout[] = [];
  try {
    checkouts.push(await open('this tree', ROOT));
    if (opts.compare !== null) checkouts.push(await open(`compare (${opts.compare})`, opts.compare));
    // The function's first version (created, not measured), and one warm-up round each.
    for (const c of checkouts) {
      await cli(c.root, ['deploy', c.dir], c.env);
      await round(c, 'warm-up');
      c.samples.total.length = c.samples.deploy.length = c.samples.call.length = 0;
    }
    for (let i = 1; i <= opts.deployRounds; i++) {
      await sleep(opts.deployPauseMs);
      const order = i % 2 === 0 ? [...checkouts].reverse() : checkouts;
      for (const c of order) await round(c, `v${i}`);
    }
    for (let i = 0; i < Math.min(10, opts.deployRounds); i++) {
      for (const c of i % 2 === 0 ? checkouts : [...checkouts].reverse()) {
        c.samples.cliStart.push(await cli(c.root, ['--version'], c.env));
        c.samples.validate.push(await cli(c.root, ['validate', c.dir], c.env));
      }
    }
  } finally {
    for (const c of checkouts) {
      await c.server.stop();
      await rm(c.work, { recursive: true, force: true });
    }
  }
  return {
    rounds: opts.deployRounds,
    pauseMs: opts.deployPauseMs,
    checkouts: checkouts.map((c) => ({
      label: c.label, root: c.root,
      total: series(c.samples.total), deploy: series(c.samples.deploy), call: series(c.samples.call),
      cliStart: series(c.samples.cliStart), validate: series(c.samples.validate),
    })),
  };
}
