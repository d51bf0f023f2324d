/**
 * The platform out of file descriptors (its hard RLIMIT_NOFILE reached: thousands of idle client
 * connections, or a low `ulimit -n`). A cold start then cannot claim its sandbox uid (a file is
 * opened for it): it answered 500 INTERNAL_ERROR with the error's own words, a host path included
 * (reliability round 5). Now 503 RUNTIME_UNAVAILABLE, said plainly; and calls work again once
 * connections close. An upload answered 500 INTERNAL_ERROR; now 503 PLATFORM_FILE_LIMIT (round 9).
 * And a hard limit below FP_SANDBOX_OPEN_FILES made every function's start fail.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Api, createFunction, deploy, fnName, handlerReturning, upload } from './platform-harness.js';
import { started, startMain } from './main-harness.js';

/** A request on `agent` (a connection opened before the descriptors ran out); a GET without `send`. With the answer's Retry-After. */
function get(url: string, agent: http.Agent, send?: { token: string; json: unknown }): Promise<{ status: number; body: string; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const headers = send === undefined ? {} : { authorization: `Bearer ${send.token}`, 'content-type': 'application/json' };
    const req = http.request(url, { agent, method: send === undefined ? 'GET' : 'POST', headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, retryAfter: res.headers['retry-after'] }));
    }).on('error', reject);
    req.end(send === undefined ? undefined : JSON.stringify(send.json));
  });
}

const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

/**
 * Lowers the platform's open-files limit to what it holds plus 60, then opens idle connections until
 * it holds every descriptor it may, and 100 more waiting in the listen backlog (each descriptor freed
 * is taken at once by one of them, as under a flood). The sockets go into `sockets`.
 */
