/**
 * Red team round 50 (docs/security.md, the limits table; poolmgr/platform-connections.ts): a box
 * shares the host's network, so a function's processes may connect to the gateway over loopback,
 * each connection one of the platform's descriptors (1024 per process, 256 processes per box). One
 * instance held all of the platform's, a `GET /healthz` every few seconds keeping each past the idle
 * timer, and every other tenant's new connections waited or failed for as long as it kept them.
 * Now, while the platform holds more than half of its open-files limit, the instance holding the most
 * of its connections (its workspace a tenth of the limit or more) is stopped with
 * FUNCTION_CONNECTION_LIMIT.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Api, createFunction, deploy, fnName, handlerReturning, py, sleep, upload } from './platform-harness.js';
import { started, startMain } from './main-harness.js';

/** The handler: forks `procs` processes that each run `hold(port, per)`, then waits. */
const FORKS_HOLDERS = [
  '',
  'def handler(event, context):',
  '    q = event["query"]',
  '    for _ in range(int(q["procs"])):',
  '        if os.fork() == 0:',
  '            try:',
  '                hold(int(q["port"]), int(q["per"]))',
  '            finally:',
  '                os._exit(0)',
  '    time.sleep(25)',
  '    return {"held": True}',
];

/** Forks `procs` processes that each open `per` connections to the platform and keep them alive; the call then waits. */
const HOLD = [
  'def hold(port, n):',
  '    socks = []',
  '    for _ in range(n):',
  '        try:',
  '            socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))',
  '        except OSError:',
  '            time.sleep(0.02)',
  '    for s in socks:',
  '        s.setblocking(False)',
  '    while True:  # a request on each every 2 s, however slow the answers: no idle timer ends them',
  '        for s in socks:',
  '            try:',
  '                s.send(b"GET /healthz HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n")',
  '            except OSError:',
  '                pass',
  '        time.sleep(2)',
  '        for s in socks:',
  '            try:',
  '                while s.recv(65536):',
  '                    pass',
  '            except OSError:',
  '                pass',
];
const HOG = py('import os, socket, time', '', ...HOLD, ...FORKS_HOLDERS);

/**
 * Red team round 52: a version's template (ADR 0030) imports the module as an instance does, and its
 * import forks a process holding `n` connections (only there: the runtime's `templating` is on the
 * stack); a call forks one holding `per` more and waits `wait` seconds. The template was its own owner
 * for the guard, so each stayed under a tenth of the limit while the workspace held more.
 */
const templated = (port: string, n: number): string => py(
  'import os, socket, sys, time',
  '',
  ...HOLD,
  'def templating():',
  '    f = sys._getframe()',
  '    while f is not None:',
  '        if f.f_locals.get("templating") is True:',
  '            return True',
  '        f = f.f_back',
  '    return False',
  'time.sleep(0.2)  # an import past 50 ms: the version gets a template',
  'if templating() and os.fork() == 0:',
  '    try:',
  `        hold(${port}, ${n})`,
  '    finally:',
  '        os._exit(0)',
  'def handler(event, context):',
  '    q = event["query"]',
  '    if os.fork() == 0:',
  '        try:',
  `            hold(${port}, int(q["per"]))`,
  '        finally:',
  '            os._exit(0)',
  '    time.sleep(float(q["wait"]))',
  '    return {"held": True}',
);

