/**
 * Red team of 2026-12-06 (round 17): what the kernel counts for the whole host, that no box's own
 * limit bounds. Socket buffers: a box's TCP and UDP buffers count against its own allowance (its
 * memory limit, cgroup v1 memory.kmem.tcp.limit_in_bytes, ADR 0082), and also against the host's
 * `net.ipv4.tcp_mem` / `udp_mem`, one figure for every socket of the host. One instance of a
 * 256Mi function held 254 MiB of the host's UDP memory in 0.2 s (receivers that never read, filled
 * from a socket of its own: no bind, no listen needed); the ten instances a function may have by
 * default held more than the host's hard limit (2.2 GiB for TCP on a 24 GiB machine), past which
 * every socket of the host, the platform's and every tenant's, keeps only its minimum buffers.
 * The boxes now share one total (the platform directory's limit, hierarchical: half of tcp_mem's
 * pressure threshold by default, FP_SANDBOX_SOCKET_BYTES). Real runtimes, real sockets; the total
 * is made small so that the test holds a few MiB, not gigabytes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { totalmem } from 'node:os';
import { hostMemoryShare, hostSocketShare } from '../../poolmgr/host/cgroups.js';
import type { PoolManager } from '../../poolmgr/index.js';
import { ev, fnVersion, openPool, py, removeFunction, writeFunction } from './poolmgr-harness.js';

const MIB = 1024 * 1024;
const TOTAL = 32 * MIB;

/**
 * Fills UDP receivers that never read, each until the kernel stops queueing (its buffer or the
 * box's allowance is full), and answers the bytes they hold (SO_MEMINFO's rmem_alloc).
 */
const HOLDER = py(
  'import socket, struct',
  'def handler(event, context):',
  '    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
  '    tx.sendto(b"", ("127.0.0.1", 9))  # a port without bind(), which the box refuses',
  '    txport = tx.getsockname()[1]',
  '    rx, held, chunk = [], 0, b"x" * 60000',
  '    rmem = lambda s: struct.unpack("9I", s.getsockopt(socket.SOL_SOCKET, 55, 36))[0]',
  '    for _ in range(600):',
  '        r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
  '        r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)',
  '        r.connect(("127.0.0.1", txport))',
  '        rx.append(r)',
  '        port, last = r.getsockname()[1], -1',
  '        while rmem(r) != last:',
  '            last = rmem(r)',
  '            tx.sendto(chunk, ("127.0.0.1", port))',
  '        held += last',
  '        if held > 256 << 20: break',
  '    for s in rx + [tx]: s.close()',
  '    return {"held": held}',
);

const v1Sockets = (() => {
  try {
    return readFileSync('/proc/self/cgroup', 'utf8').includes(':memory:') && process.geteuid?.() === 0;
  } catch {
    return false;
  }
})();

describe('attack: the host\'s socket memory, shared by every box', { skip: v1Sockets ? false : 'needs root and cgroup v1 (v2 counts socket buffers in memory.max)' }, () => {
  let pool: PoolManager;
  let dir: string;
  before(async () => {
    pool = await openPool({ socketBytesTotal: TOTAL });
    dir = await writeFunction({ 'main.py': HOLDER });
  });
  after(async () => {
    await pool.close();
    await removeFunction(dir);
  });

  it('defaults the total to half of the host\'s TCP (or UDP) pressure threshold', () => {
    const first = (f: string) => Number(readFileSync(f, 'utf8').trim().split(/\s+/)[0]);
    const pages = Math.min(first('/proc/sys/net/ipv4/tcp_mem'), first('/proc/sys/net/ipv4/udp_mem'));
    assert.equal(hostSocketShare(), Math.floor(pages / 2) * 4096);
  });

  it('a box holds no more socket buffers than all the boxes\' total, whatever its own allowance', { timeout: 60_000 }, async () => {
    // Its own allowance is 128 MiB: four times the total.
    const result = await pool.invoke(fnVersion(dir, { memoryBytes: 128 * MIB, timeoutMs: 50_000 }), ev());
    assert.equal(result.error, null, JSON.stringify(result.error));
    const held = (JSON.parse(Buffer.from(result.response!.body).toString()) as { held: number }).held;
    assert.ok(held > MIB, `the receivers held nothing (${held} bytes): the attack did not run`);
    assert.ok(held <= TOTAL + 4 * MIB, `one box held ${(held / MIB).toFixed(0)} MiB of the host's UDP memory, past the boxes' total of ${TOTAL / MIB} MiB`);
  });
});

