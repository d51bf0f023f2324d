/**
 * Where the two cores go under load (issue 11): the limit and the platform at several settings,
 * interleaved, each under the same wrk; for every process of the run (the server, its runtimes or
 * worker, wrk) its CPU utilization (% of one core) and its context switches per request, and the
 * machine's busy share (/proc/stat, other work included), and the share of the run each process
 * spent runnable but waiting for a CPU (`runq`, schedstat; over 100 % for several threads). Not a section of the bench: run by hand,
 *   node dist/bench/utilization.js [rounds] [seconds] [connections] [setting,setting…|limit] [A env]
 * e.g. `node dist/bench/utilization.js 3 4 64 limit,2x1,1x1,2x2` (settings `maxInstances x concurrency`,
 * `2x1@FP_X=1;FP_Y=2` for settings of one run).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { HELLO_PATH, startLimit } from './load.js';
import { platformWithHello } from './platform.js';
import { descendants, processCpuUs, processRunqueueWaitUs, processSwitches } from './proc-cpu.js';
import { sleep, type RunningServer } from './servers.js';
import { runWrk } from './wrk.js';

const rounds = Number(process.argv[2] ?? '3');
const seconds = Number(process.argv[3] ?? '4');
const connections = Number(process.argv[4] ?? '64');
const labels = (process.argv[5] ?? 'limit,2x1').split(',');
const env = Object.fromEntries((process.argv[6] ?? '').split(',').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

interface Snap { cpuUs: number; vol: number; invol: number; waitUs: number }
const comm = (pid: number): string => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return '?'; } };
const snap = (pids: number[]): Map<number, Snap> => new Map(pids.map((pid) => {
  const s = processSwitches(pid);
  return [pid, { cpuUs: processCpuUs(pid), vol: s.voluntary, invol: s.involuntary, waitUs: processRunqueueWaitUs(pid) }];
}));
/** Busy and total jiffies of the whole machine. */
const machine = (): { busy: number; total: number } => {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
};

async function start(label: string): Promise<RunningServer> {
  if (label === 'limit') return startLimit();
  // `2x1@K=V;K=V`: FP_* settings of this run only (after the common ones).
  const [setting, own] = label.split('@') as [string, string | undefined];
  const [maxInstances, concurrency] = setting.split('x').map(Number) as [number, number];
  const extra = Object.fromEntries((own ?? '').split(';').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return platformWithHello({ store: 'embedded' }, { maxInstances, concurrency }, { env: { ...env, ...extra } });
}

for (let round = 1; round <= rounds; round++) {
  for (const label of labels) {
    const server = await start(label);
    try {
      const url = `http://127.0.0.1:${server.port}${HELLO_PATH}`;
      await runWrk({ url, connections, threads: 2, durationS: 1 });
      const running = runWrk({ url, connections, threads: 2, durationS: seconds });
      await sleep(300);
      const pids = descendants(process.pid);
      const names = new Map(pids.map((pid) => [pid, pid === server.pid ? 'server' : comm(pid)]));
      const m0 = machine();
      const t0 = performance.now();
      const a = snap(pids);
      await sleep(seconds * 1000 - 700);
      const b = snap(pids);
      const m1 = machine();
      const t1 = performance.now();
      const wrk = await running;
      const wallUs = (t1 - t0) * 1000;
      const requests = wrk.requestsPerSec * (wallUs / 1e6);
      const parts: string[] = [];
      let sum = 0;
      for (const pid of pids) {
        const x = a.get(pid)!;
        const y = b.get(pid)!;
        const pct = ((y.cpuUs - x.cpuUs) / wallUs) * 100;
        if (pct < 1) continue;
        sum += pct;
        const name = names.get(pid)!;
        parts.push(`${name} ${pct.toFixed(0)}% ${((y.cpuUs - x.cpuUs) / requests).toFixed(1)}µs runq ${(((y.waitUs - x.waitUs) / wallUs) * 100).toFixed(0)}% v${((y.vol - x.vol) / requests).toFixed(3)} i${((y.invol - x.invol) / requests).toFixed(3)}`);
      }
      const busyPct = ((m1.busy - m0.busy) / (m1.total - m0.total)) * 200;
      console.log(`round ${round} ${label.padEnd(10)} ${wrk.requestsPerSec.toFixed(0).padStart(6)} req/s p50 ${wrk.p50Us.toFixed(0)}µs | ours ${sum.toFixed(0)}% machine ${busyPct.toFixed(0)}% of 200 | ${parts.join(' | ')} | load ${loadavg()[0]!.toFixed(1)}`);
    } finally {
      await server.stop();
    }
  }
}
