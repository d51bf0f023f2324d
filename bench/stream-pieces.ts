/**
 * Many small streamed pieces under concurrency, platform against uvicorn (bench/README.md "Apps
 * round 17: many small streamed pieces"): a StreamingResponse of `--n` pieces of `--sizes` bytes
 * each (bench/fixtures/bigbody/app.py `/pieces`), fetched by `--clients` clients at once (one
 * `curl --parallel`), from each checkout's gateway and from uvicorn (uvloop, httptools, 1 worker),
 * in turn, the order reversed every other round. Printed per size and client count: the median
 * wall time of the batch, the CPU of each server's process tree (/proc: the gateway and its
 * runtimes, or uvicorn), and the median of each round's ratio platform / uvicorn (paired: both ran
 * in the same round, under the same load).
 * Not a section of run.js: run by hand,
 *   node dist/bench/stream-pieces.js [name=<checkout>,…] [--rounds 5] [--n 2000] [--sizes 10,100,1024] [--clients 1,8,30] [--cpu-prof]
 * (`--cpu-prof`: each gateway under `node --cpu-prof`; its profile is written in its working directory only
 * if it exits within the stop's 3 s grace: for a sure profile, stop the gateway by hand, as in the round's notes).
 * A load of seconds; FP_BENCH_PORTS=35800-35999 keeps the servers' ports in a range.
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ROOT } from './paths.js';
import { descendants, processCpuUs } from './proc-cpu.js';
import { median } from './stats.js';
import { startPlatform, startUvicorn, type Side } from './stream-sides.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '5' },
    n: { type: 'string', default: '2000' },
    sizes: { type: 'string', default: '10,100,1024' },
    clients: { type: 'string', default: '1,8,30' },
    'cpu-prof': { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const pieces = Number(values.n);
const sizes = values.sizes.split(',').map(Number);
const clientCounts = values.clients.split(',').map(Number);
const builds = (positionals[0] ?? `platform=${ROOT}`).split(',').filter(Boolean).map((kv) => {
  const at = kv.indexOf('=');
  return { name: kv.slice(0, at), root: resolve(kv.slice(at + 1)) };
});

interface Sample { ms: number; serverCpuMs: number; runtimeCpuMs: number }

/** `clients` requests at once, one curl process: the wall time of the batch; every answer checked whole. */
function batch(url: string, clients: number, bytes: number): Promise<number> {
  const args = ['-s', '-Z', '--parallel-max', String(clients), '-w', '%{http_code} %{size_download}\n'];
  for (let i = 0; i < clients; i++) args.push('-o', '/dev/null', url);
  const t0 = performance.now();
  return new Promise((done, fail) => {
    execFile('curl', args, (err, stdout) => {
      const ms = performance.now() - t0;
      if (err !== null) return fail(err);
      const lines = stdout.trim().split('\n');
      const bad = lines.filter((l) => l !== `200 ${bytes}`);
      if (lines.length !== clients || bad.length > 0) return fail(new Error(`${url}: ${lines.length} answers, unexpected: ${bad.slice(0, 3).join('; ')}`));
      done(ms);
    });
  });
}

async function once(side: Side, size: number, clients: number): Promise<Sample> {
  const url = `http://127.0.0.1:${side.server.port}${side.prefix}/pieces?n=${pieces}&size=${size}`;
  const pids = descendants(side.server.pid);
  const cpu = (): [number, number] => [processCpuUs(side.server.pid), pids.reduce((sum, p) => sum + processCpuUs(p), 0)];
  const [server0, runtimes0] = cpu();
  const ms = await batch(url, clients, pieces * size);
  const [server1, runtimes1] = cpu();
  return { ms, serverCpuMs: (server1 - server0) / 1000, runtimeCpuMs: (runtimes1 - runtimes0) / 1000 };
}

const sides: Side[] = [];
try {
  for (const b of builds) sides.push(await startPlatform(b.name, b.root, values['cpu-prof'] ? ['--cpu-prof'] : []));
  sides.push(await startUvicorn());
  for (const side of sides) await once(side, sizes[0]!, 1); // warm: the function's instance
  const samples = new Map<string, Sample[]>();
  for (let round = 1; round <= rounds; round++) {
    for (const size of sizes) {
      for (const clients of clientCounts) {
        for (const side of round % 2 === 1 ? sides : [...sides].reverse()) {
          const s = await once(side, size, clients);
          const key = `${size} ${clients} ${side.name}`;
          samples.set(key, [...(samples.get(key) ?? []), s]);
          console.error(`round ${round} ${`${size} B × ${clients} ${side.name}`.padEnd(26)} ${s.ms.toFixed(0).padStart(6)} ms, server ${s.serverCpuMs.toFixed(0)} ms CPU, runtimes ${s.runtimeCpuMs.toFixed(0)} ms CPU, load ${loadavg()[0]!.toFixed(1)}`);
        }
      }
    }
  }
  console.log(`\nmedians of ${rounds} rounds, ${pieces} pieces a response; ratio: the median of each round's platform / uvicorn wall time`);
  console.log('| piece | clients | server | wall ms | server CPU ms | its runtimes CPU ms | ratio |');
  console.log('|---|---|---|---|---|---|---|');
  for (const size of sizes) {
    for (const clients of clientCounts) {
      const base = samples.get(`${size} ${clients} uvicorn`) ?? [];
      for (const side of sides) {
        const list = samples.get(`${size} ${clients} ${side.name}`) ?? [];
        const m = (f: (s: Sample) => number): number => median(list.map(f));
        const uv = side.name === 'uvicorn';
        const ratio = uv ? '—' : `${median(list.map((s, i) => s.ms / base[i]!.ms)).toFixed(2)}×`;
        console.log(`| ${size} B | ${clients} | ${side.name} | ${m((s) => s.ms).toFixed(0)} | ${m((s) => s.serverCpuMs).toFixed(0)} | ${uv ? '—' : m((s) => s.runtimeCpuMs).toFixed(0)} | ${ratio} |`);
      }
    }
  }
} finally {
  for (const side of sides) await side.server.stop();
}