/** Touches `mib` MiB page by page and holds it `hold` seconds: the memory of one instance. */
const TOUCHER = py(
  'import time',
  'def handler(event, context):',
  '    q = event["query"]',
  '    n = int(q["mib"]) << 20',
  '    b = bytearray(n)',
  '    for i in range(0, n, 4096): b[i] = 1',
  '    time.sleep(float(q["hold"]))',
  '    return {"touched": n}',
);

/** The box's oom_score_adj, and what lowering it to 0 (the platform's) answers. */
const OOM_ADJ = py(
  'def handler(event, context):',
  '    adj = int(open("/proc/self/oom_score_adj").read())',
  '    try:',
  '        with open("/proc/self/oom_score_adj", "w") as f: f.write("0")',
  '        lowered = "yes"',
  '    except OSError as err:',
  '        lowered = err.__class__.__name__',
  '    return {"adj": adj, "lowered": lowered, "now": int(open("/proc/self/oom_score_adj").read())}',
);

/** Forks `kids` children that each touch `mib` MiB and hold it `hold` seconds; answers once they are gone. */
const SPLITTER = py(
  'import os, time',
  'def handler(event, context):',
  '    q = event["query"]',
  '    pids = []',
  '    for _ in range(int(q["kids"])):',
  '        pid = os.fork()',
  '        if pid == 0:',
  '            n = int(q["mib"]) << 20',
  '            b = bytearray(n)',
  '            for i in range(0, n, 4096): b[i] = 1',
  '            time.sleep(float(q["hold"]))',
  '            os._exit(0)',
  '        pids.append(pid)',
  '    killed = sum(1 for pid in pids if os.WIFSIGNALED(os.waitpid(pid, 0)[1]))',
  '    return {"killed": killed}',
);

const rootV1 = v1Sockets;
const TOTAL_MEMORY = 256 * MIB;

