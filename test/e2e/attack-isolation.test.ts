/**
 * Red team, part 1 (security probe 2026-12, findings 1, 1a-1g): what an attacker function can
 * see, read, write and reach. Each attack runs as real Python inside a deployed function; each
 * must fail, and the victim function must keep answering its caller with its own secret.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultPoolConfig } from '../../poolmgr/index.js';
import { repoRoot } from '../helpers/runtime-process.js';
import { attack, processesOfUid, SYSCALL_PRELUDE, useAttackPlatform, VICTIM_SECRET, victimStillAnswers } from './attack-harness.js';

const h = useAttackPlatform();

describe('attack: isolation between functions and from the platform', () => {
  after(async () => {
    await victimStillAnswers(h);
  });

  it('attacks forked runtimes: the functions run in runtimes their zygote forked (docs/adr/0019-zygotes.md)', async (t) => {
    if (h.platform.isolation.mode !== 'root') return t.skip('functions share the platform\'s uid: their processes cannot be told apart here');
    // This platform's runtimes (the uid range is shared with other platforms on the machine).
    const ours = `${repoRoot()}/runtime/`;
    const cmdlines = processesOfUid(await victimStillAnswers(h)).map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8')).filter((c) => c.includes(ours));
    assert.ok(cmdlines.length > 0);
    // A forked process never exec'd: its command line is the zygote's.
    for (const cmdline of cmdlines) assert.ok(cmdline.includes(`${ours}zygote.py`), cmdline);
  });

  it('the attacker is an unprivileged uid of its own, with no capabilities, no_new_privs and seccomp', async () => {
    const victimUid = await victimStillAnswers(h);
    const res = await attack(h, [
      'out(os.getuid()); out(os.geteuid()); out(os.getgid())',
      'status = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)',
      'out({k: status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters")})',
    ].join('\n').replace(/^/, 'import os\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [uid, euid, , status] = res.out as [number, number, number, Record<string, string>];
    if (h.platform.isolation.mode === 'root') {
      assert.notEqual(uid, 0);
      assert.equal(euid, uid);
      assert.notEqual(uid, victimUid, 'two functions share a uid');
      assert.notEqual(uid, process.getuid?.());
      const [first, last] = h.platform.isolation.uidRange!;
      assert.ok(uid >= first && uid <= last, `uid ${uid} outside the range`);
    }
    for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.equal(status[cap], '0000000000000000', cap);
    assert.equal(status['NoNewPrivs'], '1');
    assert.equal(status['Seccomp'], '2');
    assert.equal(status['Seccomp_filters'], '2', 'the spawn filter and the function\'s');
    if (h.platform.isolation.mode === 'root') {
      // The box's init (seen from the host: the box shows the function only its own processes) is
      // under the spawn filter too: it goes on there, before init forks the runtime (ADR 0049).
      const fields = (pid: number): Record<string, string> => Object.fromEntries(readFileSync(`/proc/${pid}/status`, 'utf8')
        .split('\n').filter((l) => l.includes(':\t')).map((l) => [l.split(':\t')[0], l.split(':\t')[1]!.trim()]));
      // One init per instance of the function (earlier tests may have scaled it out).
      const inits = new Set(processesOfUid(uid).map((pid) => Number(fields(pid)['PPid'])).filter((ppid) => !processesOfUid(uid).includes(ppid)));
      assert.ok(inits.size >= 1, 'the function\'s processes have a parent outside them');
      for (const pid of inits) {
        const init = fields(pid);
        assert.deepEqual([init['NoNewPrivs'], init['Seccomp'], init['Seccomp_filters']], ['1', '2', '1'], `the box's init ${pid} under the spawn filter`);
      }
    }
  });

  it('sees only its own processes: not the victim, not the platform, not the generic runtimes (1a, 1c, 1g)', async () => {
    const victimUid = await victimStillAnswers(h);
    const victimPids = processesOfUid(victimUid);
    assert.ok(victimPids.length > 0, 'the victim has processes on the host');
    const res = await attack(h, [
      'import os',
      'pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())',
      'out(pids)',
      `targets = ${JSON.stringify([...victimPids, process.pid, process.ppid])}`,
      'for pid in targets:',
      '    for what in ("environ", "mem", "cmdline", "root"):',
      '        try:',
      '            os.stat(f"/proc/{pid}/{what}"); out(["visible", pid, what])',
      '        except OSError as e:',
      '            pass',
      'found = []',
      'for pid in pids:',
      '    try:',
      '        data = open(f"/proc/{pid}/environ", "rb").read()',
      `        if b"${VICTIM_SECRET}" in data or b"SECRET_A" in data: found.append(pid)`,
      '    except OSError:',
      '        pass',
      'out(found)',
    ].join('\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [pids, ...rest] = res.out as [number[], ...unknown[]];
    assert.ok(pids.every((pid) => pid < 1000), `host pids visible: ${pids}`);
    assert.ok(!pids.includes(1) || h.platform.isolation.mode !== 'root', 'the box init (root) is hidden from the function (hidepid)');
    assert.deepEqual(rest, [[]], 'no host process visible and no victim secret in any visible environ');
  });

  it("opens no other process's memory: its own is all it can scan (1a)", async () => {
    // The needle is in the attacker's own memory (this code carries it), so only others are scanned.
    const res = await attack(h, [
      'import os',
      'opened, hits = [], 0',
      'for pid in [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]:',
      '    try:',
      '        maps = open(f"/proc/{pid}/maps").read().splitlines()',
      '        mem = open(f"/proc/{pid}/mem", "rb", 0)',
      '    except OSError:',
      '        continue',
      '    opened.append(int(pid))',
      '    for line in maps:',
      '        lo, hi = (int(x, 16) for x in line.split()[0].split("-"))',
      '        if "r" not in line.split()[1] or hi - lo > 1 << 28: continue',
      '        try:',
      '            mem.seek(lo); chunk = mem.read(hi - lo)',
      '        except OSError:',
      '            continue',
      `        hits += chunk.count(b"${VICTIM_SECRET}") + chunk.count(b"hunter2-A")`,
      'out(opened); out(hits)',
    ].join('\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.out, [[], 0]);
  });

  it("cannot read the platform's state, the credentials file or another function's code (1a, 1b, 1e, 1f)", async () => {
    const state = h.stateDir;
    const victimCode = join(state, 'code', h.victim, '1', 'main.py');
    const paths = [
      join(state, 'platform.db'), join(state, 'blobs'), victimCode, join(state, 'code'),
      join(homedir(), '.config', 'fastapi-platform', 'credentials.json'), join(homedir(), '.config'),
      `/proc/${process.pid}/environ`, `/proc/${process.pid}/cwd`, `/proc/${process.pid}/root`, '/proc/1/root/etc',
    ];
    const res = await attack(h, [
      'import os',
      `for path in ${JSON.stringify(paths)}:`,
      '    try:',
      '        if os.path.isdir(path): os.listdir(path)',
      '        else: open(path, "rb").read(16)',
      '        out(["readable", path])',
      '    except OSError as e:',
      '        pass',
      'try:',
      `    open(${JSON.stringify(victimCode)}, "a").write("# planted")`,
      '    out("wrote victim code")',
      'except OSError:',
      '    pass',
      'out(sorted(os.listdir("/")))',
    ].join('\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const top = res.out.pop() as string[];
    assert.deepEqual(res.out, [], 'a host path was reachable');
    assert.ok(top.includes('code') && top.includes('tmp') && top.includes('usr'), `root: ${top}`);
    // Not there, unless the platform is installed under it: a box shows the runtimes' .venv and
    // runtime/ at their host paths (a clone under /srv or /home: new-user round 14, ADR 0112).
    const venv = dirname(dirname(defaultPoolConfig().pythonPath));
    const base = /^home = (.+)$/m.exec(readFileSync(join(venv, 'pyvenv.cfg'), 'utf8'))?.[1];  // the interpreter the .venv was made from
    const installed = new Set([repoRoot(), venv, ...(base !== undefined ? [base] : [])].map((p) => realpathSync(p).split('/')[1]));
    for (const name of ['home', 'srv', 'mnt']) assert.ok(installed.has(name) || !top.includes(name), `root: ${top}`);
  });

  it('can write nowhere but its private /tmp, /dev/shm and its instance\'s layer over /code; its deployed code stays as deployed (1d)', async () => {
    const find = (name: string): string[] => execFileSync('find', [h.stateDir, '-name', name], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
    const codeBefore = find('main.py');
    const res = await attack(h, [
      'import os',
      'for d in sorted(set(["/", "/code", "/etc", "/usr", "/dev", "/var", "/tmp", "/dev/shm", "/proc/sys/kernel"] + ["/" + x for x in os.listdir("/")])):',
      '    try:',
      '        with open(os.path.join(d, ".fp-probe"), "w") as f: f.write("x")',
      '        out(d)',
      '    except OSError:',
      '        pass',
      'try:',
      '    open("/code/main.py", "a").write("# planted")',
      '    out("wrote own code")',
      'except OSError as e:',
      '    out(e.errno)',
      'try:',
      '    os.unlink("/code/main.py")',
      '    out("removed own code")',
      'except OSError as e:',
      '    out(e.errno)',
    ].join('\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const removed = res.out.pop();
    const planted = res.out.pop();
    // Root mode: /code is an overlay whose upper layer is the instance's own tmpfs (docs/security.md, "files").
    const writable = h.platform.isolation.mode === 'root' ? ['/code', '/dev/shm', '/tmp'] : ['/dev/shm', '/tmp'];
    assert.deepEqual(res.out.sort(), writable);
    assert.ok(planted === 30 || planted === 13, `writing its own code gave ${String(planted)}`);
    // Root mode: removing a file only hides it in the instance's own layer (a whiteout); otherwise refused.
    if (h.platform.isolation.mode === 'root') assert.equal(removed, 'removed own code');
    else assert.ok(removed === 30 || removed === 13, `removing its own code gave ${String(removed)}`);
    // Nothing the instance did to /code reached the versions on the host.
    assert.deepEqual(find('.fp-probe'), [], 'the probe reached the host');
    assert.deepEqual(find('main.py'), codeBefore, 'a deployed file went away');
    for (const file of codeBefore) assert.doesNotMatch(readFileSync(file, 'utf8'), /# planted/);
  });

  it('cannot steal a runtime socket or trace anything: pidfd_getfd, ptrace, process_vm_readv are refused (1c)', async () => {
    const victimUid = await victimStillAnswers(h);
    const victimPid = processesOfUid(victimUid)[0]!;
    const res = await attack(h, [
      SYSCALL_PRELUDE,
      `fd = libc.syscall(434, ${victimPid}, 0); out(["pidfd_open host pid", fd, ctypes.get_errno()])`,
      'own = libc.syscall(434, os.getpid(), 0)',
      'sys_("pidfd_getfd", 438, own, 3, 0)',
      'sys_("ptrace", 101, 16, 1, 0, 0)',
      'sys_("process_vm_readv", 310, 1, 0, 0, 0, 0, 0)',
    ].join('\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [[, openResult, openErrno], ...rest] = res.out as [[string, number, number], ...[string, number, number][]];
    assert.equal(openResult, -1);
    assert.equal(openErrno, 3, 'ESRCH: the victim does not exist in the attacker\'s PID namespace');
    for (const [name, result, errno] of rest) assert.deepEqual([name, result, errno], [name, -1, 1], `${name} not refused with EPERM`);
  });

  it('cannot leave its box: mount, unshare, setns, bpf, perf_event_open, keyctl, kexec and namespaced clone are refused', async () => {
    const res = await attack(h, [
      SYSCALL_PRELUDE,
      'sys_("mount", 165, b"none", b"/tmp", b"tmpfs", 0, 0)',
      'sys_("umount2", 166, b"/code", 2)',
      'sys_("unshare", 272, 0x10000000)',
      'sys_("setns", 308, 0, 0)',
      'sys_("bpf", 321, 0, 0, 0)',
      'sys_("perf_event_open", 298, 0, 0, -1, -1, 0)',
      'sys_("keyctl", 250, 0, 0, 0, 0, 0)',
      'sys_("kexec_load", 246, 0, 0, 0, 0)',
      'sys_("clone newuser", 56, 0x10000000 | 17, 0, 0, 0, 0)',
      'sys_("io_uring_setup", 425, 1, 0)',
      'sys_("chroot", 161, b"/tmp")',
    ].join('\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    for (const [name, result, errno] of res.out as [string, number, number][]) assert.deepEqual([name, result, errno], [name, -1, 1], `${name} not refused`);
  });

  it('cannot take the host\'s native AIO contexts (fs.aio-nr, one counter for the whole host): io_setup and the other AIO calls are refused', async (t) => {
    // Red team of 2026-12-05, fourth round: six io_setup calls of one function took all 65536 of
    // fs.aio-max-nr, and every other io_setup on the host failed with EAGAIN while the instance lived.
    if (!h.platform.isolation.seccomp) return t.skip('no seccomp on this machine');
    const before = Number(readFileSync('/proc/sys/fs/aio-nr', 'utf8'));
    const res = await attack(h, [
      SYSCALL_PRELUDE,
      'ctx = ctypes.c_ulong(0)',
      'sys_("io_setup", 206, 4096, ctypes.byref(ctx))',
      'sys_("io_destroy", 207, 0)',
      'sys_("io_getevents", 208, 0, 0, 0, 0, 0)',
      'sys_("io_submit", 209, 0, 0, 0)',
      'sys_("io_cancel", 210, 0, 0, 0)',
      'sys_("io_pgetevents", 333, 0, 0, 0, 0, 0, 0)',
      'out(open("/proc/sys/fs/aio-nr").read().strip())',
    ].join('\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const calls = res.out.slice(0, -1) as [string, number, number][];
    for (const [name, result, errno] of calls) assert.deepEqual([name, result, errno], [name, -1, 1], `${name} not refused with EPERM`);
    // Nothing was taken from the host's count (other processes on the machine may hold some).
    assert.ok(Number(readFileSync('/proc/sys/fs/aio-nr', 'utf8')) < before + 4096, 'the function holds AIO contexts of the host');
  });

  it('cannot open a socket to the hypervisor (AF_VSOCK) or to the kernel\'s crypto API (AF_ALG); other families work', async (t) => {
    // Red team of 2026-12-05, fourth round: every socket family was allowed; AF_VSOCK reaches the
    // VM's host side, AF_ALG rarely exercised kernel code. Docker's default profile denies AF_VSOCK too.
    if (!h.platform.isolation.seccomp) return t.skip('no seccomp on this machine');
    const res = await attack(h, [
      SYSCALL_PRELUDE,
      'import socket',
      'sys_("socket AF_VSOCK", 41, 40, 1, 0)',
      'sys_("socket AF_ALG", 41, 38, 5, 0)',
      'sys_("socketpair AF_VSOCK", 53, 40, 1, 0, 0)',
      'for family, kind in ((socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET6, socket.SOCK_DGRAM), (socket.AF_UNIX, socket.SOCK_STREAM), (socket.AF_NETLINK, socket.SOCK_RAW)):',
      '    socket.socket(family, kind).close()',
      'a, b = socket.socketpair(); a.close(); b.close()',
      'out("others work")',
    ].join('\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const calls = res.out.slice(0, -1) as [string, number, number][];
    for (const [name, result, errno] of calls) assert.deepEqual([name, result, errno], [name, -1, 1], `${name} not refused with EPERM`);
    assert.equal(res.out.at(-1), 'others work');
  });

  it('cannot give a thread a descriptor table of its own (the open-file guard counts a process\'s): clone(CLONE_THREAD) without CLONE_FILES and close_range(CLOSE_RANGE_UNSHARE) are refused; threads and closerange work', async (t) => {
    // Red team of 2026-12-05, third round: threads made with clone(CLONE_THREAD|CLONE_VM|CLONE_SIGHAND)
    // each held 1024 files in a table of their own, which /proc/<pid>/fd does not show: six
    // instances held 55 % of the host's file table and the guard counted 17 files a box.
    if (!h.platform.isolation.seccomp) return t.skip('no seccomp on this machine');
    const res = await attack(h, [
      SYSCALL_PRELUDE,
      'import threading',
      // Refused before any thread exists (were it allowed, the child would run on the caller's stack).
      'sys_("clone thread, own table", 56, 0x00010000 | 0x00000800 | 0x00000100, 0, 0, 0, 0)',
      'sys_("close_range unshare", 436, 0x7fffffff, 0x7fffffff, 2)',
      'sys_("close_range", 436, 0x7fffffff, 0x7fffffff, 0)',
      'seen = []',
      'th = threading.Thread(target=lambda: seen.append(open("/proc/self/status").read().count("\\n") > 0)); th.start(); th.join()',
      'out(seen)',
      'os.closerange(1000, 1010)',
      'out("closerange")',
    ].join('\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.out, [['clone thread, own table', -1, 1], ['close_range unshare', -1, 1], ['close_range', 0, 0], [true], 'closerange'], JSON.stringify(res.out));
  });

  it('cannot reach what /.fp held: an empty read-only cover over it that stays (docs/adr/0065-cover-not-unmount.md)', async () => {
    const res = await attack(h, [
      SYSCALL_PRELUDE,
      'out(os.listdir("/.fp"))',
      'out([p for p in ("/.fp/code", "/.fp/code/0", "/.fp/deps", "/.fp/data", "/.fp/tpl", "/.fp/cg", "/.fp/id", "/.fp/work") if os.path.lexists(p)])',
      'out([l.split()[4:6] + [l.split(" - ")[1].split()[0]] for l in open("/proc/self/mountinfo") if l.split()[4] == "/.fp"])',
      'try:',
      '    open("/.fp/x", "w"); out("wrote")',
      'except OSError as e:',
      '    out(type(e).__name__)',
      'sys_("umount2 lazy", 166, b"/.fp", 2)',
      'sys_("umount2", 166, b"/.fp", 0)',
      'out(os.listdir("/.fp"))',
    ].join('\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [listed, reachable, covers, write, lazy, plain, after] = res.out as [string[], string[], string[][], string, unknown[], unknown[], string[]];
    assert.deepEqual(listed, []);
    assert.deepEqual(reachable, [], 'a path reaches under the cover');
    // The cover: the last mount on /.fp (the one paths reach), a read-only tmpfs; under it, the
    // hidden tmpfs itself (before ADR 0065 /.fp was unmounted, so neither showed).
    const cover = covers[covers.length - 1];
    assert.ok(cover, 'no mount on /.fp');
    assert.ok(cover[1]!.split(',').includes('ro'), JSON.stringify(covers));
    assert.equal(cover[2], 'tmpfs');
    assert.ok(write === 'PermissionError' || write === 'OSError', write); // EACCES (mode 0555) or EROFS
    assert.deepEqual(lazy, ['umount2 lazy', -1, 1]);
    assert.deepEqual(plain, ['umount2', -1, 1]);
    assert.deepEqual(after, []);
  });

  it('cannot signal the platform or the victim (1g)', async () => {
    const victimUid = await victimStillAnswers(h);
    const targets = [process.pid, ...processesOfUid(victimUid)];
    const res = await attack(h, [
      'import os, signal',
      `for pid in ${JSON.stringify(targets)}:`,
      '    try:',
      '        os.kill(pid, signal.SIGKILL); out(["killed", pid])',
      '    except ProcessLookupError:',
      '        out("ESRCH")',
      '    except PermissionError:',
      '        out("EPERM")',
      'try:',
      '    os.kill(1, signal.SIGKILL); out("signalled init")',
      'except OSError as e:',
      '    out(type(e).__name__)',
    ].join('\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const init = res.out.pop();
    assert.ok(res.out.every((r) => r === 'ESRCH'), JSON.stringify(res.out));
    assert.ok(init === 'PermissionError' || init === 'signalled init', String(init)); // init ignores signals from inside its namespace
    await victimStillAnswers(h);
  });

  it('reaches the admin API only as a stranger: no token, 401 (1b)', async () => {
    const res = await attack(h, [
      'import urllib.request, urllib.error',
      `for path in ("/api/v1/functions", "/api/v1/functions/${h.victim}"):`,
      '    try:',
      `        urllib.request.urlopen("${h.url}" + path, timeout=5); out(200)`,
      '    except urllib.error.HTTPError as e:',
      '        out(e.code)',
    ].join('\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.out, [401, 401]);
  });

  it('cannot listen: no TCP port of the host, no abstract stream name (a host service\'s port taken while it restarts); connecting out still works', async (t) => {
    if (!h.platform.isolation.seccomp) return t.skip('no seccomp on this machine');
    const res = await attack(h, [
      'import socket, errno',
      'def attempt(family, address):',
      '    s = socket.socket(family, socket.SOCK_STREAM)',
      '    try:',
      '        s.bind(address)',
      '        s.listen(8)',
      '        out("listening")',
      '    except OSError as e:',
      '        out(errno.errorcode.get(e.errno, e.errno))',
      '    finally:',
      '        s.close()',
      'attempt(socket.AF_INET, ("127.0.0.1", 0))',
      'attempt(socket.AF_INET, ("0.0.0.0", 0))',
      'attempt(socket.AF_INET6, ("::1", 0))',
      'attempt(socket.AF_UNIX, "\\0fp-red-listen")',
      `c = socket.create_connection(("127.0.0.1", ${new URL(h.url).port}), timeout=5)`,
      'c.sendall(b"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"); out(c.recv(12).decode()); c.close()',
    ].join('\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.out.slice(0, 4), ['EPERM', 'EPERM', 'EPERM', 'EPERM'], JSON.stringify(res.out));
    assert.equal(res.out[4], 'HTTP/1.1 200', 'a connection out (to the gateway) works');
  });

  it('cannot take a host port by bind() alone: TCP or UDP, a named port or an ephemeral one, IPv4 or IPv6 (red team of 2026-12-05); UDP out and Unix sockets still work', async (t) => {
    const iso = h.platform.isolation;
    if (iso.mode !== 'root' || iso.cgroups === null || iso.warnings.some((w) => w.includes('no cgroup v2 hierarchy is mounted'))) return t.skip('no cgroup v2 hierarchy to attach the bind guard to');
    assert.equal(iso.bindGuard, true, iso.warnings.join('; '));
    const port = 20_000 + Math.floor(Math.random() * 5000);
    const res = await attack(h, [
      'import socket, errno',
      'def attempt(family, kind, address):',
      '    s = socket.socket(family, kind)',
      '    try:',
      '        s.bind(address)',
      '        out(["bound", s.getsockname()[1]])',
      '    except OSError as e:',
      '        out(errno.errorcode.get(e.errno, e.errno))',
      '    finally:',
      '        s.close()',
      `attempt(socket.AF_INET, socket.SOCK_STREAM, ("0.0.0.0", ${port}))`,
      'attempt(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0))',
      `attempt(socket.AF_INET6, socket.SOCK_STREAM, ("::", ${port}))`,
      `attempt(socket.AF_INET, socket.SOCK_DGRAM, ("0.0.0.0", ${port}))`,
      'attempt(socket.AF_INET6, socket.SOCK_DGRAM, ("::1", 0))',
      'u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b"x", ("127.0.0.1", 9)); out(u.getsockname()[1] > 0); u.close()',
      'x = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); x.bind("\\0fp-red-bind"); out("unix bound"); x.close()',
      `c = socket.create_connection(("127.0.0.1", ${new URL(h.url).port}), timeout=5)`,
      'c.sendall(b"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"); out(c.recv(12).decode()); c.close()',
    ].join('\n'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.out, ['EPERM', 'EPERM', 'EPERM', 'EPERM', 'EPERM', true, 'unix bound', 'HTTP/1.1 200'], JSON.stringify(res.out));
    // The platform's own process is not in the guarded cgroup: it can still take the port.
    const net = await import('node:net');
    await new Promise<void>((resolve, reject) => {
      const server = net.createServer().once('error', reject).listen(port, '127.0.0.1', () => server.close(() => resolve()));
    });
  });

  it('a kill of everything it can signal ends only itself; the victim and the platform go on (1g)', async () => {
    const res = await attack(h, 'import os, signal\nos.kill(-1, signal.SIGKILL)\nimport time\ntime.sleep(1)\nout("survived")');
    assert.ok(res.status === 502 || res.status === 200, `status ${res.status}`);
    await victimStillAnswers(h);
    const again = await attack(h, 'out("back")');
    assert.deepEqual(again.out, ['back']);
  });
});
