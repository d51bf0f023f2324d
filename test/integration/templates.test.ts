/**
 * Function templates (docs/adr/0030-function-templates.md): a version whose import is slow gets a
 * template after its first cold start, and its scale-out instances are forked from it. Real pool,
 * real runtimes, in the sandbox this machine runs (root or user namespaces).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveSandbox, type FunctionVersion, type InvocationResult, type PoolManager } from '../../poolmgr/index.js';
import { testSandbox } from '../helpers/runtime-process.js';
import { stopProcess } from '../helpers/processes.js';
import { ev, fnVersion, isAlive, keyOf, openPool as openAnyPool, py, removeFunction, until, writeFunction } from './poolmgr-harness.js';

/** FP_TEST_SANDBOX=userns runs these in user-namespace mode (as root too). */
const SANDBOX = resolveSandbox(testSandbox());

/** Imports for ~400 ms, keeps what it saw at import, and answers with what it sees now. */
const SLOW_IMPORT = py(
  'import os, socket, struct, time',
  'import msgpack',
  'time.sleep(0.4)',
  'def forge():',
  '    """Connects to the template socket as a fork would, with a nonce of its own making."""',
  '    if not os.path.exists("/run/fp-tpl/s"): return "no socket"',
  '    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
  '    s.connect("/run/fp-tpl/s")',
  '    body = msgpack.packb({"t": "hello", "v": 1, "pid": os.getpid(), "python": "", "bootMs": 0, "nonce": "00" * 16})',
  '    s.sendall(struct.pack(">I", len(body)) + body)',
  '    s.settimeout(5)',
  '    try:',
  '        return "closed" if s.recv(1) == b"" else "answered"',
  '    except OSError as e:',
  '        return "closed" if e.errno in (104, 32) else "timeout"',
  'IMPORTED = {"pid": os.getpid(), "cgroup": open("/proc/self/cgroup").read(), "token": os.urandom(8).hex()}',
  'def handler(event, context):',
  '    q = event["query"]',
  '    if "sleep" in q: time.sleep(float(q["sleep"]))',
  '    if "exit" in q: os._exit(int(q["exit"]))',
  '    if "forge" in q: return {"forged": forge()}',
  '    reachable = []',
  '    for path in q.get("paths", "").split(","):',
  '        if not path: continue',
  '        try:',
  '            os.listdir(path) if os.path.isdir(path) else open(path, "rb").read(16)',
  '            reachable.append(path)',
  '        except OSError:',
  '            pass',
  '    return {"imported": IMPORTED, "pid": os.getpid(), "uid": os.getuid(), "cgroup": open("/proc/self/cgroup").read(),',
  '            "root": sorted(os.listdir("/")), "hidden": os.listdir("/.fp") if os.path.isdir("/.fp") else [],',
  '            "tpl": sorted(os.listdir("/run/fp-tpl")),',
  '            "reachable": reachable}',
);

interface Seen {
  imported: { pid: number; cgroup: string; token: string };
  pid: number;
  uid: number;
  cgroup: string;
  root: string[];
  hidden: string[];
  tpl: string[];
  reachable: string[];
}

function openPool(overrides: Parameters<typeof openAnyPool>[0] = {}): Promise<PoolManager> {
  return openAnyPool({ sandbox: SANDBOX, ...overrides });
}

function seen(result: InvocationResult): Seen {
  if (result.response === null) throw new Error(`call failed: ${JSON.stringify(result.error)}`);
  return JSON.parse(Buffer.from(result.response.body).toString('utf8')) as Seen;
}

async function templateReady(pool: PoolManager, fn: FunctionVersion): Promise<void> {
  await until(() => pool.stats().functions[keyOf(fn)]?.template === 'ready', 15_000, 'a ready template');
}


