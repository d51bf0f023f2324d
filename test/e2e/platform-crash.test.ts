/**
 * A platform process killed in the middle of an async run (issue 5, "no accepted run is lost"):
 * `node dist/platform/main.js` is SIGKILLed while an attempt runs (its runtimes die with it:
 * PR_SET_PDEATHSIG); started again on the same state directory, the run's lease expires, the
 * attempt is redelivered and the run ends `succeeded`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ferretdbPid, isAlive } from '../helpers/processes.js';
import { serverSkip } from '../helpers/servers.js';
import { started, startMain } from './main-harness.js';
import { Api, deployed, fnName, py, sleep } from './platform-harness.js';

/** The FerretDB a platform started for `stateDir`, if it has one (none when FerretDB is not installed). */
function ferretdbPids(stateDir: string): number[] {
  try {
    return [ferretdbPid(stateDir)];
  } catch {
    return [];
  }
}

/** A short lease, so the killed process's claim expires quickly. */
const ENV = { FP_DISPATCH_LEASE_MS: '1000' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- run views are read as JSON
async function runState(api: Api, runId: string, until: (state: string) => boolean, timeoutMs: number): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.call('GET', `/runs/${runId}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (until(res.body.run.state)) return res.body.run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${res.body.run.state}`);
    await sleep(50);
  }
}

/** Host pids whose command name (comm) is `name`. */
function pidsNamed(name: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe('a platform killed outright while a handler is busy', { timeout: 60_000 }, () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'fp-orphan-'));
  after(() => rmSync(stateDir, { recursive: true, force: true }));

  // Its box died with it only when the handler read the closed channel: one busy in a loop ran on
  // for ever, past its timeout, with no one left to enforce it (reliability probe, 2026-12-04).
  it('SIGKILL: the busy handler\'s process dies with it (its box goes with the platform)', async () => {
    const first = startMain(['--state-dir', stateDir, '--port', '0'], ENV);
    const { url, token } = await started(first);
    const name = fnName('spin');
    const marker = `fp${randomBytes(5).toString('hex')}`; // a comm of at most 15 characters
    await deployed(new Api(url, token!), name, { 'main.py': py(
      'import ctypes',
      'def handler(event, context):',
      '    ctypes.CDLL(None).prctl(15, event["query"]["name"].encode(), 0, 0, 0)  # PR_SET_NAME',
      '    while True:',
      '        pass',
    ) }, { limits: { timeout: '60s' } });
    const call = fetch(`${url}/fn/${name}/?name=${marker}`).catch(() => null);
    for (let i = 0; pidsNamed(marker).length === 0; i++) {
      assert.ok(i < 200, 'the handler never started');
      await sleep(50);
    }
    first.child.kill('SIGKILL');
    await first.exited;
    await call;
    for (let i = 0; pidsNamed(marker).length > 0; i++) {
      assert.ok(i < 60, `the handler (pid ${pidsNamed(marker).join(', ')}) outlived its platform by 3 s`);
      await sleep(50);
    }
  });
});

describe('the embedded FerretDB under a memory limit of its own', { timeout: 60_000, skip: serverSkip('ferretdb') || (process.getuid?.() !== 0 && 'needs root (cgroups)') }, () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'fp-ferretcg-'));
  after(() => rmSync(stateDir, { recursive: true, force: true }));

  // Shared by every tenant: a function's heavy sorts grew it to gigabytes, toward the host's OOM killer (red team 2026-12-04).
  it('runs in the platform\'s cgroup fp-<pid>-0-<pid namespace> with FP_DATA_MEMORY_BYTES as its memory limit, removed at stop', async () => {
    const proc = startMain(['--state-dir', stateDir, '--port', '0'], { ...ENV, FP_DATA_MEMORY_BYTES: String(256 * 1024 * 1024) });
    await started(proc);
    const line = readFileSync(`/proc/${ferretdbPid(stateDir)}/cgroup`, 'utf8').split('\n').find((l) => /:memory:/.test(l) || l.startsWith('0::'));
    const path = line!.split(':')[2]!;
    assert.match(path, new RegExp(`/fp-${proc.child.pid}-0-\\d+$`));
    const dir = existsSync('/sys/fs/cgroup/memory') ? `/sys/fs/cgroup/memory${path}` : `/sys/fs/cgroup${path}`;
    const limit = readFileSync(existsSync(`${dir}/memory.limit_in_bytes`) ? `${dir}/memory.limit_in_bytes` : `${dir}/memory.max`, 'utf8').trim();
    assert.equal(limit, String(256 * 1024 * 1024));
    proc.child.kill('SIGTERM');
    assert.equal((await proc.exited).code, 0);
    assert.equal(existsSync(dir), false, 'its cgroup is removed at stop');
  });
});

