"""Refuses every AF_INET/AF_INET6 `bind()` in a cgroup v2 directory (docs/security.md, "Ports").

Run once by the platform (root), with the directory every box joins:
`python -I -S bindguard.py <cgroup v2 dir>`. It loads two two-instruction eBPF programs
(`r0 = 0; exit`: refuse, EPERM) of type BPF_PROG_TYPE_CGROUP_SOCK_ADDR and attaches them at
BPF_CGROUP_INET4_BIND and BPF_CGROUP_INET6_BIND: they stay attached (the kernel holds them) until
the directory is removed. Only the bind syscall is refused: the implicit port of an outgoing
`connect()` or of a first `sendto()` does not pass the hook, Unix sockets are not inet. A box's
seccomp filter already refuses `listen`; without this a function could still take host ports by
`bind()` alone (a named port another service then cannot listen on, or every ephemeral port).
Prints nothing and exits 0 when attached; exits 1 with the reason otherwise.
"""
import ctypes
import os
import platform
import struct
import sys

SYS_BPF = {"x86_64": 321, "aarch64": 280}
BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_TYPE_CGROUP_SOCK_ADDR = 18
BPF_CGROUP_INET4_BIND = 8
BPF_CGROUP_INET6_BIND = 9
ATTR_SIZE = 128
# BPF_ALU64|BPF_MOV|BPF_K r0 = 0; BPF_JMP|BPF_EXIT
PROGRAM = struct.pack("<BBhi", 0xB7, 0, 0, 0) + struct.pack("<BBhi", 0x95, 0, 0, 0)


def _bpf(libc, number, cmd, attr):
    buf = ctypes.create_string_buffer(attr, ATTR_SIZE)
    result = libc.syscall(number, cmd, buf, ATTR_SIZE)
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def attach(directory):
    number = SYS_BPF.get(platform.machine())
    if number is None:
        raise OSError(0, f"no bpf syscall number for {platform.machine()}")
    libc = ctypes.CDLL(None, use_errno=True)
    insns = ctypes.create_string_buffer(PROGRAM)
    license_ = ctypes.create_string_buffer(b"GPL")
    cgroup = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for attach_type in (BPF_CGROUP_INET4_BIND, BPF_CGROUP_INET6_BIND):
            # union bpf_attr, BPF_PROG_LOAD: prog_type, insn_cnt, insns, license, log_level,
            # log_size, log_buf, kern_version, prog_flags, prog_name[16], prog_ifindex,
            # expected_attach_type.
            load = struct.pack("<IIQQIIQII16sII", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, len(PROGRAM) // 8,
                               ctypes.addressof(insns), ctypes.addressof(license_), 0, 0, 0, 0, 0,
                               b"fp_no_inet_bind", 0, attach_type)
            prog = _bpf(libc, number, BPF_PROG_LOAD, load)
            try:
                # BPF_PROG_ATTACH: target_fd, attach_bpf_fd, attach_type, attach_flags.
                _bpf(libc, number, BPF_PROG_ATTACH, struct.pack("<IIII", cgroup, prog, attach_type, 0))
            finally:
                os.close(prog)
    finally:
        os.close(cgroup)


if __name__ == "__main__":
    try:
        attach(sys.argv[1])
    except (OSError, IndexError) as err:
        print(f"cgroup BPF unavailable: {err}", file=sys.stderr)
        sys.exit(1)