/** `n` connections of the test's own (no box's) to `url`'s port, each asking `/healthz` every 2 s so the idle timer never ends them. */
function outsideConnections(url: string, n: number): { close: () => void } {
  const { hostname, port } = new URL(url);
  const socks = Array.from({ length: n }, () => {
    const s = connect(Number(port), hostname);
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    return s;
  });
  const ask = (): void => { for (const s of socks) if (!s.destroyed) s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'); };
  ask();
  const timer = setInterval(ask, 2000);
  return { close: () => { clearInterval(timer); for (const s of socks) s.destroy(); } };
}

/**
 * The same connections, hidden (red team round 51): each batch is sent over a socketpair of the
 * process's own (SCM_RIGHTS) and closed here, so no process of the box has it among its descriptors
 * while the kernel keeps it in flight; every 2 s each batch is taken back for a `GET /healthz` and
 * sent again, so the gateway's idle timer never ends them.
 */
const HIDER = py(
  'import os, socket, time',
  '',
  'def hold(port, n):',
  '    a, b = socket.socketpair()',
  '    batches = 0',
  '    batch = []',
  '    for i in range(n):',
  '        try:',
  '            batch.append(socket.create_connection(("127.0.0.1", port), timeout=2))',
  '        except OSError:',
  '            time.sleep(0.02)',
  '        if len(batch) == 200 or (i == n - 1 and batch):',
  '            socket.send_fds(a, [b"x"], [s.fileno() for s in batch])',
  '            for s in batch:',
  '                s.close()',
  '            batches += 1',
  '            batch = []',
  '    while True:',
  '        time.sleep(2)',
  '        for _ in range(batches):',
  '            _, fds, _, _ = socket.recv_fds(b, 1, 253)',
  '            socks = [socket.socket(fileno=fd) for fd in fds]',
  '            for s in socks:',
  '                try:',
  '                    s.send(b"GET /healthz HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n")',
  '                except OSError:',
  '                    pass',
  '            socket.send_fds(a, [b"x"], [s.fileno() for s in socks])',
  '            for s in socks:',
  '                s.close()',
  ...FORKS_HOLDERS,
);

const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

/**
 * Deploys `code` as a hog and a victim, lowers the platform's open-files limit and calls the hog with
 * `query`: the hog's connections take the platform past half, its instance is stopped and the
 * descriptors come back, the victim is served.
 */
/** Runs `body` against a platform of its own (started with `args`), stopped and removed after. */
async function onPlatform(args: string[], body: (p: { url: string; pid: number; api: Api }) => Promise<void>): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'fp-conns-'));
  const proc = startMain(['--state-dir', stateDir, '--port', '0', ...args]);
  try {
    const { url, token } = await started(proc);
    await body({ url, pid: proc.child.pid!, api: new Api(url, token!) });
  } finally {
    proc.child.kill('SIGTERM');
    await proc.exited;
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function stoppedAndServed(code: string, query: string, args: string[] = []): Promise<void> {
  await onPlatform(args, async ({ url, pid, api }) => {
    const hog = fnName('hog');
    await createFunction(api, hog, { limits: { timeout: '40s' } });
    await upload(api, hog, { 'main.py': code });
    await deploy(api, hog);
    const victim = fnName('victim');
    await createFunction(api, victim);
    await upload(api, victim, handlerReturning('served'));
    await deploy(api, victim);
    const limit = 1500; // at least FP_SANDBOX_OPEN_FILES (1024): functions keep theirs
    execFileSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:${limit}`]);

    let peak = 0;
    let watching = true;
    const watch = (async () => {
      for (; watching; await sleep(20)) peak = Math.max(peak, openFds(pid));
    })();
    const port = new URL(url).port;
    const held = fetch(`${url}/fn/${hog}/?${query}&port=${port}`).then(async (r) => ({ status: r.status, body: await r.text() }));
    // The descriptors come back: fewer than a third held, for two seconds running.
    let below = 0;
    for (let i = 0; i < 300 && below < 20; i++) {
      await sleep(100);
      below = peak * 2 > limit && openFds(pid) * 3 < limit ? below + 1 : 0;
    }
    watching = false;
    await watch;
    assert.ok(peak * 2 > limit, `the function's connections took the platform past half its descriptors (peak ${peak} of ${limit})`);
    assert.equal(below, 20, `the platform still held ${openFds(pid)} of its ${limit} descriptors: the function kept them`);
    const answer = await held;
    assert.equal(answer.status, 502, answer.body);
    assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, 'FUNCTION_CONNECTION_LIMIT', answer.body);
    const served = await fetch(`${url}/fn/${victim}/`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(served.status, 200);
  });
}

describe('attack: one function holds the platform\'s descriptors through connections to the gateway', { skip: process.platform !== 'linux' && 'needs /proc and prlimit' }, () => {
  it('the instance holding them is stopped (FUNCTION_CONNECTION_LIMIT) and other functions are served on new connections', { timeout: 90_000 }, async () => {
    await stoppedAndServed(HOG, 'procs=2&per=760');
  });

  it('connections kept in flight over a socketpair (no process holds them) still stop the instance (red team round 51)', { timeout: 90_000 }, async () => {
    await stoppedAndServed(HIDER, 'procs=2&per=420');
  });

  it('a platform listening on :: (both families) counts the connections a box opens over IPv4 (red team round 51)', { timeout: 90_000 }, async () => {
    await stoppedAndServed(HOG, 'procs=2&per=760', ['--host', '::']);
  });

  it('a template\'s connections count for its workspace: its import\'s 105 and an instance\'s 60, each under a tenth of 1 100, stopped neither before (red team round 52)', { timeout: 90_000 }, async () => {
    let outside: { close: () => void } | null = null;
    await onPlatform([], async ({ url, pid, api }) => {
      const fn = fnName('tpl');
      await createFunction(api, fn, { limits: { timeout: '40s' } });
      await upload(api, fn, { 'main.py': templated(new URL(url).port, 105) });
      await deploy(api, fn);
      const limit = 1100; // a tenth: 110
      execFileSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:${limit}`]);
      const base = openFds(pid);
      // The first call starts an instance; the version's template follows, and its import's 105 connections.
      const first = await fetch(`${url}/fn/${fn}/?per=0&wait=0`);
      assert.equal(first.status, 200, await first.text());
      let withTemplate = 0;
      for (let i = 0; i < 200 && withTemplate < base + 100; i++, await sleep(100)) withTemplate = openFds(pid);
      assert.ok(withTemplate >= base + 100, `the template's import connected (${base} → ${withTemplate} descriptors)`);
      const held = fetch(`${url}/fn/${fn}/?per=60&wait=30`).then(async (r) => ({ status: r.status, body: await r.text() }));
      for (let i = 0; i < 100 && openFds(pid) < withTemplate + 55; i++) await sleep(100);
      // Past half with connections of no box's (not counted for anyone).
      outside = outsideConnections(url, Math.max(0, Math.ceil(limit / 2) + 60 - openFds(pid)));
      let peak = 0;
      for (let i = 0; i < 30 && peak * 2 <= limit; i++, await sleep(100)) peak = Math.max(peak, openFds(pid));
      assert.ok(peak * 2 > limit, `past half the platform's descriptors (${peak} of ${limit})`);
      // The template holds the most of its workspace's 165 (over 110): it is stopped and its box's connections close.
      let now = peak;
      for (let i = 0; i < 100 && now > peak - 90; i++, await sleep(100)) now = openFds(pid);
      assert.ok(now <= peak - 90, `the platform still held ${now} descriptors (peak ${peak}): the template's connections were kept`);
      outside.close();
      outside = null;
      const answer = await held;
      assert.equal(answer.status, 200, answer.body);
    }).finally(() => outside?.close());
  });
});
