/**
 * What the slowest requests at one connection wait for (issue 11: p99 ≤ 1 ms): the embedded platform
 * with `hello` at 1x1 (recording on, sandbox on) loaded with bench/tail-shim.ts, one keep-alive
 * connection from this process sending the next request as soon as the last answer is read, each
 * request stamped (sent, answer read; CLOCK_MONOTONIC, as the shim stamps the gateway's GC pauses
 * and its timer callbacks over 100 µs). Prints the latency percentiles, the gateway's events by
 * kind (how often, wall and CPU time), and for each kind the requests in flight while it ran: how
 * many, their median, how many of them are among the slowest 1 %; and how many of the slowest 1 %
 * overlap no event at all (their wait is elsewhere: the runtime, the wake-ups, other processes).
 * With `--rt` the gateway (every thread) and this client run under SCHED_RR (root), so other work on
 * a shared machine cannot preempt them; `--rt-all` the platform's runtimes and zygotes too, after
 * giving the platform's own cpu cgroups real-time time (cgroup v1 `cpu.rt_runtime_us`: 0 in a new
 * cgroup, where a real-time task may not run; the cgroups go with the platform). What is left then is
 * the platform's own work and the machine's wake-ups, not the wait for a CPU. Not a section of the
 * bench: run by hand (as root for `--rt`),
 *   node dist/bench/tail.js [seconds] [--rt|--rt-all] [--env FP_X=1,FP_Y=2] [--node-args "<flags for the platform's node>"] [--idle S] [--keep FILE]
 * `--idle S`: the platform left idle S seconds after its warm-up, before the measured run (V8 shrinks
 * an idle gateway's young generation: bench/README.md, "The young generation after an idle spell").
 * `--keep` writes the stamps and events as JSON (e.g. to line them up with `perf record -k CLOCK_MONOTONIC`).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir } from './functions.js';
import { HELLO_PATH } from './load.js';
import { ROOT } from './paths.js';
import { platformWithHello } from './platform.js';
import { sleep } from './servers.js';
import { median, percentile } from './stats.js';
import type { TailEvent } from './tail-shim.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at < 0 ? undefined : args.splice(at, 2)[1];
};
const take = (name: string): boolean => (args.includes(name) ? (args.splice(args.indexOf(name), 1), true) : false);
const rtAll = take('--rt-all');
const rt = take('--rt') || rtAll;
const extraNodeArgs = (flag('--node-args') ?? '').split(' ').filter((a) => a.length > 0);
const keep = flag('--keep');
const idleS = Number(flag('--idle') ?? '0');
const platformEnv = Object.fromEntries((flag('--env') ?? '').split(',').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const seconds = Number(args[0] ?? '10');

/**
 * The platform's process tree, the cpu cgroups its processes are in given real-time time first (the
 * platform's own, `fp-<pid>-…/l<n>` under the cpu hierarchy: 0.9 s a second shared out among them).
 */
function realTimeTree(root: number): number[] {
  const cpu = '/sys/fs/cgroup/cpu';
  const tree = processTree(root);
  // The leaves the tree's processes are in (`/proc/<pid>/cgroup`'s cpu line), by top.
  const used = new Map<string, Set<string>>();
  for (const pid of tree) {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes('cpu'));
    const [top, leaf] = (line?.split(':')[2] ?? '').split('/').filter((part) => part.length > 0);
    if (top?.startsWith(`fp-${root}-`) && leaf !== undefined) used.set(top, (used.get(top) ?? new Set()).add(leaf));
  }
  const perTop = Math.floor(900_000 / Math.max(1, used.size)); // the cpu hierarchy's root allows 950 000 µs a second
  for (const [top, leaves] of used) {
    writeFileSync(join(cpu, top, 'cpu.rt_runtime_us'), String(perTop));
    for (const leaf of leaves) writeFileSync(join(cpu, top, leaf, 'cpu.rt_runtime_us'), String(Math.floor(perTop / leaves.size)));
  }
  return tree;
}

/** The pids of `root` and all its descendants. */
function processTree(root: number): number[] {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid=']).toString().trim().split('\n').map((line) => line.trim().split(/\s+/).map(Number));
  const tree = [root];
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of rows) {
      if (tree.includes(ppid!) && !tree.includes(pid!)) {
        tree.push(pid!);
        grew = true;
      }
    }
  }
  return tree;
}