describe('platform crash during an async run', { timeout: 60_000 }, () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'fp-crash-'));
  after(() => rmSync(stateDir, { recursive: true, force: true }));

  it('SIGKILL while the run is running: after a restart the run succeeds (redelivered)', async () => {
    const first = startMain(['--state-dir', stateDir, '--port', '0'], ENV);
    const { url, token } = await started(first);
    assert.ok(token, 'the first start prints the admin token');
    const name = fnName('sleepy');
    await deployed(new Api(url, token), name, { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(1.5)', '    return {"attempt": context.attempt}') });
    const res = await fetch(`${url}/async/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 202);
    const { runId } = (await res.json()) as { runId: string };
    await runState(new Api(url, token), runId, (s) => s === 'running', 15_000);

    const ferret = ferretdbPids(stateDir);
    first.child.kill('SIGKILL');
    await first.exited;
    // Its embedded FerretDB (data bindings) dies with it: nothing is left on the state directory's files.
    for (let i = 0; ferret.some(isAlive); i++) {
      assert.ok(i < 100, `FerretDB ${ferret.filter(isAlive).join(', ')} outlived its platform`);
      await sleep(50);
    }

    const second = startMain(['--state-dir', stateDir, '--port', '0'], ENV);
    const again = await started(second);
    const run = await runState(new Api(again.url, token), runId, (s) => s === 'succeeded' || s === 'failed' || s === 'cancelled', 30_000);
    assert.equal(run.state, 'succeeded', JSON.stringify(run));
    assert.ok(run.transitions.filter((t: { state: string }) => t.state === 'running').length >= 2, 'a second delivery ran it');
    assert.equal(run.result.status, 200);
    second.child.kill('SIGTERM');
    const exit = await second.exited;
    assert.equal(exit.code, 0, exit.stderr);
  });

  // Chaos round 10 (ADR 0225): the embedded queue writes a run's acceptance (index row, job,
  // `queued`) in one SQLite transaction (WAL, synchronous=FULL) before the 202, so a process killed
  // at once after it loses none. Passed before the round too: this says so.
  it('SIGKILL right after the 202s: every accepted run runs after a restart, with its result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-crash-accept-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const first = startMain(['--state-dir', dir, '--port', '0'], { ...ENV, FP_DISPATCH_CONCURRENCY: '1' });
    const { url, token } = await started(first);
    assert.ok(token, 'the first start prints the admin token');
    const name = fnName('queued');
    await deployed(new Api(url, token), name, { 'main.py': py('import json, time', 'def handler(event, context):', '    time.sleep(0.3)', '    return {"n": json.loads(event["body"])["n"]}') });
    const accepted = await Promise.all([1, 2, 3, 4, 5].map(async (n) => {
      const res = await fetch(`${url}/async/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n }) });
      assert.equal(res.status, 202);
      return { n, runId: ((await res.json()) as { runId: string }).runId };
    }));
    first.child.kill('SIGKILL');
    await first.exited;

    const second = startMain(['--state-dir', dir, '--port', '0'], ENV);
    const again = await started(second);
    for (const { n, runId } of accepted) {
      const run = await runState(new Api(again.url, token), runId, (s) => s === 'succeeded' || s === 'failed' || s === 'cancelled', 30_000);
      assert.equal(run.state, 'succeeded', JSON.stringify(run));
      assert.deepEqual(run.result.body, { n });
    }
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);
  });
});
