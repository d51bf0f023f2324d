/**
 * The data binding's cost (docs/data-binding.md, "Cost"): one function doing one insert and one
 * find per call through `context.db` (the proxy socket bound into its box), next to the same
 * handler with its own pymongo client straight to the database server, on one platform, warm.
 * Calls go one at a time (the proxy's latency is what a call pays) in interleaved rounds, so both
 * see the same machine; it prints throughput and p50/p99 per variant and the binding's cost.
 *
 *   npx tsc -p . && node dist/bench/data-binding.js [--calls 2000] [--rounds 5] [--python PATH]
 *
 * Needs FerretDB (scripts/services.sh) and pymongo in the runtime's venv (runtime/requirements.txt).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPlatform } from '../platform/start.js';
import { startFerret } from '../test/helpers/servers.js';
import { summarize } from './stats.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

const calls = Number(arg('calls', '2000'));
const rounds = Number(arg('rounds', '5'));
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

await main();
