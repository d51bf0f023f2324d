"""Runs runtime/fp_sandbox/seccomp.py's spawn filter in a classic-BPF interpreter against its
rules, written out independently here, for every syscall number 0..1099 (and the x32 bit, and
another architecture) with assorted first (and, the same, third, fourth and sixth) arguments. Prints a JSON summary
for seccomp-program.test.ts."""
import json
import struct
import sys

sys.path.insert(0, sys.argv[1])
from fp_sandbox import libc, seccomp  # noqa: E402

ALLOW, KILL = 0x7FFF0000, 0x80000000
EPERM, ENOSYS, EOPNOTSUPP, SKIP = 0x00050000 | 1, 0x00050000 | 38, 0x00050000 | 95, 0x00050000
NS = (libc.CLONE_NEWNS | libc.CLONE_NEWCGROUP | libc.CLONE_NEWUTS | libc.CLONE_NEWIPC | libc.CLONE_NEWUSER
      | libc.CLONE_NEWPID | libc.CLONE_NEWNET)


def run(prog: bytes, arch: int, nr: int, arg0: int, arg2: int):
    ins = [struct.unpack("=HBBI", prog[i:i + 8]) for i in range(0, len(prog), 8)]
    pc, acc, steps = 0, 0, 0
    data = {0: nr, 4: arch, 16: arg0, 32: arg2, 40: arg2, 56: arg2}
    while True:
        code, jt, jf, k = ins[pc]
        steps += 1
        if code == 0x20:
            acc = data[k]
            pc += 1
        elif code == 0x06:
            return k, steps
        elif code in (0x15, 0x35, 0x45):
            hit = acc == k if code == 0x15 else acc >= k if code == 0x35 else bool(acc & k)
            pc += 1 + (jt if hit else jf)
        else:
            raise ValueError(f"unexpected opcode {code:#x}")


def expected(arch: int, nr: int, arg0: int, arg2: int) -> int:
    if arch != seccomp.AUDIT_ARCH_X86_64 or nr >= seccomp.X32_SYSCALL_BIT:
        return KILL
    if nr == 56:  # clone: no namespace, and no thread with a descriptor table of its own
        if arg0 & NS:
            return EPERM
        return EPERM if arg0 & libc.CLONE_THREAD and not arg0 & libc.CLONE_FILES else ALLOW
    if nr == 436:  # close_range: not with CLOSE_RANGE_UNSHARE (flags, the third argument)
        return EPERM if arg2 & 2 else ALLOW
    if nr in (41, 53):  # socket, socketpair: not AF_ALG (38) or AF_VSOCK (40)
        return EPERM if arg0 in (38, 40) else ALLOW
    if nr == 435:  # clone3
        return ENOSYS
    # the page cache of shared files (red team round 21): fadvise DONTNEED (the fourth argument) and
    # madvise PAGEOUT (the third) skipped, answered 0; preadv2 and pwritev2 with RWF_NOWAIT (8, the
    # sixth) EOPNOTSUPP
    if nr == 221:
        return SKIP if arg2 == 4 else ALLOW
    if nr == 28:
        return SKIP if arg2 == 21 else ALLOW
    if nr in (327, 328):
        return EOPNOTSUPP if arg2 & 8 else ALLOW
    if nr == 135:  # personality
        return ALLOW if arg0 in (0, 0xFFFFFFFF) else EPERM
    return EPERM if nr in seccomp.DENIED_X86_64.values() else ALLOW


prog = seccomp.spawn_program()
# 0x3D0F00: what glibc's pthread_create passes (CLONE_THREAD with CLONE_FILES); 0x10900: a thread
# without CLONE_FILES; 0x10D00: one with it.
args = [0, 1, 2, 4, 21, 0xFFFFFFFF, 0x11, 0x3D0F00, 0x10900, 0x10D00, 0x80000000, 37, 38, 39, 40, 41] + [1 << b for b in range(32)]
wrong, checked, most = [], 0, 0
for arch in (seccomp.AUDIT_ARCH_X86_64, 0x40000003, 0):
    for nr in list(range(1100)) + [0x40000000, 0x40000001, 0x4000003B, 0x7FFFFFFF, 0xFFFFFFFF]:
        for arg0 in args:
            got, steps = run(prog, arch, nr, arg0, arg0)
            checked += 1
            most = max(most, steps)
            if got != expected(arch, nr, arg0, arg0):
                wrong.append([arch, nr, arg0, got])
print(json.dumps({"checked": checked, "wrong": wrong[:10], "instructions": len(prog) // 8, "mostSteps": most}))