/** One connection, one request at a time, for `durationS`: [sent, answer read] per request (ns). */
function oneConnection(port: number, durationS: number): Promise<[bigint, bigint][]> {
  const request = Buffer.from(`GET ${HELLO_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    const stamps: [bigint, bigint][] = [];
    const end = process.hrtime.bigint() + BigInt(Math.round(durationS * 1e9));
    let text = '';
    let sent = 0n;
    const send = (): void => {
      sent = process.hrtime.bigint();
      socket.write(request);
    };
    socket.on('connect', send);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      if (head < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(text.slice(0, head))?.[1] ?? 0);
      if (text.length < head + 4 + length) return;
      const read = process.hrtime.bigint();
      stamps.push([sent, read]);
      text = text.slice(head + 4 + length);
      if (read < end) send();
      else {
        socket.end();
        resolve(stamps);
      }
    });
  });
}

const dir = await tempDir('tail');
const eventsFile = join(dir.path, 'events.json');
const shim = pathToFileURL(join(ROOT, 'dist', 'bench', 'tail-shim.js')).href;
const server = await platformWithHello({ store: 'embedded' }, { maxInstances: 1, concurrency: 1 }, {
  env: { ...platformEnv, FP_TAIL_OUT: eventsFile },
  nodeArgs: ['--import', shim, ...extraNodeArgs],
});
try {
  // `--rt`: the gateway's threads and this client only. A new box's cpu cgroup gives real-time tasks no time
  // (cgroup v1 `cpu.rt_runtime_us` 0): `--rt-all` gives the ones in use some first, and a refill forked by
  // the real-time zygote into a cgroup made ahead may fail and be retried (the pool's backoff) meanwhile.
  await oneConnection(server.port, 2); // warm-up: `hello`'s instance is there before the real-time switch
  if (rt) for (const pid of rtAll ? realTimeTree(server.pid) : [server.pid]) execFileSync('chrt', ['-a', '-r', '-p', '10', String(pid)]);
  if (rt) execFileSync('chrt', ['-a', '-r', '-p', '10', String(process.pid)]);
  await oneConnection(server.port, 1);
  if (idleS > 0) await sleep(idleS * 1000);
  process.kill(server.pid, 'SIGUSR2'); // the events so far are dropped
  await sleep(200);
  const stamps = await oneConnection(server.port, seconds);
  process.kill(server.pid, 'SIGUSR2');
  await sleep(300);
  const events = JSON.parse(readFileSync(eventsFile, 'utf8')) as TailEvent[];
  if (keep !== undefined) writeFileSync(keep, JSON.stringify({ stamps: stamps.map(([a, b]) => [String(a), String(b)]), events }));
  report(stamps, events);
  if (rtAll) {
    // Spawned since (a refill into a cgroup made ahead, which has no real-time time) or not: said, not assumed.
    const classes = execFileSync('ps', ['-o', 'cls=', '-p', processTree(server.pid).join(',')]).toString().trim().split(/\s+/);
    console.log(`the platform's processes now: ${classes.filter((c) => c === 'RR').length} SCHED_RR, ${classes.filter((c) => c !== 'RR').length} not`);
  }
} finally {
  await server.stop();
  await dir.remove();
}

function report(stamps: [bigint, bigint][], events: TailEvent[]): void {
  const latency = stamps.map(([a, b]) => Number(b - a) / 1e3);
  const p99 = percentile(latency, 99);
  console.log(`${stamps.length} requests in ${seconds} s${rtAll ? ' (all SCHED_RR)' : rt ? ' (gateway and client SCHED_RR)' : ''}: p50 ${percentile(latency, 50).toFixed(0)} µs, p90 ${percentile(latency, 90).toFixed(0)}, `
    + `p99 ${p99.toFixed(0)}, p99.9 ${percentile(latency, 99.9).toFixed(0)}, max ${Math.max(...latency).toFixed(0)}`);
  const kindOf = (e: TailEvent): string => (e[0] === 'gc' ? `gc (kind ${e[3]})` : `${e[0]} ${String(e[3]).split(' < ')[0]}`);
  const spans = events.map((e) => ({ kind: kindOf(e), start: BigInt(e[1]), end: BigInt(e[1]) + BigInt(e[2] * 1000), wall: e[2], cpu: e[4] }));
  const kinds = new Map<string, { wall: number[]; cpu: number[]; hit: number[] }>();
  for (const s of spans) {
    const k = kinds.get(s.kind) ?? { wall: [], cpu: [], hit: [] };
    k.wall.push(s.wall);
    if (s.cpu >= 0) k.cpu.push(s.cpu);
    kinds.set(s.kind, k);
  }
  let slowAlone = 0;
  let slow = 0;
  stamps.forEach(([a, b], i) => {
    const over = new Set(spans.filter((s) => s.start < b && s.end > a).map((s) => s.kind));
    for (const kind of over) kinds.get(kind)!.hit.push(latency[i]!);
    if (latency[i]! >= p99) {
      slow++;
      if (over.size === 0) slowAlone++;
    }
  });
  console.log('the gateway\'s events (per second; wall and CPU µs, median / max) and the requests in flight while each ran:');
  for (const [kind, k] of [...kinds].sort((x, y) => y[1].hit.length - x[1].hit.length)) {
    const cpu = k.cpu.length > 0 ? `CPU ${median(k.cpu).toFixed(0)}` : 'CPU -';
    console.log(`  ${(k.wall.length / seconds).toFixed(1).padStart(6)}/s  wall ${median(k.wall).toFixed(0)} / ${Math.max(...k.wall)}  ${cpu}  `
      + `requests ${k.hit.length} (${(100 * k.hit.length / stamps.length).toFixed(2)} %), median ${median(k.hit).toFixed(0)} µs, ${k.hit.filter((l) => l >= p99).length} at ≥ p99  ${kind}`);
  }
  console.log(`slowest 1 % (${slow} requests ≥ ${p99.toFixed(0)} µs): ${slowAlone} overlap none of these events`);
}