describe('function templates', { skip: SANDBOX === 'off' ? 'templates need a box' : false }, () => {
  const dirs: string[] = [];
  after(async () => { for (const dir of dirs) await removeFunction(dir); });
  const slowFn = async (overrides: Partial<FunctionVersion> = {}): Promise<FunctionVersion> => {
    const dir = await writeFunction({ 'main.py': SLOW_IMPORT });
    dirs.push(dir);
    return fnVersion(dir, { concurrency: 1, ...overrides });
  };
  /** A pool whose version of a slow function has its template ready, and the template's host pid. */
  const withTemplate = async (t: { after(fn: () => unknown): void }, options?: Partial<FunctionVersion>) => {
    const pool = await openPool();
    t.after(() => pool.close());
    const fn = await slowFn(options);
    await pool.invoke(fn, ev());
    await templateReady(pool, fn);
    return { pool, fn, templatePid: templateHostPid(fn) };
  };

  it('after a slow cold start a template appears; a scale-out instance is forked from it, boxed, in its own cgroup leaf', async (t) => {
    const pool = await openPool();
    t.after(() => pool.close());
    const fn = await slowFn();
    const first = await pool.invoke(fn, ev());
    assert.equal(first.start, 'pool');
    assert.ok(first.initMs >= 400, `the first cold start paid the import (${first.initMs} ms)`);
    await templateReady(pool, fn);

    // Two calls at once with concurrency 1: the second needs a new instance (scale-out).
    // Each probes host paths (none must be reachable from any box).
    const paths = [fn.dir, '/proc/1/root/etc', `/proc/${process.pid}/environ`, '/etc/shadow', tmpdir() + '/fp-tpl-x'].join(',');
    const [a, b] = await Promise.all([pool.invoke(fn, ev({ sleep: '0.3', paths })), pool.invoke(fn, ev({ sleep: '0.3', paths }))]);
    const forked = [a, b].find((r) => r.start === 'template');
    assert.ok(forked !== undefined, `no call started on a forked instance: ${a.start}, ${b.start}`);
    const warm = [a, b].find((r) => r !== forked)!;
    assert.equal(warm.start, 'warm');
    const mine = seen(forked);
    const original = seen(first);
    // The module was imported by the template, not by this instance: its import-time state is the template's.
    assert.notEqual(mine.imported.token, original.imported.token, 'forked from the template, not from the first instance');
    assert.notEqual(mine.pid, mine.imported.pid, 'the instance is a child of the process that imported the module');
    // That it did not pay the import is shown by the two checks above, not by a time (no timed
    // assertion: a loaded machine stretches any; its initMs is a diagnostic).
    t.diagnostic(`forked instance: initMs ${forked.initMs.toFixed(1)}, cgroup ${memoryLeaf(mine.cgroup)}; template's ${memoryLeaf(mine.imported.cgroup)}`);
    // Same identity as any instance of the function.
    assert.equal(mine.uid, original.uid);
    if (SANDBOX === 'root') assert.ok(mine.uid >= 600_000, `runs as the function's uid (${mine.uid})`);
    // Its own cgroup leaf (root mode with cgroups): not the template's, where the module was imported.
    if (SANDBOX === 'root' && pool.isolation.cgroups !== null) {
      assert.match(memoryLeaf(mine.cgroup), /fp-\d+-\d+-\d+\/l\d+$/);
      assert.match(memoryLeaf(mine.imported.cgroup), /fp-\d+-\d+-\d+\/l\d+$/);
      assert.notEqual(memoryLeaf(mine.cgroup), memoryLeaf(mine.imported.cgroup));
    }
    // The same view as any box: nothing of the host, no hidden roots left.
    assert.ok(mine.root.includes('code') && mine.root.includes('tmp'), `root: ${mine.root.join(' ')}`);
    assert.ok(!mine.root.includes('home'), `root: ${mine.root.join(' ')}`);
    assert.deepEqual(mine.hidden, [], 'the hidden roots were unmounted in the template before the module was imported');
    assert.deepEqual(mine.reachable, [], 'a host path was reachable from the forked instance');
    // Only a template's box has its socket; an instance specialized as usual sees an empty /run/fp-tpl.
    assert.deepEqual(mine.tpl, ['s']);
    assert.deepEqual(original.tpl, []);
  });

  it('a template never serves a call; a deploy drops it and the new version never forks from it', async (t) => {
    const pool = await openPool();
    t.after(() => pool.close());
    const v1 = await slowFn();
    await pool.invoke(v1, ev());
    await templateReady(pool, v1);
    // Many sequential calls: all on the one warm instance, never the template.
    for (let i = 0; i < 5; i++) assert.equal((await pool.invoke(v1, ev())).start, 'warm');

    const oldTemplate = templateHostPid(v1);
    assert.ok(oldTemplate > 0, 'found the template process');
    const v2 = { ...(await slowFn()), name: v1.name, version: 'v2' };
    pool.drain(v1.name, 'v2');
    assert.equal(pool.stats().functions[keyOf(v1)]?.template ?? null, null, 'the old version\'s template is dropped at the deploy');
    await until(() => !isAlive(oldTemplate), 5000, 'the dropped template to exit');
    const [c, d] = await Promise.all([pool.invoke(v2, ev({ sleep: '0.2' })), pool.invoke(v2, ev({ sleep: '0.2' }))]);
    for (const r of [c, d]) {
      assert.notEqual(r.start, 'template', 'the new version has no template yet');
      assert.equal(r.error, null);
      assert.ok(r.initMs >= 400, 'the new version imports its own module');
    }
  });

  it('killing the template fails no call: scale-out goes back to specializing', async (t) => {
    const { pool, fn, templatePid } = await withTemplate(t);
    assert.ok(templatePid > 0, 'found the template process');
    process.kill(templatePid, 'SIGKILL');
    await until(() => pool.stats().functions[keyOf(fn)]?.template !== 'ready', 5000, 'the template to be forgotten');
    const results = await Promise.all([0, 1, 2].map(() => pool.invoke(fn, ev({ sleep: '0.2' }))));
    for (const r of results) {
      assert.equal(r.error, null, JSON.stringify(r.error));
      assert.notEqual(r.start, 'template');
    }
  });

  it('a template that does not fork in time fails no call: the host falls back and forks from it no more', async (t) => {
    const { pool, fn, templatePid } = await withTemplate(t);
    await stopProcess(templatePid);
    t.after(() => { try { process.kill(templatePid, 'SIGCONT'); } catch { /* gone */ } });
    const [a, b] = await Promise.all([pool.invoke(fn, ev({ sleep: '0.3' })), pool.invoke(fn, ev({ sleep: '0.3' }))]);
    assert.equal(a.error, null, JSON.stringify(a.error));
    assert.equal(b.error, null, JSON.stringify(b.error));
    assert.deepEqual([a.start, b.start].sort(), ['spawn', 'warm']);
    // It forked nothing alive: the host ended it, and the version gets no other.
    await until(() => pool.stats().functions[keyOf(fn)]?.template === null && !isAlive(templatePid), 5000, 'the failed template to go');
    const [c, d] = await Promise.all([pool.invoke(fn, ev({ sleep: '0.3' })), pool.invoke(fn, ev({ sleep: '0.3' })), pool.invoke(fn, ev({ sleep: '0.3' }))]);
    for (const r of [c, d]) assert.notEqual(r.start, 'template');
    assert.equal(pool.stats().functions[keyOf(fn)]?.template, null);
  });

  it('a forked instance: a forged hello on the template socket is closed; its exit code, its timeout kill and a deploy under it', async (t) => {
    const { pool, fn, templatePid } = await withTemplate(t, { timeoutMs: 1000 });

    // A call on a forked instance (the warm one is busy) tries to pass for a fork.
    const scaleOut = async (query: Record<string, string>): Promise<InvocationResult> => {
      const [busy, other] = await Promise.all([pool.invoke(fn, ev({ sleep: '0.5' })), new Promise<InvocationResult>((r) => setTimeout(() => r(pool.invoke(fn, ev(query))), 50))]);
      assert.equal(busy.error, null);
      return other;
    };
    const forged = await scaleOut({ forge: '1' });
    assert.equal(forged.start, 'template');
    assert.deepEqual(seen(forged) as unknown, { forged: 'closed' });

    // Its end is its own: the exit code comes from the template's report.
    const exited = await scaleOut({ exit: '7' });
    assert.equal(exited.error?.code, 'RUNTIME_CRASHED');
    assert.match(exited.error?.message ?? '', /exit code 7/);

    // A call past its timeout: the host kills the forked instance by its host pid.
    const slow = await scaleOut({ sleep: '5' });
    assert.equal(slow.error?.code, 'FUNCTION_TIMEOUT');

    // A deploy while a forked instance serves: its call completes, then the template goes.
    const [busy, onForked] = await Promise.all([
      pool.invoke(fn, ev({ sleep: '0.6' })),
      new Promise<InvocationResult>((r) => setTimeout(() => r(pool.invoke(fn, ev({ sleep: '0.6' }))), 50)),
      new Promise<void>((r) => setTimeout(() => { pool.drain(fn.name, 'v9'); r(); }, 350)),
    ]);
    assert.equal(busy.error, null);
    assert.equal(onForked.error, null, JSON.stringify(onForked.error));
    assert.equal(onForked.start, 'template');
    await until(() => !isAlive(templatePid), 10_000, 'the dropped template to exit after its last instance');
  });

  it('a version idle for idleTimeoutMs loses its template with its last instance', async (t) => {
    const pool = await openPool({ idleTimeoutMs: 2000, reapIntervalMs: 100 });
    t.after(() => pool.close());
    const fn = await slowFn();
    await pool.invoke(fn, ev());
    await templateReady(pool, fn);
    const pid = templateHostPid(fn);
    assert.ok(pid > 0, 'found the template process');
    await until(() => pool.stats().functions[keyOf(fn)] === undefined && !isAlive(pid), 10_000, 'the idle version and its template to go');
  });

  it('an async handler and an ASGI app (its lifespan started in each forked instance) scale out from their templates too', async (t) => {
    const pool = await openPool();
    t.after(() => pool.close());
    const sources = [
      py(
        'import asyncio, os, time',
        'time.sleep(0.2)',
        'async def handler(event, context):',
        '    await asyncio.sleep(0.3)',
        '    return {"pid": os.getpid()}',
      ),
      py(
        'import asyncio, json, os, time',
        'time.sleep(0.2)',
        'STARTED = []',
        'async def app(scope, receive, send):',
        '    if scope["type"] == "lifespan":',
        '        while True:',
        '            m = await receive()',
        '            if m["type"] == "lifespan.startup":',
        '                STARTED.append(os.getpid())',
        '                await send({"type": "lifespan.startup.complete"})',
        '            elif m["type"] == "lifespan.shutdown":',
        '                await send({"type": "lifespan.shutdown.complete"})',
        '                return',
        '    await asyncio.sleep(0.3)',
        '    body = json.dumps({"pid": os.getpid(), "started": STARTED}).encode()',
        '    await send({"type": "http.response.start", "status": 200, "headers": [[b"content-type", b"application/json"]]})',
        '    await send({"type": "http.response.body", "body": body})',
      ),
    ];
    for (const [i, source] of sources.entries()) {
      const dir = await writeFunction({ 'main.py': source });
      dirs.push(dir);
      const fn = fnVersion(dir, { entrypoint: i === 0 ? 'main:handler' : 'main:app' });
      assert.equal((await pool.invoke(fn, ev())).error, null);
      await templateReady(pool, fn);
      const [a, b] = await Promise.all([pool.invoke(fn, ev()), pool.invoke(fn, ev())]);
      const forked = [a, b].find((r) => r.start === 'template');
      assert.ok(forked !== undefined, `no call on a forked instance: ${a.start} ${JSON.stringify(a.error)}, ${b.start} ${JSON.stringify(b.error)}`);
      assert.equal(forked.error, null);
      const body = JSON.parse(Buffer.from(forked.response!.body).toString('utf8')) as { pid: number; started?: number[] };
      if (i === 1) assert.deepEqual(body.started, [body.pid], 'the forked instance ran its own lifespan startup, the template none');
    }
  });

  // A call's end waits for the records it left in a QueueListener's queue (apps round 17) on a
  // condition over the capture lock, which a fork replaces: in a forked instance the wait raised
  // "cannot wait on un-acquired lock" and the call failed.
  it('a forked instance that logs through a QueueHandler answers, with the listener\'s line in its logs', async (t) => {
    const pool = await openPool();
    t.after(() => pool.close());
    const dir = await writeFunction({ 'main.py': py(
      'import logging, logging.handlers, os, queue, sys, time',
      'time.sleep(0.4)',
      'q = queue.Queue(-1)',
      'listener = logging.handlers.QueueListener(q, logging.StreamHandler(sys.stderr))',
      'queued = logging.handlers.QueueHandler(q)',
      'queued.listener = listener',
      'logging.getLogger().handlers = [queued]',
      'def handler(event, context):',
      '    if listener._thread is None:',
      '        listener.start()  # in the call: a thread at import would leave the version no template',
      '    logging.getLogger("app").warning("pid %s", os.getpid())',
      '    time.sleep(0.3)',
      '    logging.getLogger("app").warning("done %s", os.getpid())',
      '    return {"pid": os.getpid()}',
    ) });
    dirs.push(dir);
    const fn = fnVersion(dir, { concurrency: 1 });
    assert.equal((await pool.invoke(fn, ev())).error, null);
    await templateReady(pool, fn);
    const [a, b] = await Promise.all([pool.invoke(fn, ev()), pool.invoke(fn, ev())]);
    const forked = [a, b].find((r) => r.start === 'template');
    assert.ok(forked !== undefined, `no call on a forked instance: ${a.start} ${JSON.stringify(a.error)}, ${b.start} ${JSON.stringify(b.error)}`);
    assert.equal(forked.error, null, JSON.stringify(forked.error));
    const pid = (JSON.parse(Buffer.from(forked.response!.body).toString('utf8')) as { pid: number }).pid;
    assert.deepEqual(forked.logs.map((l) => l.msg), [`pid ${pid}`, `done ${pid}`], JSON.stringify(forked.logs));
  });

  // Why is said once in the operator's log, naming the descriptors and the way out: a Django app
  // that migrated in asgi.py kept its SQLite connection, got no template without a word, and scaled
  // out by importing Django in every instance (apps round 18: 3 of 20 concurrent calls InitTimeout).
  it('a module that starts a thread or keeps a descriptor open at import gets no template, said once in the log; its calls are served as before', async (t) => {
    const said: string[] = [];
    const pool = await openPool({ hostLog: (line) => said.push(line) });
    t.after(() => pool.close());
    const why = [/started 1 thread\(s\) at import/, /keeps 1 descriptor\(s\) open after import \(\/tmp\/x\): every forked instance would share them; close them at the end of the import \(Django: django\.db\.connections\.close_all\(\)/];
    for (const [i, setup] of ['import threading; threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()', 'LOG = open("/tmp/x", "a")'].entries()) {
      const dir = await writeFunction({ 'main.py': py('import os, time', 'time.sleep(0.2)', setup, 'def handler(event, context):', '    time.sleep(0.2)', '    return {"ok": True}') });
      dirs.push(dir);
      const fn = fnVersion(dir);
      assert.equal((await pool.invoke(fn, ev())).error, null);
      // The instance said, right after its import, that its process could not be one: no template
      // is started only to refuse (ADR 0201), and none is made later.
      assert.equal(pool.stats().functions[keyOf(fn)]?.template, null);
      const results = await Promise.all([0, 1].map(() => pool.invoke(fn, ev())));
      for (const r of results) {
        assert.equal(r.error, null, JSON.stringify(r.error));
        assert.notEqual(r.start, 'template');
      }
      assert.equal(pool.stats().functions[keyOf(fn)]?.template, null);
      const lines = said.filter((l) => l.includes(`pool: ${fn.name} version ${fn.version} gets no template: each instance it scales out to imports its module (`));
      assert.equal(lines.length, 1, said.join('\n'));
      assert.match(lines[0]!, why[i]!);
    }
  });

  // limits' in-memory storage (slowapi's default) starts a 10 ms threading.Timer at import to expire
  // its keys: its version was refused a template for "1 thread(s)" and scaled out by importing in
  // every instance (apps round 24). A timer due that soon is let end; a long one still refuses.
  it('a threading.Timer due within 100 ms at the end of the import (slowapi\'s memory storage) leaves the version its template; a long one does not', async (t) => {
    const pool = await openPool({ hostLog: () => {} });
    t.after(() => pool.close());
    const timer = (interval: number) => writeFunction({ 'main.py': py('import threading, time', 'time.sleep(0.2)',
      'EXPIRED = []', `threading.Timer(${interval}, EXPIRED.append, args=(1,)).start()`,
      'def handler(event, context):', '    return {"expired": len(EXPIRED)}') });
    const [short, long] = [await timer(0.01), await timer(60)];
    dirs.push(short, long);
    const fine = await pool.tryStart(fnVersion(short));
    assert.equal(fine.outcome, 'started', JSON.stringify(fine));
    assert.equal(fine.outcome === 'started' ? fine.noTemplate : 'no', undefined);
    const refused = await pool.tryStart(fnVersion(long));
    assert.match(refused.outcome === 'started' ? refused.noTemplate ?? '' : '', /^the module started 1 thread\(s\) at import/);
  });

  // A deploy's start check says it too (apps round 18: a Django app's migrate at import kept its
  // SQLite connection, and its owner could not know the version would scale out by importing Django).
  it('a start check says why the version can have no template; one that can gets no such word', async (t) => {
    const pool = await openPool({ hostLog: () => {} });
    t.after(() => pool.close());
    const open = await writeFunction({ 'main.py': py('import time', 'time.sleep(0.2)', 'DB = open("/tmp/app.sqlite3", "a")', 'def handler(event, context):', '    return {"ok": True}') });
    const closed = await writeFunction({ 'main.py': py('import time', 'time.sleep(0.2)', 'with open("/tmp/app.sqlite3", "a"): pass', 'def handler(event, context):', '    return {"ok": True}') });
    dirs.push(open, closed);
    const refused = await pool.tryStart(fnVersion(open));
    assert.equal(refused.outcome, 'started', JSON.stringify(refused));
    assert.match(refused.outcome === 'started' ? refused.noTemplate ?? '' : '', /^the module keeps 1 descriptor\(s\) open after import \(\/tmp\/app\.sqlite3\): .*connections\.close_all\(\)/);
    const fine = await pool.tryStart(fnVersion(closed));
    assert.equal(fine.outcome, 'started', JSON.stringify(fine));
    assert.equal(fine.outcome === 'started' ? fine.noTemplate : 'no', undefined);
  });

  // A template is the function's own code, and so is every process it forks: a fork's hello is
  // the function's to write. One that said `early: true` (ADR 0127: only a zygote's fork, before
  // its box's set-up) was believed, so the fork's own failure at its load (an exit, a hang) counted
  // as a runtime that was never given the function: RUNTIME_UNAVAILABLE, the platform's failure
  // (no class), and the call went back to the pool, to the next fork, up to MAX_RESPAWNS times
  // (red team round 16, probe-red19/early).
  it('a forked instance whose hello says `early` is refused: its failures stay the function\'s, and they are not retried', { timeout: 60_000 }, async (t) => {
    const pool = await openPool({ initTimeoutMs: 3_000 });
    t.after(() => pool.close());
    const dir = await writeFunction({ 'main.py': py(
      'import os, time',
      'import fp_runtime.conn as conn',
      'time.sleep(0.4)',
      '_send = conn.Conn.send',
      'def send(self, msg):',
      '    if isinstance(msg, dict) and msg.get("t") == "hello" and "nonce" in msg:  # a fork of the template',
      '        _send(self, dict(msg, early=True))',
      '        with open("/tmp/forks", "a") as f: f.write("x")',
      '        time.sleep(0.5)  # the host has adopted it',
      '        os._exit(3)  # then its load fails: the function\'s own failure',
      '    return _send(self, msg)',
      'conn.Conn.send = send',
      'def handler(event, context):',
      '    time.sleep(float(event["query"].get("sleep", "0")))',
      '    return {"pid": os.getpid()}',
    ) });
    dirs.push(dir);
    const fn = fnVersion(dir, { concurrency: 1 });
    assert.equal((await pool.invoke(fn, ev())).error, null);
    await templateReady(pool, fn);
    const templatePid = templateHostPid(fn);
    // The warm instance is busy: the second call goes to a fork of the template.
    const [busy, other] = await Promise.all([pool.invoke(fn, ev({ sleep: '1' })), new Promise<InvocationResult>((r) => setTimeout(() => r(pool.invoke(fn, ev())), 50))]);
    assert.equal(busy.error, null, JSON.stringify(busy.error));
    let forks = 0;
    try {
      forks = readFileSync(`/proc/${templatePid}/root/tmp/forks`, 'utf8').length;
    } catch {
      // the template is gone (refused): read no count
    }
    t.diagnostic(`second call: ${other.start} ${JSON.stringify(other.error)}; forks that said early: ${forks}`);
    // Before: RUNTIME_UNAVAILABLE (no class) after the call went from fork to fork (5 of them).
    // Now the fork is refused at its hello: the call is served by a runtime started as usual, and
    // the template, which forked a process that lied, forks no more.
    assert.equal(other.error, null, JSON.stringify(other.error));
    assert.ok(forks <= 1, `one call went to ${forks} forks`);
    await until(() => pool.stats().functions[keyOf(fn)]?.template === null && !isAlive(templatePid), 10_000, 'the template to go');
  });

  it('templateMinInitMs: 0 makes none, nor does a version that may run one instance only', async (t) => {
    for (const [config, fnOverrides] of [[{ templateMinInitMs: 0 }, {}], [{}, { maxInstances: 1 }]] as const) {
      const pool = await openPool(config);
      t.after(() => pool.close());
      const fn = await slowFn(fnOverrides);
      await pool.invoke(fn, ev());
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(pool.stats().functions[keyOf(fn)]?.template, null, JSON.stringify(fnOverrides));
    }
  });
});

/** The memory controller's line of /proc/<pid>/cgroup (v1), or the unified one (v2). */
function memoryLeaf(text: string): string {
  const lines = text.trim().split('\n');
  return lines.find((l) => l.split(':')[1] === 'memory') ?? lines.find((l) => l.startsWith('0::')) ?? '';
}

/**
 * The host pid of `fn`'s template: the box's runtime (pid 2 inside its box) whose mount namespace
 * has the template socket bound at /run/fp-tpl and the function's code at /code.
 */
function templateHostPid(fn: FunctionVersion): number {
  const name = basename(fn.dir);
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const mounts = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
      if (!mounts.includes(' /run/fp-tpl ') || !mounts.includes(name)) continue;
      const nspid = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('NSpid:'))!;
      if (nspid.trim().split(/\s+/).pop() === '2') return pid;
    } catch {
      // not ours, or gone
    }
  }
  return 0;
}
