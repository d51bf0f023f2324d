/**
 * Red team, part 3: function templates (docs/adr/0030-function-templates.md). A template is the
 * function's own code (its module ran in it at import), so it may lie, reap its children without
 * a word, or hand its channel to another process. Real Python in deployed functions.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { eventually, processesOfUid } from '../helpers/processes.js';
import { deploy, deployed, fnName, py, sleep, upload, usePlatform } from './platform-harness.js';

/**
 * A hostile template: at import it makes its reaper silent (a child's end is never reported); an
 * instance asked to `stale` names itself, forks a process that keeps its channel open, and ends:
 * its template reaps it, so its host pid is free for any process of the host.
 */
const HOSTILE = py(
  'import ctypes, os, time',
  'def name(text): ctypes.CDLL(None).prctl(15, text.encode(), 0, 0, 0)  # PR_SET_NAME (pyNameSelf): its /proc is read-only',
  'import fp_runtime.template as template',
  'template._Children._report = lambda self, fid, status: None',
  'time.sleep(0.3)  # a slow import: the version gets a template',
  'def handler(event, context):',
  '    q = event["query"]',
  '    if q.get("mode") == "stale" and os.getppid() != 1:  # forked: its parent is its template, not the box init',
  '        name(q["marker"])',
  '        time.sleep(1.5)  # the test finds its host pid meanwhile',
  '        if os.fork() == 0:',
  '            name(q["marker"] + "g")',
  '            time.sleep(120)',
  '            os._exit(0)',
  '        os._exit(0)',
  '    time.sleep(float(q.get("sleep", "0")))',
  '    return {"pid": os.getpid(), "uid": os.getuid()}',
);

/**
 * A template that will not go: at import it hides a thread of its own from the template's check
 * and makes `shutdown` a no-op. Dropped (a deploy, an undeploy), it would run on, in no cap.
 */
const IMMORTAL = (marker: string): string => py(
  'import ctypes, os, threading, time',
  'import fp_runtime.template as template',
  'template._Children.drain = lambda self: None',
  'template._extra_threads = lambda started: 0',
  'named = threading.Event()',
  'def beat():',
  `    ctypes.CDLL(None).prctl(15, b"${marker}", 0, 0, 0)  # PR_SET_NAME, this thread's (its /proc is read-only)`,
  '    named.set()',
  '    while True: time.sleep(0.5)',
  'time.sleep(0.3)  # a slow import: the version gets a template',
  'threading.Thread(target=beat, daemon=True).start()',
  'named.wait()  # named before the import ends: the template is refused for threads only, which it hides',
  'def handler(event, context):',
  '    return {"uid": os.getuid()}',
);

/** Host threads named `name`. */
function threadsNamed(name: string): number {
  let count = 0;
  for (const p of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      for (const tid of readdirSync(`/proc/${p}/task`)) if (readFileSync(`/proc/${p}/task/${tid}/comm`, 'utf8').trim() === name) count++;
    } catch {
      // gone meanwhile
    }
  }
  return count;
}

/**
 * Leaves what it can in its box, which a template shares with every instance it forks: a detached
 * System V shared memory segment (16 MiB, touched), message queues and files in /tmp and /code
 * until the file system says no; then ends. Asked to `count`, says what is there.
 */
