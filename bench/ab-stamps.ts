/**
 * A cold start from the pool, stage by stage, two runtimes side by side (issue 11; bench/README.md
 * "Where the time goes", hot5). Not a section of the bench: run by hand, as root,
 *   node dist/bench/ab-stamps.js <runtime dir A> <runtime dir B> [n]
 * each a copy of a checkout's runtime/ patched by bench/stage_stamps.py. One `PoolManager` of 1 per
 * side (sandbox as the machine's, this build's host), `n` fresh `hello` versions each, prepared
 * and expected as a deploy does, 256 MiB, the sides interleaved one for one. The host's stages are
 * stamped around `Instance.specialize`, `RuntimeProcess.place` and `flush`, and where `specialized`
 * is read; the runtime's come with its `specialized` reply. Prints, per stage between consecutive
 * stamps, the p50 of each side and B ÷ A; then the runtime's part (frame read → reply built), its
 * minor faults and its CPU time, and the whole call; then, for each of the slowest tenth of the calls
 * of both sides, the three stages furthest over their medians (the tail: issue 11's p99).
 */
import { loadavg } from 'node:os';
import { defaultPoolConfig, PoolManager } from '../poolmgr/index.js';
import { Instance } from '../poolmgr/instance.js';
import { RuntimeProcess } from '../poolmgr/runtime-process.js';
import { version } from './cold-zygote.js';
import { tempDir, writeHelloFunction } from './functions.js';
import { PYTHON } from './paths.js';
import { sleep } from './servers.js';
import { percentile } from './stats.js';

const dirs = { A: process.argv[2], B: process.argv[3] };
if (!dirs.A || !dirs.B) {
  console.error('usage: node dist/bench/ab-stamps.js <runtime dir A> <runtime dir B> [n]   (copies patched by bench/stage_stamps.py)');
  process.exit(2);
}
const n = Number(process.argv[4] ?? '30');
const SIDES = ['A', 'B'] as const;
type Side = (typeof SIDES)[number];
type Row = Record<string, bigint> & { stages?: [string, number][] };
const EVENT = { method: 'GET', path: '/', rawQuery: '', query: [], headers: [], body: new Uint8Array(0), requestId: 'st' };

let current: Row | null = null;
function mark(stage: string): void {
  if (current !== null && current[stage] === undefined) current[stage] = process.hrtime.bigint();
}
// The host's stamps: the prototypes wrapped, this process only.
type Wrapped = Record<string, (this: unknown, ...args: unknown[]) => unknown>;
function around(proto: object, method: string, before: string | null, after: string | null): void {
  const target = proto as Wrapped;
  const original = target[method]!;
  target[method] = function (this: unknown, ...args: unknown[]) {
    if (before !== null) mark(before);
    const out = original.apply(this, args);
    if (after !== null) mark(after);
    return out;
  };
}
around(Instance.prototype, 'specialize', 'host: specialize', null);
around(RuntimeProcess.prototype, 'place', null, 'host: placed');
around(RuntimeProcess.prototype, 'flush', 'host: encoded', 'host: written');
const onMessage = (Instance.prototype as unknown as Wrapped).onMessage!;
(Instance.prototype as unknown as Wrapped).onMessage = function (this: unknown, proc: unknown, msg: unknown) {
  const m = msg as { t: string; stages?: [string, number][] };
  if (m.t === 'specialized' && current !== null) {
    mark('host: specialized read');
    current.stages = m.stages;
  }
  return onMessage.call(this, proc, msg);
};