describe('attack: the host\'s memory, shared by every box', { skip: rootV1 ? false : 'needs root and cgroups' }, () => {
  // Red team round 43: each box's cgroup held it to its own limit, and nothing bounded their sum:
  // four instances of a 1Gi function forking children of 48 MiB in a 3 GiB cgroup standing for a
  // small host drove it to its OOM killer, which killed the platform, the biggest process left
  // (ADR 0209). The boxes now share one total, the platform directory's memory limit.
  let pool: PoolManager;
  let dir: string;
  before(async () => {
    pool = await openPool({ poolSize: 2, memoryBytesTotal: TOTAL_MEMORY });
    dir = await writeFunction({ 'main.py': TOUCHER });
  });
  after(async () => {
    await pool.close();
    await removeFunction(dir);
  });

  it('defaults the total to the platform\'s memory less a quarter, at least 1 GiB', () => {
    const share = hostMemoryShare();
    assert.ok(share !== undefined && share > 0, `no total: ${share}`);
    assert.ok(share <= totalmem() - Math.max(1024 * MIB, totalmem() / 4), `${share} leaves the platform less than a quarter of ${totalmem()}`);
  });

  it('a box\'s processes come before the platform for the host\'s OOM killer (oom_score_adj 500), and cannot lower it, with CAP_SYS_RESOURCE or without', { timeout: 30_000 }, async () => {
    const oomDir = await writeFunction({ 'main.py': OOM_ADJ });
    try {
      const result = await pool.invoke(fnVersion(oomDir), ev());
      assert.equal(result.error, null, JSON.stringify(result.error));
      const answer = JSON.parse(Buffer.from(result.response!.body).toString()) as { adj: number; lowered: string; now: number };
      assert.equal(answer.adj, 500, `the box's oom_score_adj is ${answer.adj}: the host's OOM killer takes the platform first when it is the biggest process`);
      // The box's /proc is read-only from specialize on (red team round 45): without CAP_SYS_RESOURCE
      // (this test host, a container that drops it) the function lowered it to the platform's 0,
      // and another tenant's boxes, still at 500, became the kernel's victims. With it, the floor
      // refuses too, after the read-only mount (EROFS at the open).
      assert.equal(answer.lowered, 'OSError');
      assert.equal(answer.now, 500);
    } finally {
      await removeFunction(oomDir);
    }
  });

  it('past the total, a workspace holding more than half of it in allowances loses its processes first, not another workspace\'s bigger one', { timeout: 90_000 }, async () => {
    const splitter = await writeFunction({ 'main.py': SPLITTER });
    try {
      // The victim's instance (128Mi, of another workspace) holds 100 MiB in one process; the
      // attacker's (512Mi: twice the total) splits 192 MiB over children of 24 MiB. Together they
      // pass the total; the kernel kills by size, and before, the victim's process was the biggest.
      const victim = pool.invoke(fnVersion(dir, { name: `victim-${process.pid}.ws-b`, memoryBytes: 128 * MIB, timeoutMs: 60_000 }), ev({ mib: '100', hold: '8' }));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const attacker = await pool.invoke(fnVersion(splitter, { name: `splitter-${process.pid}.ws-a`, memoryBytes: 512 * MIB, timeoutMs: 60_000 }), ev({ kids: '8', mib: '24', hold: '4' }));
      const answered = await victim;
      assert.equal(answered.error, null, `the other workspace's instance was killed: ${JSON.stringify(answered.error)}`);
      assert.equal(attacker.error, null, JSON.stringify(attacker.error));
      const killed = (JSON.parse(Buffer.from(attacker.response!.body).toString()) as { killed: number }).killed;
      assert.ok(killed > 0, 'the attacker\'s children all lived: the total was not reached');
    } finally {
      await removeFunction(splitter);
    }
  });

  it('all the boxes together touch no more than their total: past it one is killed, whatever their own limits', { timeout: 90_000 }, async () => {
    // Each instance's own limit (512 MiB) allows what it touches (192 MiB); two together pass the total.
    const version = fnVersion(dir, { memoryBytes: 512 * MIB, timeoutMs: 60_000 });
    const results = await Promise.all([1, 2].map(() => pool.invoke(version, ev({ mib: '192', hold: '6' }))));
    const codes = results.map((r) => (r.error === null ? 'ok' : r.error.type === 'ConnectionLost' ? 'FUNCTION_OUT_OF_MEMORY' : r.error.code));
    assert.ok(codes.includes('FUNCTION_OUT_OF_MEMORY'), `two boxes touched 384 MiB past the boxes' total of ${TOTAL_MEMORY / MIB} MiB: ${JSON.stringify(results.map((r) => r.error))}`);
    // One alone fits: the total bounds their sum, not each box.
    const alone = await pool.invoke(version, ev({ mib: '192', hold: '0' }));
    assert.equal(alone.error, null, JSON.stringify(alone.error));
  });
});

const SECRET = py(
  'import ctypes',
  'def handler(event, context):',
  '    libc = ctypes.CDLL(None, use_errno=True)',
  '    if event["query"].get("call") == "inotify":',
  '        fd = libc.syscall(294, 0)  # inotify_init1',
  '    else:',
  '        fd = libc.syscall(447, 0)  # memfd_secret',
  '    return {"fd": fd, "errno": ctypes.get_errno()}',
);

describe('attack: system calls that reach past the box', { skip: process.geteuid?.() === 0 ? false : 'needs root (the root sandbox)' }, () => {
  let pool: PoolManager;
  let dir: string;
  before(async () => {
    pool = await openPool();
    dir = await writeFunction({ 'main.py': SECRET });
  });
  after(async () => {
    await pool.close();
    await removeFunction(dir);
  });

  it('cannot take memory out of the kernel\'s direct map: memfd_secret is refused (EPERM)', { timeout: 30_000 }, async () => {
    const result = await pool.invoke(fnVersion(dir), ev());
    assert.equal(result.error, null, JSON.stringify(result.error));
    assert.deepEqual(JSON.parse(Buffer.from(result.response!.body).toString()), { fd: -1, errno: 1 });
  });

  it('cannot watch the host files every box shares for other tenants\' opens and reads: inotify is refused (EPERM)', { timeout: 30_000 }, async () => {
    // Red team round 17: a watch on the interpreter's wave.cpython-311.pyc saw another tenant's
    // function import wave, and one on the CA bundle every TLS handshake of the host.
    const result = await pool.invoke(fnVersion(dir), ev({ call: 'inotify' }));
    assert.equal(result.error, null, JSON.stringify(result.error));
    assert.deepEqual(JSON.parse(Buffer.from(result.response!.body).toString()), { fd: -1, errno: 1 });
  });
});