const LEAVER = py(
  'import ctypes, os, threading, time',
  'time.sleep(0.3)  # a slow import: the version gets a template',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'libc.shmat.restype = ctypes.c_void_p',
  'libc.shmget.argtypes = (ctypes.c_int, ctypes.c_size_t, ctypes.c_int)',
  'def fill(d):',
  '    made = 0',
  '    try:',
  '        while made < 300_000:',
  '            os.close(os.open(f"{d}/l{os.getpid()}-{made}", os.O_CREAT | os.O_WRONLY, 0o600)); made += 1',
  '    except OSError:',
  '        pass',
  '    return made',
  'def handler(event, context):',
  '    q = event["query"]',
  '    forked = os.getppid() != 1',
  '    if "sleep" in q: time.sleep(float(q["sleep"]))',
  '    if q.get("mode") == "leave" and forked:',
  '        sid = libc.shmget(0, 16 << 20, 0o1000 | 0o600)',
  '        addr = libc.shmat(sid, None, 0); ctypes.memset(addr, 1, 16 << 20); libc.shmdt(ctypes.c_void_p(addr))',
  '        queues = 0',
  '        while queues < 1000 and libc.msgget(0, 0o1000 | 0o600) >= 0: queues += 1',
  '        answer = {"forked": True, "tmp": fill("/tmp"), "code": fill("/code"), "queues": queues}',
  '        threading.Timer(0.3, os._exit, (0,)).start()  # ends after answering',
  '        return answer',
  '    return {"forked": forked, "segments": len(open("/proc/sysvipc/shm").read().splitlines()) - 1,',
  '            "queues": len(open("/proc/sysvipc/msg").read().splitlines()) - 1,',
  '            "tmp": len(os.listdir("/tmp")), "code": len(os.listdir("/code")), "inodes": os.statvfs("/tmp").f_files}',
);

/** Calls `name` until an instance forked from its template answers (every warm one kept busy meanwhile); its answer. */
async function onForked(url: string, name: string, query: string): Promise<Record<string, unknown>> {
  let warm = 1;
  for (let round = 0; round < 10; round++) {
    const busy = Array.from({ length: warm }, () => fetch(`${url}/fn/${name}/?sleep=1.5`));
    await sleep(300);
    const res = await fetch(`${url}/fn/${name}/?${query}`);
    const body = (await res.json()) as Record<string, unknown>;
    for (const b of busy) await (await b).text();
    assert.equal(res.status, 200, JSON.stringify(body));
    if (body['forked'] === true) return body;
    warm++; // a specialized instance (the template was not ready yet)
  }
  throw new Error('no call ran on a forked instance');
}

function byName(name: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === name;
    } catch {
      return false;
    }
  }).map(Number);
}

/** A host process (sleep) with pid `pid`, taken through ns_last_pid; null if other forks kept winning. */
function takePid(pid: number): ChildProcess | null {
  for (let attempt = 0; attempt < 50; attempt++) {
    writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    if (child.pid === pid) return child;
    child.kill('SIGKILL');
  }
  return null;
}

