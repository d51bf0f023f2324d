"""What one copy-on-write fault costs on this machine (bench/README.md, section 3d).

    .venv/bin/python bench/cow_fault.py [pages] [rounds]

A process dirties `pages` pages of a buffer, forks, and the child writes one byte into each page
again: the first pass takes a copy-on-write fault per page, the second none. Prints µs per page
for both passes, per round. A forked runtime pays this for every page of the zygote's memory it
writes (reference counts included), which is what makes a fresh fork's first steps slow.
"""
import os
import sys
import time

PAGE = 4096
PAGES = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5


def touch(buf: bytearray, value: int) -> float:
    start = time.perf_counter_ns()
    for offset in range(0, len(buf), PAGE):
        buf[offset] = value
    return (time.perf_counter_ns() - start) / (len(buf) // PAGE) / 1000


def main() -> None:
    buf = bytearray(PAGES * PAGE)
    touch(buf, 1)
    for _ in range(ROUNDS):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            first, again = touch(buf, 2), touch(buf, 3)
            os.write(w, f"{first:.2f} {again:.3f}".encode())
            os._exit(0)
        os.close(w)
        first, again = os.read(r, 64).decode().split()
        os.close(r)
        os.waitpid(pid, 0)
        print(f"{PAGES} pages: {first} µs/page with a copy-on-write fault, {again} µs/page after")


if __name__ == "__main__":
    main()
