/**
 * The data binding's cost (docs/data-binding.md, "Cost"): one function doing one insert and one
 * find per call through `context.db` (the proxy socket bound into its box), next to the same
 * handler with its own pymongo client straight to the database server, on one platform, warm.
 * Calls go one at a time (the proxy's latency is what a call pays) in short interleaved blocks
 * (`--calls` split into `--rounds`), so both see the same machine; it prints throughput and
 * p50/p99 per variant and the binding's cost. `--against` runs another built checkout's platform
 * in the same rounds (before and after, side by side). The platforms run as users run them
 * (dist/platform/main.js, default settings): a run that wrote through its binding is always recorded
 * in full, a direct one is sampled like any warm call; `--env FP_RUN_SAMPLE_ONE_IN=1` records every
 * run on both sides, leaving the data path alone in the difference.
 *
 *   npx tsc -p . && node dist/bench/data-binding.js [--calls 2000] [--rounds 50] [--python PATH] [--against OTHER_CHECKOUT] [--env K=V,…] [--background C] [--warm 200]
 *   node dist/bench/data-binding.js --proxy-only [--calls 5000] [--rounds 50] [--against OTHER_CHECKOUT] [--warm 200]
 *
 * `--proxy-only` leaves the gateway out: one Python process runs insert + find pairs in a loop,
 * through the proxy, straight to the server, and through a bare Node pipe to the server (no
 * parsing, no checks: the cost of the hop itself), in rotating rounds, and reports what the proxy
 * and the bare hop add per command in microseconds and the platform's CPU per command;
 * `--against` adds another built checkout's proxy to the same rounds (before and after, side by side).
 *
 * Needs FerretDB (scripts/services.sh) and pymongo in the runtime's venv (runtime/requirements.txt).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bindingUri, DataCredentials, DataProxy, physicalDatabase, WriteLedger } from '../controlplane/index.js';
import { repoPath } from '../test/helpers/runtime-process.js';
import { startFerret } from '../test/helpers/servers.js';
import { tempDir } from './functions.js';
import { PLATFORM_MAIN, PYTHON } from './paths.js';
import { api } from './platform.js';
import { processCpuUs, treeCpuUs } from './proc-cpu.js';
import { childEnv, freePort, startServer } from './servers.js';
import { summarize } from './stats.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

const calls = Number(arg('calls', '2000'));
const rounds = Number(arg('rounds', '50'));
const python = arg('python', '');
/** FP_* settings for the platforms, `K=V,K=V` (e.g. FP_RUN_SAMPLE_ONE_IN=1: every run recorded, bound or not). */
const extraEnv = Object.fromEntries(arg('env', '').split(',').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

const BOUND = ['def handler(event, context):', '    c = context.db.bench', '    c.insert_one({"v": 1})', '    c.find_one({"v": 1})', '    return {"ok": True}', ''].join('\n');
const NOOP = ['def handler(event, context):', '    return {"ok": True}', ''].join('\n');
const DIRECT = (url: string): string => ['import os', 'from pymongo import MongoClient', `_db = MongoClient(${JSON.stringify(url)}, directConnection=True)["direct_bench"]`,
  'def handler(event, context):', '    c = _db.bench', '    c.insert_one({"v": 1})', '    c.find_one({"v": 1})', '    return {"ok": True}', ''].join('\n');

interface Deployed {
  /** One call of a function: its latency in ms. */
  call: (name: string) => Promise<number>;
  /** The URL of a function that does nothing (`noop`), for background load (`--background`). */
  noopUrl: string;
  /** CPU time so far, µs (bench/proc-cpu.ts): the platform process with its runtimes, and the platform process alone. */
  cpuUs: () => { tree: number; platform: number };
}

/** Starts one build's platform as a user runs it (its dist/platform/main.js) on the shared server, with both handlers deployed. */
async function deployBoth(main: string, ferretPort: number, cleanup: (() => Promise<void>)[]): Promise<Deployed> {
  const state = await tempDir('data-bench');
  const port = await freePort();
  const own: Record<string, string> = {
    FP_PORT: String(port), FP_STATE_DIR: state.path, FP_POOL_SIZE: '2', FP_PYTHON: python || PYTHON, FP_SECRETS_KEY: randomBytes(32).toString('base64'),
    FP_DATA_MONGO_URL: `mongodb://127.0.0.1:${ferretPort}`, ...extraEnv,
  };
  const env = childEnv(own);
  for (const key of Object.keys(env)) if (key.startsWith('FP_') && !(key in own)) delete env[key];
  const server = await startServer({ name: `platform ${main}`, command: process.execPath, args: [main], env, port, readyPath: '/api/v1/functions' });
  cleanup.push(async () => {
    await server.stop();
    await state.remove();
  });
  const token = /admin token: (\S+)/.exec(server.output())?.[1];
  if (token === undefined) throw new Error(`the platform printed no admin token:\n${server.output()}`);
  const deploy = async (name: string, code: string, data?: unknown): Promise<void> => {
    await api(server, token, 'POST', '/functions', { name });
    await api(server, token, 'POST', `/functions/${name}/versions`, { files: [{ path: 'main.py', contentBase64: Buffer.from(code).toString('base64') }], manifest: { kind: 'function', name, ...(data ? { data } : {}) } });
    await api(server, token, 'POST', `/functions/${name}/deploy`, {});
  };
  await deploy('bound', BOUND, { mongo: { database: 'bench' } });
  await deploy('direct', DIRECT(`mongodb://127.0.0.1:${ferretPort}`));
  await deploy('noop', NOOP);
  return {
    call: async (name: string): Promise<number> => {
      const t = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/fn/${name}/`);
      if (res.status !== 200) throw new Error(`${name}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      return performance.now() - t;
    },
    noopUrl: `http://127.0.0.1:${port}/fn/noop/`,
    cpuUs: () => ({ tree: treeCpuUs(server.pid), platform: processCpuUs(server.pid) }),
  };
}

/**
 * Through the gateway: `bound` and `direct` of this build's platform and, with `--against DIR`, of
 * another built checkout's (each its own process, on the same server), called one at a time in short
 * blocks that rotate, so every variant sees the same minutes of a shared machine.
 */
async function main(): Promise<void> {
  const against = arg('against', '');
  const ferret = await startFerret();
  const cleanup: (() => Promise<void>)[] = [async () => ferret.destroy()];
  try {
    const platforms: Record<string, Deployed> = { '': await deployBoth(PLATFORM_MAIN, ferret.port, cleanup) };
    if (against !== '') platforms[`@${against}`] = await deployBoth(join(against, 'dist', 'platform', 'main.js'), ferret.port, cleanup);
    const variants = new Map(Object.entries(platforms).flatMap(([build, platform]) => ['bound', 'direct'].map((fn) => [`${fn}${build}`, { fn, platform }] as const)));
    const names = [...variants.keys()];
    const samples: Record<string, number[]> = Object.fromEntries(names.map((v) => [v, []]));
    const cpuUs: Record<string, { tree: number; platform: number }> = Object.fromEntries(names.map((v) => [v, { tree: 0, platform: 0 }]));
    // Warm-up: V8's optimizing compiler is still busy for seconds after 1,000 calls (ADR 0033), so
    // the CPU of the first rounds includes compiling; `--warm` calls more of each first.
    const warm = Number(arg('warm', '200'));
    for (const { fn, platform } of variants.values()) for (let i = 0; i < warm; i++) await platform.call(fn);
    // `--background C`: wrk keeps C requests to `noop` in flight on each platform meanwhile, so
    // the gateway's event loop has HTTP work of its own while the proxy (on the same loop) serves.
    const background = Number(arg('background', '0'));
    if (background > 0) {
      const { spawn } = await import('node:child_process');
      for (const platform of Object.values(platforms)) {
        const wrk = spawn('wrk', ['-c', String(background), '-t', '1', '-d', '3600s', platform.noopUrl], { stdio: 'ignore' });
        cleanup.push(async () => void wrk.kill('SIGKILL'));
      }
    }
    const block = Math.max(1, Math.floor(calls / rounds));
    for (let r = 0; r < rounds; r++) {
      for (const name of [...names.slice(r % names.length), ...names.slice(0, r % names.length)]) {
        const { fn, platform } = variants.get(name)!;
        const before = platform.cpuUs();
        for (let i = 0; i < block; i++) samples[name]!.push(await platform.call(fn));
        const after = platform.cpuUs();
        cpuUs[name]!.tree += after.tree - before.tree;
        cpuUs[name]!.platform += after.platform - before.platform;
      }
    }
    const rows = new Map(Object.entries(samples).map(([name, s]) => {
      const sum = summarize(s);
      return [name, { calls: s.length, perSecond: 1000 / sum.mean, p50: sum.p50, p99: sum.p99, cpuUs: cpuUs[name]!.tree / s.length, platformCpuUs: cpuUs[name]!.platform / s.length }];
    }));
    for (const [name, row] of rows) console.log(`${name.padEnd(8)} ${row.calls} calls  ${row.perSecond.toFixed(0)} calls/s  p50 ${row.p50.toFixed(3)} ms  p99 ${row.p99.toFixed(3)} ms  CPU ${row.cpuUs.toFixed(0)} µs/call (platform ${row.platformCpuUs.toFixed(0)}, runtime ${(row.cpuUs - row.platformCpuUs).toFixed(0)})`);
    for (const build of Object.keys(platforms)) {
      const bound = rows.get(`bound${build}`)!;
      const direct = rows.get(`direct${build}`)!;
      console.log(`binding's cost${build}: throughput ${(100 * (1 - bound.perSecond / direct.perSecond)).toFixed(1)} %, p50 ${(100 * (bound.p50 / direct.p50 - 1)).toFixed(1)} % (${((bound.p50 - direct.p50) * 1000).toFixed(0)} µs), p99 ${(100 * (bound.p99 / direct.p99 - 1)).toFixed(1)} %, CPU +${(bound.cpuUs - direct.cpuUs).toFixed(0)} µs/call (platform +${(bound.platformCpuUs - direct.platformCpuUs).toFixed(0)}, runtime +${(bound.cpuUs - bound.platformCpuUs - direct.cpuUs + direct.platformCpuUs).toFixed(0)})`);
    }
  } finally {
    for (const step of cleanup.reverse()) await step();
  }
}

// One Python process, one client per variant; before and after each round it says so on stdout
// and waits for a line on stdin, so the platform side can read its own CPU time around the round.
const LOOP = `
import json, sys, time
from pymongo import MongoClient
urls, n, rounds, warm = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
clients = {name: MongoClient(url, directConnection=True)[db].loop for name, (url, db) in urls.items()}
for c in clients.values():
    for _ in range(warm):
        c.insert_one({"v": 1}); c.find_one({"v": 1})
order = list(clients)
for r in range(rounds):
    for name in order[r % len(order):] + order[:r % len(order)]:
        c = clients[name]
        print("start", name, flush=True); sys.stdin.readline()
        t = time.perf_counter()
        for _ in range(n // rounds):
            c.insert_one({"v": 1}, comment="fp:run=bench"); c.find_one({"v": 1})
        print("end", name, time.perf_counter() - t, flush=True); sys.stdin.readline()
`;

/** A bare Node pipe to the server on a Unix socket: no parsing, no checks (the hop alone). */
async function barePipe(path: string, port: number): Promise<{ close: () => void }> {
  const { createConnection, createServer } = await import('node:net');
  const pipe = createServer((client) => {
    const server = createConnection(port, '127.0.0.1');
    server.setNoDelay(true);
    client.pipe(server);
    server.pipe(client);
    client.on('error', () => server.destroy());
    server.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => pipe.listen(path, resolve));
  return { close: () => pipe.close() };
}

/**
 * `--proxy-only [--against DIR]`: insert + find pairs from one Python process, straight to the
 * server, through a bare pipe, through this build's proxy and, with `--against`, through the proxy
 * of another built checkout (its dist/), all in rotating rounds of the same run. Per variant: µs per
 * pair, what it adds per command over the direct client, and the platform process's CPU per
 * command (steadier than wall time on a shared machine).
 */
async function proxyOnly(): Promise<void> {
  const n = Number(arg('calls', '5000'));
  const against = arg('against', '');
  const ferret = await startFerret();
  const dir = mkdtempSync(join(tmpdir(), 'fp-bench-proxy-'));
  const proxies: DataProxy[] = [];
  try {
    const grant = { functionKey: 'bench', workspace: 'default', database: 'bench', physical: physicalDatabase('default', 'bench') };
    const urls: Record<string, [string, string]> = { direct: [`mongodb://127.0.0.1:${ferret.port}/`, 'direct_bench'] };
    const pipe = await barePipe(join(dir, 'pipe.sock'), ferret.port);
    urls.pipe = [`mongodb://${encodeURIComponent(join(dir, 'pipe.sock'))}/`, 'pipe_bench'];
    const builds: [string, typeof import('../controlplane/index.js')][] = [['proxy', { bindingUri, DataCredentials, DataProxy, WriteLedger } as typeof import('../controlplane/index.js')]];
    if (against !== '') builds.push([`proxy@${against}`, (await import(pathToFileURL(join(against, 'dist', 'controlplane', 'index.js')).href)) as typeof import('../controlplane/index.js')]);
    for (const [name, build] of builds) {
      const credentials = new build.DataCredentials();
      const proxy = new build.DataProxy({ backend: { host: '127.0.0.1', port: ferret.port }, credentials, ledger: new build.WriteLedger() });
      proxies.push(proxy);
      const sock = await proxy.listen('bench', join(dir, `${proxies.length}`, 'mongo.sock'));
      urls[name] = [build.bindingUri(sock, grant.physical, credentials.credentialFor(grant)), grant.physical];
    }
    // The Python loop runs in a child; the proxy must keep serving meanwhile, so spawnSync is out.
    const { spawn } = await import('node:child_process');
    const child = spawn(python || repoPath('.venv', 'bin', 'python'), ['-c', LOOP, JSON.stringify(urls), String(n), String(rounds), arg('warm', '200')]);
    const spent: Record<string, { wallS: number; cpuUs: number }> = {};
    let err = '';
    let buffered = '';
    let cpuAtStart = process.cpuUsage();
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
        const [what, name, seconds] = buffered.slice(0, at).split(' ') as [string, string, string];
        buffered = buffered.slice(at + 1);
        if (what === 'start') cpuAtStart = process.cpuUsage();
        if (what === 'end') {
          const cpu = process.cpuUsage(cpuAtStart);
          const entry = (spent[name] ??= { wallS: 0, cpuUs: 0 });
          entry.wallS += Number(seconds);
          entry.cpuUs += cpu.user + cpu.system;
        }
        child.stdin.write('\n');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    pipe.close();
    if (code !== 0) throw new Error(err);
    const pairs = Math.floor(n / rounds) * rounds;
    const perPair = (name: string): number => (spent[name]!.wallS / pairs) * 1e6;
    console.log(`${pairs} insert+find pairs per variant, ${rounds} rotating rounds`);
    for (const name of Object.keys(urls)) {
      const added = (perPair(name) - perPair('direct')) / 2;
      const cpu = spent[name]!.cpuUs / pairs / 2;
      console.log(`${name.padEnd(10)} ${perPair(name).toFixed(0)} µs per pair` + (name === 'direct' ? '' : `, adds ${added.toFixed(0)} µs per command (${(100 * (perPair(name) / perPair('direct') - 1)).toFixed(1)} %), platform CPU ${cpu.toFixed(0)} µs per command`));
    }
  } finally {
    for (const proxy of proxies) await proxy.close();
    await ferret.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--proxy-only')) await proxyOnly();
else await main();