const root = await tempDir('ab-stamps');
const pools = { A: pool('A'), B: pool('B') };
function pool(side: Side): PoolManager {
  return new PoolManager(defaultPoolConfig({ poolSize: 1, codeRoots: [root.path], pythonPath: PYTHON, runtimeEntry: `${dirs[side]}/bootstrap.py` }));
}
const rows: Record<Side, Row[]> = { A: [], B: [] };
const loadBefore = loadavg()[0]!;
try {
  await Promise.all(SIDES.map((side) => pools[side].start()));
  for (let i = -3; i < n; i++) {
    for (const side of i % 2 === 0 ? SIDES : [...SIDES].reverse()) {
      const p = pools[side];
      const name = `st-${side}-${i + 3}`;
      const dir = await writeHelloFunction(root.path, name, {}, name);
      await p.prepare(dir);
      await p.expect(dir, 'main:handler');
      for (let waited = 0; p.stats().generic < 1 || p.stats().spawning > 0; waited += 5) {
        if (waited > 15_000) throw new Error(`${side}: the pool did not refill`);
        await sleep(5);
      }
      await sleep(30);
      const row: Row = { 'host: invoke': process.hrtime.bigint() };
      current = row;
      const r = await p.invoke({ ...version(dir, name), memoryBytes: 256 * 2 ** 20 }, { ...EVENT, requestId: name });
      row['host: result'] = process.hrtime.bigint();
      current = null;
      if (r.error !== null || r.start !== 'pool') throw new Error(`${side}: not a cold start from the pool: ${JSON.stringify(r.error ?? r.start)}`);
      if (row.stages === undefined) throw new Error(`${side}: no stamps in the reply (is ${dirs[side]} patched by bench/stage_stamps.py?)`);
      if (i >= 0) rows[side].push(row);
    }
  }
} finally {
  await Promise.all(SIDES.map((side) => pools[side].close()));
  await root.remove();
}

/** Durations (µs) between consecutive stamps by stage name, and the runtime's totals. */
function stages(side: Side): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const add = (key: string, value: number): void => {
    if (!out.has(key)) out.set(key, []);
    out.get(key)!.push(value);
  };
  for (const row of rows[side]) {
    const times: [string, bigint][] = Object.entries(row).filter((e): e is [string, bigint] => typeof e[1] === 'bigint');
    const extra = new Map<string, number>();
    for (const [key, value] of row.stages!) {
      if (key.includes('#')) extra.set(key, value);
      else times.push([key, BigInt(value)]);
    }
    times.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    for (let j = 1; j < times.length; j++) add(`${times[j - 1]![0]} → ${times[j]![0]}`, Number(times[j]![1] - times[j - 1]![1]) / 1000);
    const at = (key: string): bigint => BigInt(row.stages!.find((s) => s[0] === key)![1]);
    add('the runtime: frame read → reply built', Number(at('reply') - at('recv')) / 1000);
    add('… its minor faults', extra.get('reply#flt')! - extra.get('recv#flt')!);
    add('… its CPU time (µs)', (extra.get('reply#cpu')! - extra.get('recv#cpu')!) / 1000);
    add('the whole call (invoke → result)', Number(row['host: result']! - row['host: invoke']!) / 1000);
  }
  return out;
}
const a = stages('A');
const b = stages('B');
console.log(`A = ${dirs.A}\nB = ${dirs.B}\nn = ${n} each, load ${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}; p50 in µs`);
for (const [key, values] of a) {
  const other = b.get(key);
  // A stage that not every cold start has in this order (a stamp that raced another) is left out.
  if (other === undefined || values.length < n / 2 || other.length < n / 2) continue;
  const pa = percentile(values, 50);
  const pb = percentile(other, 50);
  console.log(`${key.padEnd(44)} A ${pa.toFixed(0).padStart(7)}  B ${pb.toFixed(0).padStart(7)}  B/A ${(pb / pa).toFixed(2)}`);
}
// The tail (issue 11: p99 ≤ 5 ms): for each of the slowest tenth of all cold starts (both sides), the
// stages that took longest beyond their median over all calls.
const whole = 'the whole call (invoke → result)';
const all = [...a.get(whole)!.map((v, i) => ['A', i, v] as const), ...b.get(whole)!.map((v, i) => ['B', i, v] as const)].sort((x, y) => y[2] - x[2]);
const medians = new Map<string, number>();
for (const [key, values] of a) {
  const other = b.get(key);
  if (key !== whole && !key.startsWith('the runtime') && !key.startsWith('…') && other !== undefined && values.length === n && other.length === n) medians.set(key, percentile([...values, ...other], 50));
}
console.log(`\nthe slowest tenth (whole call p50 ${percentile(all.map((x) => x[2]), 50).toFixed(0)} µs): each one's stages furthest over their medians, µs`);
for (const [side, i, total] of all.slice(0, Math.max(1, Math.round(all.length / 10)))) {
  const stagesOf = side === 'A' ? a : b;
  const over = [...medians].map(([key, m]) => [key, stagesOf.get(key)![i]! - m] as const).sort((x, y) => y[1] - x[1]).slice(0, 3);
  console.log(`  ${(total / 1000).toFixed(1).padStart(6)} ms: ${over.map(([key, d]) => `${key} +${d.toFixed(0)}`).join('; ')}`);
}
process.exit(0);
