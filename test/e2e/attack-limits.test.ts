/**
 * Red team, part 2 (security probe 2026-12, findings 2, 3, 6): limits a function cannot lift and
 * processes that cannot outlive their instance. Real Python in a deployed function; the victim
 * keeps answering throughout.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { eventually } from '../helpers/processes.js';
import { repoRoot } from '../helpers/runtime-process.js';
import { attack, processesWith, useAttackPlatform, victimStillAnswers } from './attack-harness.js';
import { deployed, py, sleep } from './platform-harness.js';

const TMP_BYTES = 8 * 1024 * 1024;
const TASKS = 48;
const h = useAttackPlatform({ sandboxTmpBytes: TMP_BYTES, sandboxTasks: TASKS, idleTimeoutMs: 1500 });

async function gone(marker: string, withinMs: number): Promise<number[]> {
  await eventually(() => processesWith(marker).length === 0, withinMs);
  return processesWith(marker);
}

describe('attack: limits and process trees', () => {
  after(async () => {
    await victimStillAnswers(h);
  });

  it('cannot raise its memory limit with setrlimit, and a big allocation fails with FUNCTION_OUT_OF_MEMORY (2)', async () => {
    const res = await attack(h, [
      'import resource',
      'soft, hard = resource.getrlimit(resource.RLIMIT_AS)',
      'out(soft == hard)',
      'try:',
      '    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)); out("raised")',
      'except (ValueError, OSError):',
      '    out("refused")',
      'for name in ("RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_CORE"):',
      '    s, hd = resource.getrlimit(getattr(resource, name))',
      '    out([name, s == hd])',
      'RAISE = True',
      'blob = bytearray(1 << 36)',  // past 16 × 128Mi of address space (ADR 0202): a MemoryError
      'for i in range(0, len(blob), 4096): blob[i] = 1',
    ].join('\n'));
    assert.equal(res.status, 502, JSON.stringify(res.body));
    assert.equal((res.body as { error: { code: string } }).error.code, 'FUNCTION_OUT_OF_MEMORY');
    assert.match((res.body as { error: { message: string } }).error.message, /128 ?Mi/);
    await victimStillAnswers(h);
  });

  it('cannot hold more socket buffer memory than its memory limit: unread bytes of its own TCP sockets are counted (red team 2026-12-04)', async (t) => {
    // TCP sockets whose peer never reads keep what they send in kernel buffers. cgroup v1 counts
    // those only once the leaf's memory.kmem.tcp limit is written: 64 sockets held ~1 GiB while
    // the 128Mi box's cgroup showed 1 MiB. The red team connected a socket to itself (bind, then
    // connect to its own address); binds are refused now (attack-isolation), so the peer is a
    // host process that accepts and never reads, with a 4 KiB receive buffer (what it holds is
    // the host's, not the box's).
    const peer = spawn(`${repoRoot()}/.venv/bin/python`, ['-I', '-S', '-c', [
      'import socket, sys',
      's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)',
      's.bind(("127.0.0.1", 0)); s.listen(128)',
      'print(s.getsockname()[1], flush=True)',
      'held = []',
      'while True: held.append(s.accept()[0])',
    ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => peer.kill('SIGKILL'));
    const port = Number((await once(peer.stdout!, 'data'))[0].toString().trim());
    const res = await attack(h, [
      'import socket',
      'held, queued, chunk = [], 0, b"x" * 65536',
      'for _ in range(64):',
      '    try:',
      `        s = socket.create_connection(("127.0.0.1", ${port}), timeout=5); s.setblocking(False)`,
      '    except OSError as err:',
      '        out(["socket", err.errno]); break',
      '    held.append(s)',
      '    while True:',
      '        try: queued += s.send(chunk)',
      '        except OSError: break',
      'out(len(held)); out(queued >> 20)',
      'for s in held: s.close()',
    ].join('\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [sockets, mib] = res.out as [number, number];
    assert.ok(sockets >= 16, `only ${sockets} sockets were opened: ${JSON.stringify(res.out)}`);
    // The allowance for socket buffers is the memory limit (128Mi), apart from it.
    assert.ok(mib <= 160, `${sockets} sockets held ${mib} MiB of unread bytes past a 128Mi limit`);
    await victimStillAnswers(h);
  });

  it('a fork bomb stops at the task limit with FUNCTION_PROCESS_LIMIT; nothing of it is left afterwards (6)', async () => {
    const marker = `fp-bomb-${randomBytes(4).toString('hex')}`;
    const res = await attack(h, [
      'import subprocess',
      'RAISE = True',
      'procs = []',
      'for i in range(10_000):',
      `    procs.append(subprocess.Popen(["${marker}", "600"], executable="/usr/bin/sleep"))`,
    ].join('\n'));
    assert.equal(res.status, 502, JSON.stringify(res.body));
    assert.equal((res.body as { error: { code: string } }).error.code, 'FUNCTION_PROCESS_LIMIT');
    const started = processesWith(marker).length;
    assert.ok(started > TASKS / 2 && started < TASKS, `${started} processes for a limit of ${TASKS}`);
    await victimStillAnswers(h);
    // The instance stays warm with its sleeping children; when it is reaped they all go.
    assert.deepEqual(await gone(marker, 8000), [], 'processes outlived the reaped instance');
  });

  it('fills its /tmp only up to the cap (ENOSPC), and another instance starts with an empty one (6)', async () => {
    const res = await attack(h, [
      'import os, errno',
      'written = 0',
      'try:',
      '    with open("/tmp/fill", "wb") as f:',
      '        while written < 64 << 20:',
      '            f.write(b"x" * (1 << 20)); f.flush(); written += 1 << 20',
      'except OSError as e:',
      '    out(e.errno)',
      'out(written)',
      'os.remove("/tmp/fill")',
    ].join('\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [code, written] = res.out as [number, number];
    assert.ok(code === 28 || code === 27, `errno ${code}`); // ENOSPC, or EFBIG from RLIMIT_FSIZE
    assert.ok(written <= TMP_BYTES, `wrote ${written} bytes past an ${TMP_BYTES}-byte cap`);
  });

  it('makes files in /tmp, /dev/shm and /code only up to an inode cap, and no shared memory segment outlives its users', async () => {
    // Inodes cost kernel memory (~1 KiB each) that a tmpfs size does not count; a box's IPC
    // namespace lives as long as the box (a template's, longer than its instances' cgroup leaves).
    const res = await attack(h, [
      'import ctypes, os',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'libc.shmat.restype = ctypes.c_void_p',
      'libc.shmget.argtypes = (ctypes.c_int, ctypes.c_size_t, ctypes.c_int)',
      'sid = libc.shmget(0, 4 << 20, 0o1000 | 0o600)',
      'addr = libc.shmat(sid, None, 0); ctypes.memset(addr, 1, 4 << 20); libc.shmdt(ctypes.c_void_p(addr))',
      'out(len(open("/proc/sysvipc/shm").read().splitlines()) - 1)',
      'queues = 0',
      'while queues < 1000 and libc.msgget(0, 0o1000 | 0o600) >= 0: queues += 1',
      'out(queues)',
      'for d in ("/tmp", "/dev/shm", "/code"):',
      '    made = 0',
      '    try:',
      '        while made < 100_000:',
      '            os.close(os.open(f"{d}/i{made}", os.O_CREAT | os.O_WRONLY)); made += 1',
      '    except OSError as e:',
      '        out([d, made, e.errno])',
      '    for i in range(made): os.unlink(f"{d}/i{i}")',
    ].join('\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [segments, queues, ...dirs] = res.out as [number, number, ...[string, number, number][]];
    assert.equal(segments, 0, 'a detached segment outlived its last user');
    assert.ok(queues <= 16, `${queues} message queues`);
    const writable = h.platform.isolation.mode === 'root' ? ['/tmp', '/dev/shm', '/code'] : ['/tmp', '/dev/shm'];
    for (const d of writable) {
      const hit = dirs.find(([dir]) => dir === d);
      assert.ok(hit !== undefined && hit[2] === 28 && hit[1] <= TMP_BYTES / 2048, `${d}: ${JSON.stringify(hit)}`); // ENOSPC
    }
    await victimStillAnswers(h);
  });

  it('leaves no process behind after a timeout: subprocess, setsid and fork children all die (3)', async () => {
    const name = `orphans-${randomBytes(3).toString('hex')}`;
    const marker = `fp-orphan-${randomBytes(4).toString('hex')}`;
    await deployed(h.api, name, {
      'main.py': py(
        'import os, subprocess, time, signal',
        'def handler(event, context):',
        `    subprocess.Popen(["${marker}", "600"], executable="/usr/bin/sleep")`,
        `    subprocess.Popen(["${marker}", "601"], executable="/usr/bin/sleep", start_new_session=True)`,
        '    if os.fork() == 0:',
        '        os.setsid()',
        `        os.execv("/usr/bin/sleep", ["${marker}", "602"])`,
        '    signal.signal(signal.SIGTERM, signal.SIG_IGN)',
        '    time.sleep(60)',
      ),
    }, { limits: { timeout: '1s' } });
    const call = fetch(`${h.url}/fn/${name}/`);
    const deadline = Date.now() + 5000;
    while (processesWith(marker).length < 3 && Date.now() < deadline) await sleep(20);
    assert.equal(processesWith(marker).length, 3, 'the three children started');
    const res = await call;
    assert.equal(res.status, 504);
    assert.deepEqual(await gone(marker, 3000), [], 'children outlived the timed-out instance');
  });

  it('cannot run a call past its timeout beside one that timed out: a stream beside it is cut at its own limit (oddfn round 2)', async () => {
    // `concurrency: 2`: the first stream times out at 2 s and the instance waits for the call beside
    // it, whose own timeout the instance's timer no longer watched: that stream ran on (25 s under
    // a 4 s limit by hand, recorded `succeeded`), holding the instance, for as long as it liked.
    const name = `beside-${randomBytes(3).toString('hex')}`;
    await deployed(h.api, name, {
      'main.py': py(
        'import asyncio',
        'async def handler(scope, receive, send):  # three parameters, async: an ASGI app (ADR 0145)',
        '    if scope["type"] != "http":',
        '        return',
        '    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})',
        '    while True:',
        '        await send({"type": "http.response.body", "body": b"tick\\n", "more_body": True})',
        '        await asyncio.sleep(0.1)',
      ),
    }, { limits: { timeout: '2s', concurrency: 2, maxInstances: 1 } });
    const read = async (): Promise<number> => {
      const started = Date.now();
      const res = await fetch(`${h.url}/fn/${name}/`, { signal: AbortSignal.timeout(15_000) });
      try {
        for await (const _ of res.body!) { /* read until the platform cuts it */ }
      } catch { /* cut: the body's end never came */ }
      return Date.now() - started;
    };
    const first = read();
    await sleep(700);
    const [a, b] = await Promise.all([first, read()]);
    assert.ok(a < 6_000, `the first stream ran ${a} ms`);
    assert.ok(b < 6_000, `the stream beside it ran ${b} ms under a 2 s timeout`);
  });

  it('leaves no process behind after an idle reap (3)', async () => {
    const marker = `fp-reaped-${randomBytes(4).toString('hex')}`;
    const res = await attack(h, [
      'import os, subprocess',
      `subprocess.Popen(["${marker}", "600"], executable="/usr/bin/sleep", start_new_session=True)`,
      'r, w = os.pipe()  # close-on-exec: EOF once the child has exec\'d',
      'if os.fork() == 0:',
      `    os.execv("/usr/bin/sleep", ["${marker}", "601"])`,
      'os.close(w); os.read(r, 1)',
      'out("started")',
    ].join('\n'));
    assert.deepEqual(res.out, ['started']);
    assert.equal(processesWith(marker).length, 2);
    // idleTimeoutMs is 1.5 s here: the instance is reaped, and its whole box with it.
    assert.deepEqual(await gone(marker, 8000), [], 'children outlived the reaped instance');
  });
});
