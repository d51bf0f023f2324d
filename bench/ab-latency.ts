/**
 * Latency at one keep-alive connection, before and after, side by side (issues 10 and 11): every
 * server is started once, then `wrk -c1 -t1` runs against each in turn, round after round (the
 * order reversed every other round), so the machine's load lands on all of them alike. Servers:
 * bare uWS (section 2's baseline) and each checkout's platform with `hello` at 1x1 (embedded,
 * recording on); with `shop`, uvicorn (1 worker) and each checkout's gateway serving section 6's
 * FastAPI app at 1x1 with its request mix. Prints every run, then per server the median p50 and
 * p99, requests/s, and the CPU time and voluntary context switches of its process tree per
 * request (steadier than latency on a shared machine). Not a section of the bench: run by hand,
 *   node dist/bench/ab-latency.js <name>=<checkout>[@<node flag>…][,<name>=<checkout>…] [rounds] [seconds] [hello,shop]
 * where each checkout is built (its dist/ and runtime/ are used), e.g. `main=/work/main,new=.`;
 * Node flags after `@` go to that platform's process (hello only), e.g.
 * `main=/work/main,semi1=/work/main@--max-semi-space-size=1`: one build with and without a flag.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { tempDir } from './functions.js';
import { startGateway } from './gateway.js';
import { HELLO_PATH, startUwsHello } from './load.js';
import { PYTHON, SHOP_DIR } from './paths.js';
import { platformWithHello } from './platform.js';
import { treeCpuUs } from './proc-cpu.js';
import { childEnv, freePort, startServer } from './servers.js';
import { runWrk } from './wrk.js';

interface Target { name: string; pid: number; url: string; script?: string; scriptArgs?: string[] }

const spec = process.argv[2];
if (!spec) {
  console.error('usage: node dist/bench/ab-latency.js <name>=<checkout>[,…] [rounds] [seconds] [hello,shop]');
  process.exit(2);
}
const checkouts = spec.split(',').map((kv) => {
  const [path, ...flags] = kv.slice(kv.indexOf('=') + 1).split('@');
  return [kv.slice(0, kv.indexOf('=')), resolve(path!), flags] as const;
});
const rounds = Number(process.argv[3] ?? '6');
const seconds = Number(process.argv[4] ?? '3');
const which = (process.argv[5] ?? 'hello,shop').split(',');
const MIX = join(SHOP_DIR, 'mix.lua');

/** Voluntary context switches of a process tree (every thread), from /proc. */
function treeSwitches(root: number): number {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  let total = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    try {
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8'));
        total += Number(m?.[1] ?? 0);
      }
    } catch {
      // gone meanwhile
    }
    stack.push(...(parents.get(pid) ?? []));
  }
  return total;
}

const stops: (() => Promise<void>)[] = [];
const targets: Target[] = [];
try {
  if (which.includes('hello')) {
    const bare = await startUwsHello();
    stops.push(() => bare.stop());
    targets.push({ name: 'bare uWS', pid: bare.pid, url: `http://127.0.0.1:${bare.port}${HELLO_PATH}` });
    for (const [name, root, nodeArgs] of checkouts) {
      const s = await platformWithHello({ store: 'embedded' }, { maxInstances: 1, concurrency: 1 }, { main: join(root, 'dist', 'platform', 'main.js'), nodeArgs: [...nodeArgs] });
      stops.push(() => s.stop());
      targets.push({ name: `hello ${name}`, pid: s.pid, url: `http://127.0.0.1:${s.port}${HELLO_PATH}` });
    }
  }
  if (which.includes('shop')) {
    const port = await freePort();
    const uvicorn = await startServer({
      name: 'uvicorn', command: PYTHON, env: childEnv(), port, readyPath: '/health',
      args: ['-m', 'uvicorn', 'app:app', '--app-dir', SHOP_DIR, '--host', '127.0.0.1', '--port', String(port),
        '--loop', 'uvloop', '--http', 'httptools', '--no-access-log', '--log-level', 'warning', '--workers', '1'],
    });
    stops.push(() => uvicorn.stop());
    targets.push({ name: 'uvicorn', pid: uvicorn.pid, url: `http://127.0.0.1:${port}`, script: MIX, scriptArgs: [''] });
    for (const [name, root] of checkouts) {
      const dir = await tempDir('shop');
      stops.push(() => dir.remove());
      await mkdir(join(dir.path, 'shop'));
      await copyFile(join(SHOP_DIR, 'app.py'), join(dir.path, 'shop', 'app.py'));
      await writeFile(join(dir.path, 'shop', 'platform.yaml'),
        'kind: function\nname: shop\nentrypoint: app:app\nlimits:\n  maxInstances: 1\n  concurrency: 1\n  maxQueue: 10000\n');
      // The other checkout's own gateway: its PLATFORM_MAIN, with this bench's settings.
      const other = (await import(join(root, 'dist', 'bench', 'gateway.js'))) as { startGateway: typeof startGateway };
      const s = await other.startGateway({ functionsDir: dir.path, poolSize: 3, verbose: false });
      stops.push(() => s.stop());
      targets.push({ name: `shop ${name}`, pid: s.pid, url: `http://127.0.0.1:${s.port}`, script: MIX, scriptArgs: ['/fn/shop'] });
    }
  }
  const runs = new Map(targets.map((t) => [t.name, { p50: [] as number[], p99: [] as number[], rps: [] as number[], cpu: [] as number[], vcs: [] as number[] }]));
  for (const t of targets) await runWrk({ url: t.url, connections: 1, threads: 1, durationS: 1, script: t.script, scriptArgs: t.scriptArgs });
  for (let round = 1; round <= rounds; round++) {
    const line: string[] = [];
    for (const t of round % 2 === 1 ? targets : [...targets].reverse()) {
      const cpu = treeCpuUs(t.pid);
      const vcs = treeSwitches(t.pid);
      const wrk = await runWrk({ url: t.url, connections: 1, threads: 1, durationS: seconds, script: t.script, scriptArgs: t.scriptArgs });
      const n = Math.max(1, wrk.requests);
      const r = runs.get(t.name)!;
      r.p50.push(wrk.p50Us);
      r.p99.push(wrk.p99Us);
      r.rps.push(wrk.requestsPerSec);
      r.cpu.push((treeCpuUs(t.pid) - cpu) / n);
      r.vcs.push((treeSwitches(t.pid) - vcs) / n);
      line.push(`${t.name} ${wrk.p50Us.toFixed(0)}/${wrk.p99Us.toFixed(0)}`);
    }
    console.log(`round ${round} (load ${loadavg()[0]!.toFixed(2)}), p50/p99 µs: ${line.join('  ')}`);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  for (const [name, r] of runs) {
    console.log(`${name.padEnd(14)} median p50 ${median(r.p50).toFixed(0)} µs  p99 ${median(r.p99).toFixed(0)} µs  ${median(r.rps).toFixed(0)} req/s  CPU ${median(r.cpu).toFixed(1)} µs/request  ${median(r.vcs).toFixed(2)} voluntary switches/request`);
  }
} finally {
  for (const stop of stops.reverse()) await stop();
}
