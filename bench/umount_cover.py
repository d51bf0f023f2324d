"""What hides a box's /.fp at specialize, timed (bench/README.md 3g, docs/adr/0065-cover-not-unmount.md).

In a private mount namespace of its own (needs root; the host's mounts are not touched), n rounds,
the three kinds interleaved: umount2(MNT_DETACH) of a tmpfs with seven mounts under it (what
`become` did: the kernel waits for an expedited RCU grace period), a read-only tmpfs mounted over
it (what it does now), a bind of an empty directory over it. µs per call.
    sudo .venv/bin/python bench/umount_cover.py [n]
"""
import ctypes, os, statistics, sys, tempfile, time
libc = ctypes.CDLL(None, use_errno=True)
def ck(r, w):
    if r != 0:
        e = ctypes.get_errno(); raise OSError(e, w + ": " + os.strerror(e))
def mount(s, t, f, fl, d=None):
    ck(libc.mount(s and s.encode(), t.encode(), f and f.encode(), ctypes.c_ulong(fl), d and d.encode()), "mount " + t)
def umount(t, fl=0): ck(libc.umount2(t.encode(), fl), "umount " + t)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 4096, 16384, 1 << 18
ck(libc.unshare(0x00020000), "unshare")
mount(None, "/", None, MS_REC | MS_PRIVATE)
base = tempfile.mkdtemp(prefix="fp-umount-cover-"); mount("t", base, "tmpfs", 0, "size=1m"); os.makedirs(base + "/fp"); os.makedirs(base + "/empty")
def setup():
    t = base + "/fp"
    mount("fp", t, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700,size=64k")
    for n in ("code0", "code1", "deps", "cg1", "cg2", "cg3", "id"):
        os.makedirs(f"{t}/{n}")
        mount("/usr", f"{t}/{n}", None, MS_BIND) if n != "id" else mount("x", f"{t}/{n}", "tmpfs", 0, "size=64k")
    return t
n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
res = {"umount": [], "cover-tmpfs": [], "cover-bind": []}
for i in range(n):
    for kind in res:
        t = setup()
        t0 = time.perf_counter_ns()
        if kind == "umount":
            umount(t, 2)
        elif kind == "cover-tmpfs":
            mount("fp-hidden", t, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555,size=4k,nr_inodes=1")
        else:
            mount(base + "/empty", t, None, MS_BIND)
        res[kind].append((time.perf_counter_ns() - t0) / 1000)
        if kind != "umount":
            umount(t, 2); umount(t, 2)
for k, v in res.items():
    v.sort(); print(f"{k:12s} n {len(v)} p50 {statistics.median(v):8.1f} us  p90 {v[int(len(v)*.9)]:8.1f}  p99 {v[min(len(v)-1,int(len(v)*.99))]:8.1f}  max {v[-1]:8.1f}")
umount(base, 2)
os.rmdir(base)
