"""Drives the native init (runtime/fp_sandbox/init.c) outside any box, as the Python init of a
forked box does: output redirected, a runtime forked, then forked.exec_init. Used by
fp-init.test.ts, which reads the report channel on fd 3.

    python fp-init-driver.py RUNTIME_DIR SCENARIO PROCS_FILE

The driver is a child subreaper (the box's init is pid 1: orphans come to it). The "runtime" waits
for the joined byte, then plays SCENARIO:
  exit         prints to stdout and stderr, exits 7
  signal       kills itself with SIGTERM
  orphans      a grandchild exits after its parent: it must be reaped by init, not left a zombie
  caps         prints init's capability sets and whether it holds a descriptor it should not
  cgroup-fail  the cgroup.procs descriptor is read-only: init must kill the runtime
  host-gone    waits; the test closes its end of the report channel: init must kill it and exit
"""
import os
import signal
import sys
import time

runtime_dir, scenario, procs_file = sys.argv[1:4]
sys.path.insert(0, runtime_dir)
from fp_sandbox import forked, libc  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36
libc.prctl(PR_SET_CHILD_SUBREAPER, 1)
forked.begin(3)
stray = os.open(__file__, os.O_RDONLY)  # inheritable, not named: init must close it
os.set_inheritable(stray, True)
procs = [os.open(procs_file, os.O_RDONLY if scenario == "cgroup-fail" else os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)]
output = forked.redirect_output()
joined_r, joined_w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(joined_w)
    joined = os.read(joined_r, 1).decode()
    print(f"joined={joined}", flush=True)
    if scenario == "exit":
        print("to stderr", file=sys.stderr, flush=True)
        os._exit(7)
    if scenario == "signal":
        os.kill(os.getpid(), signal.SIGTERM)
    if scenario == "orphans":
        child = os.fork()
        if child == 0:
            if os.fork() == 0:
                time.sleep(0.2)  # its parent is gone by then: it is init's
                os._exit(0)
            os._exit(0)
        os.waitpid(child, 0)
        time.sleep(0.8)
        zombies = 0
        for p in os.listdir("/proc"):
            try:
                stat = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split() if p.isdigit() else []
            except OSError:
                continue
            if stat and stat[0] == "Z" and int(stat[1]) == os.getppid():
                zombies += 1
        print(f"zombies={zombies}", flush=True)
        os._exit(0)
    if scenario == "caps":
        status = open(f"/proc/{os.getppid()}/status").read()
        caps = [line.split(":")[1].strip() for line in status.splitlines() if line.startswith(("CapPrm", "CapEff", "CapInh", "CapAmb"))]
        print(f"caps={','.join(caps)}", flush=True)
        fds = f"/proc/{os.getppid()}/fd"
        print(f"stray={any(os.readlink(f'{fds}/{fd}') == os.path.abspath(__file__) for fd in os.listdir(fds))}", flush=True)
        os._exit(0)
    time.sleep(30)  # cgroup-fail, host-gone: killed before this ends
    os._exit(0)
os.close(joined_r)
forked.announce(forked.own_stat())  # as keeper.init does, before the exec
forked.exec_init(pid, procs, output, joined_w)
sys.stderr.write("exec_init returned\n")
os._exit(99)
