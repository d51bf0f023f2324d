/**
 * Where a FastAPI request's CPU goes, per process, before and after (issue 10): each checkout's
 * gateway serving section 6's shop app at a setting, under wrk with the request mix, and the CPU
 * time each process of its tree spent per request (/proc; the gateway, each runtime; wrk not
 * counted). Checkouts run in turn, round after round, so the machine's load lands on all alike.
 * Not a section of the bench: run by hand,
 *   node dist/bench/fastapi-cpu.js <name>=<checkout>[,…] [rounds] [seconds] [setting:conns,…] [warm-up seconds]
 * e.g. `node dist/bench/fastapi-cpu.js main=/work/main,branch=. 3 4 1x1:64,2x4:64,1x1:1`.
 *
 * The gateway's figure is split: its main thread (the event loop: the request path) with the
 * times it slept per request (each a wake-up to come), and its other threads (V8's optimizing
 * compiler and GC helpers). The warm-up is 10 s by default: at this app's rates (2-9k req/s) the
 * 2 s it was left V8's compiler at work in the measured seconds, ~6 µs a request of the gateway's
 * figure at 2x1 (bench/README.md, "The gateway's CPU per request at FastAPI rates").
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { tempDir } from './functions.js';
import type { startGateway } from './gateway.js';
import { SHOP_DIR } from './paths.js';
import { descendants, mainThread, processCpuUs } from './proc-cpu.js';
import { runWrk } from './wrk.js';

const builds = (process.argv[2] ?? '').split(',').filter(Boolean).map((kv) => {
  const at = kv.indexOf('=');
  return { name: kv.slice(0, at), root: resolve(kv.slice(at + 1)) };
});
if (builds.length === 0) throw new Error('usage: node dist/bench/fastapi-cpu.js <name>=<checkout>[,…] [rounds] [seconds] [setting:conns,…] [warm-up seconds]');
const rounds = Number(process.argv[3] ?? '3');
const seconds = Number(process.argv[4] ?? '4');
const runs = (process.argv[5] ?? '1x1:64,2x4:64,1x1:1').split(',').map((s) => {
  const [setting, conns] = s.split(':') as [string, string];
  const [maxInstances, concurrency] = setting.split('x').map(Number) as [number, number];
  return { setting, maxInstances, concurrency, connections: Number(conns) };
});
const warmupS = Number(process.argv[6] ?? '10');
const MIX = join(SHOP_DIR, 'mix.lua');

const what = (pid: number): string => {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return args.some((a) => a.endsWith('platform/main.js')) ? 'gateway' : args.some((a) => a.includes('/runtime/')) ? 'runtime' : (args[0] ?? '?');
  } catch {
    return '?';
  }
};

for (let round = 1; round <= rounds; round++) {
  for (const b of round % 2 === 1 ? builds : [...builds].reverse()) {
    const gateway = (await import(join(b.root, 'dist', 'bench', 'gateway.js'))) as { startGateway: typeof startGateway };
    for (const r of runs) {
      const dir = await tempDir('shop-cpu');
      try {
        const fn = join(dir.path, 'shop');
        await mkdir(fn, { recursive: true });
        await copyFile(join(SHOP_DIR, 'app.py'), join(fn, 'app.py'));
        await writeFile(join(fn, 'platform.yaml'), stringify({ kind: 'function', name: 'shop', entrypoint: 'app:app', limits: { maxInstances: r.maxInstances, concurrency: r.concurrency, maxQueue: 10_000 } }));
        const server = await gateway.startGateway({ functionsDir: dir.path, poolSize: Math.max(3, r.maxInstances), verbose: false });
        try {
          const wrk = { url: `http://127.0.0.1:${server.port}`, connections: r.connections, threads: r.connections > 1 ? 2 : 1, script: MIX, scriptArgs: ['/fn/shop'] };
          await runWrk({ ...wrk, durationS: warmupS });
          const pids = [server.pid, ...descendants(server.pid)];
          const before = new Map(pids.map((p) => [p, processCpuUs(p)]));
          const loopBefore = mainThread(server.pid);
          const result = await runWrk({ ...wrk, durationS: seconds });
          const loopAfter = mainThread(server.pid);
          const per: Record<string, number> = {};
          let tree = 0;
          for (const p of pids) {
            let used: number;
            try {
              used = (processCpuUs(p) - before.get(p)!) / result.requests;
            } catch {
              continue; // exited during the run
            }
            tree += used;
            const k = what(p);
            per[k] = (per[k] ?? 0) + used;
          }
          const loopUs = (loopAfter.cpuUs - loopBefore.cpuUs) / result.requests;
          const sleeps = (loopAfter.sleeps - loopBefore.sleeps) / result.requests;
          const parts = Object.entries(per).filter(([, us]) => us >= 1).map(([k, us]) => k !== 'gateway' ? `${k} ${us.toFixed(1)}`
            : `gateway ${us.toFixed(1)} [loop ${loopUs.toFixed(1)}, ${sleeps.toFixed(2)} sleeps; other threads ${(us - loopUs).toFixed(1)}]`).join(', ');
          console.log(`round ${round} ${b.name.padEnd(8)} ${r.setting} c${r.connections}: ${result.requestsPerSec.toFixed(0)} req/s, p50 ${result.p50Us.toFixed(0)} µs, CPU per request ${tree.toFixed(1)} µs (${parts}), load ${loadavg()[0]!.toFixed(1)}`);
        } finally {
          await server.stop();
        }
      } finally {
        await dir.remove();
      }
    }
  }
}
