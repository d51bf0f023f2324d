/**
 * The data binding's cost (docs/data-binding.md, "Cost"): one function doing one insert and one
 * find per call through `context.db` (the proxy socket bound into its box), next to the same
 * handler with its own pymongo client straight to the database server, on one platform, warm.
 * Calls go one at a time (the proxy's latency is what a call pays) in interleaved rounds, so both
 * see the same machine; it prints throughput and p50/p99 per variant and the binding's cost.
 *
 *   npx tsc -p . && node dist/bench/data-binding.js [--calls 2000] [--rounds 5] [--python PATH]
 *   node dist/bench/data-binding.js --proxy-only [--calls 5000] [--rounds 5]
 *
 * `--proxy-only` leaves the gateway out: one Python process runs insert + find pairs in a loop,
 * through the proxy, straight to the server, and through a bare Node pipe to the server (no
 * parsing, no checks: the cost of the hop itself), in rotating rounds, and reports what the proxy
 * and the bare hop add per command in microseconds.
 *
 * Needs FerretDB (scripts/services.sh) and pymongo in the runtime's venv (runtime/requirements.txt).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindingUri, DataCredentials, DataProxy, physicalDatabase, WriteLedger } from '../controlplane/index.js';
import { startPlatform } from '../platform/start.js';
import { repoPath } from '../test/helpers/runtime-process.js';
import { startFerret } from '../test/helpers/servers.js';
import { summarize } from './stats.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

const calls = Number(arg('calls', '2000'));
const rounds = Number(arg('rounds', '6'));
const python = arg('python', '');

const BOUND = ['def handler(event, context):', '    c = context.db.bench', '    c.insert_one({"v": 1})', '    c.find_one({"v": 1})', '    return {"ok": True}', ''].join('\n');
const DIRECT = (url: string): string => ['import os', 'from pymongo import MongoClient', `_db = MongoClient(${JSON.stringify(url)}, directConnection=True)["direct_bench"]`,
  'def handler(event, context):', '    c = _db.bench', '    c.insert_one({"v": 1})', '    c.find_one({"v": 1})', '    return {"ok": True}', ''].join('\n');

async function main(): Promise<void> {
  const ferret = await startFerret();
  const stateDir = mkdtempSync(join(tmpdir(), 'fp-bench-data-'));
  const platform = await startPlatform({
    stateDir, port: 0, poolSize: 2, secretsKey: randomBytes(32).toString('base64'), log: () => undefined,
    dataMongoUrl: `mongodb://127.0.0.1:${ferret.port}`, ...(python !== '' ? { pythonPath: python } : {}),
  });
  try {
    const token = platform.takeAdminToken()!;
    const api = async (method: string, path: string, body?: unknown): Promise<void> => {
      const res = await fetch(`${platform.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}` }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    };
    const deploy = async (name: string, code: string, data?: unknown): Promise<void> => {
      await api('POST', '/functions', { name });
      await api('POST', `/functions/${name}/versions`, { files: [{ path: 'main.py', contentBase64: Buffer.from(code).toString('base64') }], manifest: { kind: 'function', name, ...(data ? { data } : {}) } });
      await api('POST', `/functions/${name}/deploy`, {});
    };
    await deploy('bound', BOUND, { mongo: { database: 'bench' } });
    await deploy('direct', DIRECT(`mongodb://127.0.0.1:${ferret.port}`));
    const call = async (name: string): Promise<number> => {
      const t = performance.now();
      const res = await fetch(`${platform.url}/fn/${name}/`);
      if (res.status !== 200) throw new Error(`${name}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      return performance.now() - t;
    };
    const samples: Record<string, number[]> = { bound: [], direct: [] };
    for (const name of ['bound', 'direct']) for (let i = 0; i < 200; i++) await call(name); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (const name of r % 2 === 0 ? ['bound', 'direct'] : ['direct', 'bound']) {
        for (let i = 0; i < calls / rounds; i++) samples[name]!.push(await call(name));
      }
    }
    const rows = Object.entries(samples).map(([name, s]) => {
      const sum = summarize(s);
      return { name, calls: s.length, perSecond: 1000 / sum.mean, p50: sum.p50, p99: sum.p99 };
    });
    for (const row of rows) console.log(`${row.name.padEnd(7)} ${row.calls} calls  ${row.perSecond.toFixed(0)} calls/s  p50 ${row.p50.toFixed(3)} ms  p99 ${row.p99.toFixed(3)} ms`);
    const [bound, direct] = rows as [typeof rows[0], typeof rows[0]];
    console.log(`binding's cost: throughput ${(100 * (1 - bound.perSecond / direct.perSecond)).toFixed(1)} %, p50 ${(100 * (bound.p50 / direct.p50 - 1)).toFixed(1)} %, p99 ${(100 * (bound.p99 / direct.p99 - 1)).toFixed(1)} %`);
  } finally {
    await platform.close();
    await ferret.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const LOOP = `
import sys, time
from pymongo import MongoClient
bound, direct, pipe, n, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
clients = {"bound": MongoClient(bound)["default_bench"].loop, "direct": MongoClient(direct, directConnection=True)["direct_bench"].loop,
           "pipe": MongoClient(pipe, directConnection=True)["pipe_bench"].loop}
for c in clients.values():
    for _ in range(200):
        c.insert_one({"v": 1}); c.find_one({"v": 1})
spent = {name: 0.0 for name in clients}
order = list(clients)
for r in range(rounds):
    for name in order[r % 3:] + order[:r % 3]:
        c = clients[name]
        t = time.perf_counter()
        for _ in range(n // rounds):
            c.insert_one({"v": 1}, comment="fp:run=bench"); c.find_one({"v": 1})
        spent[name] += time.perf_counter() - t
print(spent["bound"], spent["direct"], spent["pipe"])
`;

async function proxyOnly(): Promise<void> {
  const n = Number(arg('calls', '5000'));
  const ferret = await startFerret();
  const dir = mkdtempSync(join(tmpdir(), 'fp-bench-proxy-'));
  const credentials = new DataCredentials();
  const proxy = new DataProxy({ backend: { host: '127.0.0.1', port: ferret.port }, credentials, ledger: new WriteLedger() });
  try {
    const grant = { functionKey: 'bench', workspace: 'default', database: 'bench', physical: physicalDatabase('default', 'bench') };
    const sock = await proxy.listen('bench', join(dir, 'mongo.sock'));
    const { createConnection, createServer } = await import('node:net');
    const pipe = createServer((client) => {
      const server = createConnection(ferret.port, '127.0.0.1');
      server.setNoDelay(true);
      client.pipe(server);
      server.pipe(client);
      client.on('error', () => server.destroy());
      server.on('error', () => client.destroy());
    });
    const pipePath = join(dir, 'pipe.sock');
    await new Promise<void>((resolve) => pipe.listen(pipePath, resolve));
    // The Python loop runs in a child; the proxy must keep serving meanwhile, so spawnSync is out.
    const { spawn } = await import('node:child_process');
    const child = spawn(python || repoPath('.venv', 'bin', 'python'), ['-c', LOOP, bindingUri(sock, grant.physical, credentials.credentialFor(grant)), `mongodb://127.0.0.1:${ferret.port}/`, `mongodb://${encodeURIComponent(pipePath)}/`, String(n), String(rounds)]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(err);
    pipe.close();
    const [bound, direct, piped] = out.trim().split(' ').map(Number) as [number, number, number];
    const perPair = (s: number): number => (s / n) * 1e6;
    const added = (s: number): string => `${((perPair(s) - perPair(direct)) / 2).toFixed(0)} µs per command (${(100 * (s / direct - 1)).toFixed(1)} %)`;
    console.log(`${n} insert+find pairs: direct ${perPair(direct).toFixed(0)} µs, through the proxy ${perPair(bound).toFixed(0)} µs, through a bare Node pipe ${perPair(piped).toFixed(0)} µs`);
    console.log(`the proxy adds ${added(bound)}; a bare pipe adds ${added(piped)}`);
  } finally {
    await proxy.close();
    await ferret.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--proxy-only')) await proxyOnly();
else await main();
