/**
 * Shared pieces of the pool manager's integration tests (real runtime processes, no mocks).
 * Function files come from test/helpers/runtime-process.ts (`writeFunction`, one temp dir each).
 */
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { defaultPoolConfig, PoolManager, type FunctionVersion, type InvocationResult, type PoolConfig } from '../../poolmgr/index.js';
import type { WireEvent } from '../../protocol/index.js';
import { after, before, type TestContext } from 'node:test';
import { pidNamed, pyNameSelf } from '../helpers/processes.js';
import { makeEvent, py, removeFunction, writeFunction } from '../helpers/runtime-process.js';

export { removeFunction, writeFunction, py } from '../helpers/runtime-process.js';

/**
 * One handler for most tests, steered by the query string:
 * sleep=S (seconds), exit=N (os._exit), kill=1 (SIGKILL itself), alloc=BYTES, garbage=1
 * (writes a frame header past the size limit onto the host socket). Returns its pid.
 */
export const STEERED_HANDLER = py(
  'import os, time',
  'def handler(event, context):',
  '    q = event["query"]',
  '    if "sleep" in q: time.sleep(float(q["sleep"]))',
  '    if "exit" in q: os._exit(int(q["exit"]))',
  '    if "kill" in q: os.kill(os.getpid(), 9)',
  '    if "alloc" in q: blob = bytearray(int(q["alloc"])); blob[-1] = 1',
  '    if "garbage" in q: os.write(3, b"\\xff\\xff\\xff\\xff")',
  '    return {"pid": os.getpid()}',
);

/** A pool with test-sized defaults (small pool, short spawn deadline); close it in t.after/after. */
export async function openPool(overrides: Partial<PoolConfig> = {}): Promise<PoolManager> {
  const pool = new PoolManager(defaultPoolConfig({ poolSize: 1, shutdownGraceMs: 1000, codeRoots: [tmpdir()], ...overrides }));
  await pool.start();
  return pool;
}

/**
 * A pool opened before the suite's tests and closed after them, with the function folders they
 * wrote (push them on `dirs`) removed then: `site.pool` once the tests run.
 */
export function usePool(overrides: Partial<PoolConfig> = {}): { pool: PoolManager; dirs: string[] } {
  const site = { pool: null as unknown as PoolManager, dirs: [] as string[] };
  before(async () => {
    site.pool = await openPool(overrides);
  });
  after(async () => {
    await site.pool.close();
    for (const dir of site.dirs) await removeFunction(dir);
  });
  return site;
}

/** A FunctionVersion with a random name, for the function files in `dir`. */
export function fnVersion(dir: string, overrides: Partial<FunctionVersion> = {}): FunctionVersion {
  return {
    name: `f-${randomUUID().slice(0, 8)}`, version: 'v1', dir, entrypoint: 'main:handler', env: {},
    memoryBytes: 0, timeoutMs: 5_000, concurrency: 1, maxInstances: 10, minWarm: 0, maxQueue: 100,
    ...overrides,
  };
}

/** An event whose query string steers STEERED_HANDLER, e.g. `ev({ sleep: '0.3' })`. */
export function ev(query: Record<string, string> = {}): WireEvent {
  const pairs = Object.entries(query);
  return makeEvent({ query: pairs, rawQuery: new URLSearchParams(pairs).toString() });
}

/**
 * The host pid of the instance that served a call (its box's keeper: alive exactly as long as
 * the instance's processes are); fails the test when the call failed. Inside its box a runtime
 * is always pid 2, so the handler's own os.getpid() cannot tell instances apart.
 */
export function pidOf(result: InvocationResult): number {
  if (result.response === null) throw new Error(`call failed: ${JSON.stringify(result.error)}`);
  const match = /-p(\d+)$/.exec(result.instanceId ?? '');
  if (match === null) throw new Error(`no instance id on ${JSON.stringify(result)}`);
  return Number(match[1]);
}

export function keyOf(fn: FunctionVersion): string {
  return `${fn.name}@${fn.version}`;
}

/** Polls `check` every 20 ms until it is true; throws after `timeoutMs` (a budget for a loaded machine, not a speed target). */
export async function until(check: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie has ended and holds nothing: a forked runtime whose zygote was killed first is
  // reaped by init a moment later (CI, loaded: one was still listed right after close()).
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/**
 * Pids of the runtimes this process started, read from /proc (Linux): its live children, and
 * the children of its zygotes (runtimes forked by a zygote: docs/adr/0019-zygotes.md), zygotes
 * themselves left out.
 */
export function childPids(): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid …": comm may hold spaces or parentheses, so read after the last ')'.
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended while we looked
    }
  }
  const zygotes = new Set<number>();
  for (const [pid, ppid] of parents) if (ppid === process.pid && isZygote(pid)) zygotes.add(pid);
  return [...parents].filter(([pid, ppid]) => (ppid === process.pid && !zygotes.has(pid)) || zygotes.has(ppid)).map(([pid]) => pid);
}

function isZygote(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('runtime/zygote.py');
  } catch {
    return false;
  }
}

/**
 * A call of a function whose load takes 0.8 s, and the host pid of its runtime once that loads
 * (the load names its process, its comm, so the test finds it from the host): for tests that do
 * something to a runtime while it loads. The function's folder goes after the test.
 */
export async function callWhileLoading(t: TestContext, pool: PoolManager): Promise<{ fn: FunctionVersion; call: Promise<InvocationResult>; pid: number }> {
  const tag = `ld-${randomUUID().slice(0, 8)}`;
  const loads = await writeFunction({ 'main.py': py('import time', pyNameSelf(tag), 'time.sleep(0.8)', 'def handler(event, context):', '    return 1') });
  t.after(() => removeFunction(loads));
  const fn = fnVersion(loads, { timeoutMs: 200 });
  const call = pool.invoke(fn, ev());
  let pid = 0;
  await until(() => (pid = pidNamed(tag)) > 0, 15_000, 'the loading runtime');
  return { fn, call, pid };
}

/** A call whose handler takes 0.5 s of its 1.5 s timeout, and the host pid of its runtime once the handler runs. */
export async function callWhileRunning(t: TestContext, pool: PoolManager): Promise<{ call: Promise<InvocationResult>; pid: number }> {
  const tag = `rn-${randomUUID().slice(0, 8)}`;
  const slow = await writeFunction({ 'main.py': py('import time', 'def handler(event, context):', `    ${pyNameSelf(tag)}`, '    time.sleep(0.5)', '    return 1') });
  t.after(() => removeFunction(slow));
  const call = pool.invoke(fnVersion(slow, { timeoutMs: 1500 }), ev());
  let pid = 0;
  await until(() => (pid = pidNamed(tag)) > 0, 15_000, 'the running call');
  return { call, pid };
}