async function exhaust(pid: number, url: string, sockets: net.Socket[]): Promise<void> {
  const limit = openFds(pid) + 60;
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:${limit}`]);
  const port = Number(new URL(url).port);
  let extra = 0;
  for (let i = 0; i < 600 && extra < 100; i++) {
    if (openFds(pid) >= limit) extra++;
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => resolve());
      s.on('error', () => resolve());
      sockets.push(s);
    });
  }
  assert.ok(openFds(pid) >= limit, 'the platform holds all its descriptors');
}

/** Closes the idle connections and the agent's. */
function release(sockets: net.Socket[], agent: http.Agent): void {
  for (const s of sockets) s.destroy();
  sockets.length = 0;
  agent.destroy();
}

async function stop(proc: ReturnType<typeof startMain>, stateDir: string): Promise<void> {
  proc.child.kill('SIGTERM');
  await proc.exited;
  rmSync(stateDir, { recursive: true, force: true });
}

/** Polls `url` (10 s) until it answers 200: descriptors come back as the platform sees connections close. */
async function servedAgain(url: string): Promise<void> {
  let served: { status: number; body: string } | null = null;
  for (let i = 0; i < 100 && served?.status !== 200; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 100));
    served = await fetch(url).then(async (r) => ({ status: r.status, body: await r.text() }), () => null);
  }
  assert.equal(served?.status, 200, served?.body ?? 'no answer');
}

/** Every process below `pid` (through /proc's children lists). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const task of readdirSync(`/proc/${parent}/task`)) {
      let children = '';
      try {
        children = readFileSync(`/proc/${parent}/task/${task}/children`, 'utf8');
      } catch {
        continue; // gone meanwhile
      }
      for (const child of children.trim().split(/\s+/).filter(Boolean).map(Number)) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}

describe('the platform out of file descriptors', { skip: process.platform !== 'linux' && 'needs /proc and prlimit' }, () => {
  it('answers a cold start 503 RUNTIME_UNAVAILABLE (no path), and serves it once connections close', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'fp-fds-'));
    const proc = startMain(['--state-dir', stateDir, '--port', '0']);
    const sockets: net.Socket[] = [];
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const { url, token } = await started(proc);
      const api = new Api(url, token!);
      const name = fnName('cold');
      await createFunction(api, name);
      await upload(api, name, handlerReturning('warm at last'));
      await deploy(api, name, undefined, { check: false }); // nothing started: the call below is a cold start
      assert.equal((await get(`${url}/healthz`, agent)).status, 200); // the connection the call goes on
      await exhaust(proc.child.pid!, url, sockets);
      const refused = await get(`${url}/fn/${name}/`, agent);
      const error = (JSON.parse(refused.body) as { error: { code: string; message: string } }).error;
      assert.equal(refused.status, 503, refused.body);
      assert.equal(error.code, 'RUNTIME_UNAVAILABLE');
      assert.doesNotMatch(error.message, /\/run\/|\/tmp\/|uids/, 'no host path');
      // An upload (its files are written to the blob store): it was 500 INTERNAL_ERROR (reliability round 9).
      const files = [{ path: 'main.py', contentBase64: Buffer.from(`def handler(event, context):\n    return ${Date.now()}\n`).toString('base64') }];
      const uploaded = await get(`${url}/api/v1/functions/${name}/versions`, agent, { token: token!, json: { files } });
      assert.equal(uploaded.status, 503, uploaded.body);
      assert.equal((JSON.parse(uploaded.body) as { error: { code: string } }).error.code, 'PLATFORM_FILE_LIMIT');
      release(sockets, agent);
      // The descriptors come back as the platform sees the connections close.
      await servedAgain(`${url}/fn/${name}/`);
    } finally {
      release(sockets, agent);
      await stop(proc, stateDir);
    }
  });
  /**
   * Chaos round 8: three cold starts at once while out of descriptors. Node set up no pipes for the
   * runtime's spawn (EMFILE), the host reached for one (a TypeError) before it listened for the
   * spawn's 'error', and that 'error' then ended the platform: every call in hand, and the run
   * records it held in memory only (its run journal could not open a file either), were lost. And a
   * failed spawn's kill() signals the platform's own process group (protocol/spawn-failed.ts): the
   * platform runs detached here, so that no failure reaches the test runner.
   */
  it('answers concurrent cold starts 503 RUNTIME_UNAVAILABLE with Retry-After and keeps running: warm calls and async intake go on, and every start works once connections close', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'fp-fds-'));
    const proc = startMain(['--state-dir', stateDir, '--port', '0'], { FP_DISPATCH_LEASE_MS: '3000' }, { detached: true });
    const sockets: net.Socket[] = [];
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    try {
      const { url, token } = await started(proc);
      const api = new Api(url, token!);
      const warm = fnName('warm');
      await createFunction(api, warm);
      await upload(api, warm, handlerReturning('warm'));
      await deploy(api, warm);
      const cold = [fnName('cold'), fnName('cold'), fnName('cold')];
      for (const name of cold) {
        await createFunction(api, name);
        await upload(api, name, handlerReturning(name));
        await deploy(api, name, undefined, { check: false }); // nothing started: each call below is a cold start
      }
      // Four connections, opened before the descriptors run out, for the calls below.
      assert.deepEqual((await Promise.all([0, 1, 2, 3].map(() => get(`${url}/healthz`, agent)))).map((r) => r.status), [200, 200, 200, 200]);
      await exhaust(proc.child.pid!, url, sockets);
      assert.equal((await get(`${url}/fn/${warm}/`, agent)).status, 200, 'a warm instance serves on an open connection');
      const starts = await Promise.all(cold.map((name) => get(`${url}/fn/${name}/`, agent)));
      for (const res of starts) {
        if (res.status === 200) continue; // a start that found a descriptor freed meanwhile
        assert.equal(res.status, 503, res.body);
        assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'RUNTIME_UNAVAILABLE', res.body);
        assert.equal(res.retryAfter, '1');
      }
      assert.equal(proc.child.exitCode, null, 'the platform still runs');
      assert.equal((await get(`${url}/fn/${warm}/`, agent)).status, 200, 'and serves');
      // Readiness says so (chaos round 8: 503 no_runtimes while the warm instance served).
      const ready = await get(`${url}/readyz`, agent);
      const readiness = JSON.parse(ready.body) as { status: string; problems: { code: string; degraded?: boolean }[]; pool: { generic: number; warm: number } };
      assert.equal(ready.status, 200, ready.body);
      assert.equal(readiness.status, 'degraded', ready.body);
      assert.ok(readiness.problems.some((p) => p.code === 'PLATFORM_FILE_LIMIT' && p.degraded === true), ready.body);
      const queued = await get(`${url}/async/${warm}/`, agent, { token: token!, json: {} });
      assert.equal(queued.status, 202, queued.body);
      const runId = (JSON.parse(queued.body) as { runId: string }).runId;
      release(sockets, agent);
      // Descriptors back: every function starts, the run accepted meanwhile succeeds, no restart.
      for (const name of cold) await servedAgain(`${url}/fn/${name}/`);
      let state = '';
      for (let i = 0; i < 200 && !['succeeded', 'failed', 'cancelled'].includes(state); i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 100));
        state = (await api.call('GET', `/runs/${runId}`)).body?.run?.state ?? '';
      }
      assert.equal(state, 'succeeded');
      assert.equal(proc.child.exitCode, null, 'the platform still runs');
    } finally {
      release(sockets, agent);
      await stop(proc, stateDir);
    }
  });

  it('runs functions under a hard open-files limit below FP_SANDBOX_OPEN_FILES, at that limit (every start failed)', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'fp-fds-'));
    const proc = startMain(['--state-dir', stateDir, '--port', '0']);
    try {
      const { url, token } = await started(proc);
      // As if started under `ulimit -n 512` (FP_SANDBOX_OPEN_FILES is 1024): the platform and its runtimes.
      for (const pid of [proc.child.pid!, ...descendants(proc.child.pid!)]) execFileSync('prlimit', ['--pid', String(pid), '--nofile=512:512']);
      const api = new Api(url, token!);
      const name = fnName('ulimit');
      await createFunction(api, name);
      await upload(api, name, { 'main.py': 'import resource\ndef handler(event, context):\n    return {"nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE))}\n' });
      const deployed = await api.call('POST', `/functions/${name}/deploy`, {});
      assert.equal(deployed.status, 200, JSON.stringify(deployed.body));
      const res = await fetch(`${url}/fn/${name}/`);
      assert.deepEqual(await res.json(), { nofile: [512, 512] });
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