describe('attack: function templates', () => {
  const h = usePlatform({ poolSize: 2 });

  it('a forked instance whose template reaped it silently: the platform never signals the process that took its pid', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('taking a given pid (ns_last_pid) needs root');
    const name = fnName('tpl-stale');
    await deployed(h.api, name, { 'main.py': HOSTILE }, { limits: { timeout: '4s', maxInstances: 4, concurrency: 1 } });
    const call = (query: string): Promise<Response> => fetch(`${h.url}/fn/${name}/?${query}`);
    const { uid } = (await (await call('sleep=0')).json()) as { uid: number };
    assert.ok(await eventually(() => processesOfUid(uid).length >= 2, 10_000), 'no template beside the instance');

    const marker = `fp-st-${randomBytes(3).toString('hex')}`; // comm holds 15 bytes
    // Every warm instance is kept busy, so the next call needs a new one: forked from the template once it is ready.
    let warm = 1;
    let busy: Promise<Response>[] = [];
    let stale: Promise<Response> | null = null;
    for (let round = 0; round < 10 && stale === null; round++) {
      for (const res of busy) await (await res).text();
      busy = Array.from({ length: warm }, () => call('sleep=2'));
      await sleep(300);
      const attempt = call(`mode=stale&marker=${marker}`);
      const named = await Promise.race([attempt.then(() => false), eventually(() => byName(marker).length === 1, 5000)]);
      if (named) {
        stale = attempt;
      } else {
        assert.equal((await attempt).status, 200); // a specialized instance (the template was not ready): it said so and answered
        warm++;
      }
    }
    assert.ok(stale !== null, 'no call ran on a forked instance');
    const [pid] = byName(marker) as [number];
    assert.ok(await eventually(() => byName(marker).length === 0, 5000), 'the forked instance did not end');
    assert.ok(await eventually(() => byName(`${marker}g`).length === 1, 5000), 'its channel holder runs');
    const bystander = takePid(pid);
    if (bystander === null) return t.skip(`could not take pid ${pid} on this busy machine`);
    const died = new Promise<NodeJS.Signals | null>((resolve) => bystander.on('exit', (_code, signal) => resolve(signal)));
    try {
      const res = await stale;
      assert.equal(res.status, 504, 'the call ends at its timeout; the platform kills the instance');
      await res.text();
      const signal = await Promise.race([died, sleep(1000).then(() => 'alive' as const)]);
      assert.equal(signal, 'alive', 'the platform signalled the host process that took the freed pid');
      assert.ok(await eventually(() => byName(`${marker}g`).length === 0, 5000), 'what the instance left in its leaf was not killed');
      for (const res of busy) await (await res).text();
      assert.equal((await call('sleep=0')).status, 200, 'the function still answers');
    } finally {
      bystander.kill('SIGKILL');
    }
  });

  it('a template that ignores its shutdown and hides a thread is ended when its version is replaced, and when its function is deleted', async () => {
    const name = fnName('tpl-immortal');
    const marker = `fp-im-${randomBytes(3).toString('hex')}`;
    await deployed(h.api, name, { 'main.py': IMMORTAL(marker) }, { limits: { maxInstances: 4 } });
    const call = async (): Promise<void> => assert.equal((await fetch(`${h.url}/fn/${name}/`)).status, 200);
    // The instance runs the thread too; its template is a second one.
    await call();
    assert.ok(await eventually(() => threadsNamed(marker) === 2, 20_000), `no template beside the instance (${threadsNamed(marker)} thread(s))`);
    await upload(h.api, name, { 'main.py': IMMORTAL(marker) });
    await deploy(h.api, name); // drains the old version: its instance and its template go
    assert.ok(await eventually(() => threadsNamed(marker) === 0, 10_000), `${threadsNamed(marker)} thread(s) of the old version still run`);
    // Deleted: a function of its own, so this half does not hang on the new version's template
    // (made in the background: CI once saw none within 10 s on a loaded machine).
    const gone = fnName('tpl-immortal-deleted');
    const goneMarker = `fp-id-${randomBytes(3).toString('hex')}`;
    await deployed(h.api, gone, { 'main.py': IMMORTAL(goneMarker) }, { limits: { maxInstances: 4 } });
    assert.equal((await fetch(`${h.url}/fn/${gone}/`)).status, 200);
    assert.ok(await eventually(() => threadsNamed(goneMarker) === 2, 20_000), `no template beside the instance (${threadsNamed(goneMarker)} thread(s))`);
    assert.equal((await h.api.call('DELETE', `/functions/${gone}`)).status, 204);
    assert.ok(await eventually(() => threadsNamed(goneMarker) === 0, 10_000), `${threadsNamed(goneMarker)} thread(s) of the deleted function still run`);
    await call(); // the function whose version was replaced still answers
  });

  it('what a forked instance leaves in its template\'s box is capped: no detached shared memory segment survives, few queues and files', async () => {
    const name = fnName('tpl-leaver');
    await deployed(h.api, name, { 'main.py': LEAVER }, { limits: { maxInstances: 4, concurrency: 1 } });
    assert.equal((await fetch(`${h.url}/fn/${name}/`)).status, 200);
    const left = await onForked(h.url, name, 'mode=leave');
    await sleep(500); // it ended: the next forked instance is another one
    const seen = await onForked(h.url, name, 'mode=count');
    assert.equal(seen['segments'], 0, 'a detached segment outlived its instance (charged to no live cgroup)');
    assert.ok((left['queues'] as number) <= 16 && (seen['queues'] as number) <= 16, JSON.stringify([left, seen]));
    // Files stay (the box's /tmp is the template's), up to an inode cap well below the kernel's default (millions).
    const inodes = seen['inodes'] as number;
    assert.ok(inodes <= 64 * 1024, `${inodes} inodes in /tmp`);
    assert.ok((left['tmp'] as number) < inodes && (seen['tmp'] as number) <= inodes, JSON.stringify([left, seen]));
    assert.ok((left['code'] as number) <= inodes, JSON.stringify(left));
  });
});
