/*
 * fp-init: the rest of a forked box's init, exec'd by the Python init (fp_sandbox/keeper.py
 * `init`) once it has built the box and forked the runtime (docs/adr/0026-native-init.md).
 *
 * The box's init is pid 1 of the box's PID namespace, a child of the zygote. Its Python half
 * enters the box (mount namespace copy, view.finish, cgroup.procs opened on the host's root,
 * bounding set dropped, no_new_privs), forks the runtime (pid 2, the zygote's pages, unchanged),
 * then exec's this program, which keeps none of the interpreter's memory: an idle box's init
 * costs a few pages instead of a forked interpreter's ~1.3 MiB.
 *
 *   fp-init RUNTIME_PID REPORT_FD OUT_FD ERR_FD NULL_FD JOINED_FD [PROCS_FD...]
 *
 * It does what fp_sandbox/forked.py `serve_init` and keeper.py `init` did after the fork, with the
 * same report channel (fp_sandbox/forked.py: 4-byte big-endian length + msgpack):
 *   1. not dumpable (no /proc/1/mem, no ptrace for anyone but root); every descriptor but the
 *      ones named closed; SIGCHLD default (the zygote ignores it), SIGPIPE ignored;
 *   2. (the Python half sent {t: "pid", pid} already, before it forked the runtime: first on the
 *      channel, and ahead of the runtime's hello on its own channel);
 *   3. itself and the runtime moved into the cgroup leaves (a write of each pid to each
 *      PROCS_FD), its capabilities cleared, then "1" on JOINED_FD: the runtime's specialize waits
 *      for it, so no function code runs outside its leaves or beside a privileged init. If any
 *      of it fails, the runtime is killed (reported so) and the reason goes out as stderr;
 *   4. the box's stdout/stderr (OUT_FD, ERR_FD) forwarded as {t: "out", s: 1 | 2, b}, within a
 *      budget (past it read and dropped, {t: "dropped", n} says how much), and every process the
 *      box orphans reaped, until the runtime is gone;
 *   5. what output is left (without waiting), {t: "exit", code, signal} with the runtime's own
 *      end, and exit 0: the kernel then kills whatever is left in the box.
 * SIGTERM and SIGINT (the host's: from inside the box, init gets no signal it does not handle,
 * and the function's uid may not signal uid 0) end the box at once without an exit frame, as the
 * Python init did: the host knows what it sent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536
#define MAX_PROCS 16
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static int report = -1;
static unsigned char frame[CHUNK + 64];

static const char *const SIGNAL_NAMES[] = {
    [SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",
    [SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT", [SIGBUS] = "SIGBUS", [SIGFPE] = "SIGFPE",
    [SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
    [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM", [SIGSTKFLT] = "SIGSTKFLT",
    [SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT", [SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP",
    [SIGTTIN] = "SIGTTIN", [SIGTTOU] = "SIGTTOU", [SIGURG] = "SIGURG", [SIGXCPU] = "SIGXCPU",
    [SIGXFSZ] = "SIGXFSZ", [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF", [SIGWINCH] = "SIGWINCH",
    [SIGIO] = "SIGIO", [SIGPWR] = "SIGPWR", [SIGSYS] = "SIGSYS",
};

/* msgpack, the few shapes the report channel needs: short strings, unsigned integers, nil, bin. */
static size_t put_str(unsigned char *p, const char *s) {
    size_t n = strlen(s); /* every string here is under 32 bytes: fixstr */
    p[0] = (unsigned char)(0xa0 | n);
    memcpy(p + 1, s, n);
    return n + 1;
}

static size_t put_uint(unsigned char *p, uint32_t v) {
    if (v < 128) { p[0] = (unsigned char)v; return 1; }
    if (v < 256) { p[0] = 0xcc; p[1] = (unsigned char)v; return 2; }
    if (v < 65536) { p[0] = 0xcd; p[1] = (unsigned char)(v >> 8); p[2] = (unsigned char)v; return 3; }
    p[0] = 0xce; p[1] = (unsigned char)(v >> 24); p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 8); p[4] = (unsigned char)v;
    return 5;
}

static size_t put_bin(unsigned char *p, const void *data, size_t n) {
    size_t head;
    if (n < 256) { p[0] = 0xc4; p[1] = (unsigned char)n; head = 2; }
    else if (n < 65536) { p[0] = 0xc5; p[1] = (unsigned char)(n >> 8); p[2] = (unsigned char)n; head = 3; }
    else { p[0] = 0xc6; p[1] = (unsigned char)(n >> 24); p[2] = (unsigned char)(n >> 16);
           p[3] = (unsigned char)(n >> 8); p[4] = (unsigned char)n; head = 5; }
    memmove(p + head, data, n);
    return head + n;
}

/* Writes frame[4..end) with its length prefix, whole (a blocking socket); a host that is gone is
 * nobody to tell. */
static void send_frame(size_t end) {
    size_t body = end - 4, done = 0;
    frame[0] = (unsigned char)(body >> 24); frame[1] = (unsigned char)(body >> 16);
    frame[2] = (unsigned char)(body >> 8); frame[3] = (unsigned char)body;
    while (done < end) {
        ssize_t n = write(report, frame + done, end - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += (size_t)n;
    }
}

/* {t: "out", s, b}: the data is read into place first (frame + OUT_DATA), then moved after its header. */
#define OUT_DATA 32
static void send_out(int stream, size_t len) {
    size_t n = 4;
    frame[n++] = 0x83;
    n += put_str(frame + n, "t"); n += put_str(frame + n, "out");
    n += put_str(frame + n, "s"); n += put_uint(frame + n, (uint32_t)stream);
    n += put_str(frame + n, "b");
    n += put_bin(frame + n, frame + OUT_DATA, len);
    send_frame(n);
}

static void send_text(int stream, const char *text) {
    size_t len = strlen(text);
    memcpy(frame + OUT_DATA, text, len);
    send_out(stream, len);
}

static void send_exit(int status) {
    size_t n = 4;
    char other[24];
    frame[n++] = 0x83;
    n += put_str(frame + n, "t"); n += put_str(frame + n, "exit");
    n += put_str(frame + n, "code");
    if (WIFSIGNALED(status)) frame[n++] = 0xc0;
    else n += put_uint(frame + n, WIFEXITED(status) ? (uint32_t)WEXITSTATUS(status) : 1);
    n += put_str(frame + n, "signal");
    if (!WIFSIGNALED(status)) {
        frame[n++] = 0xc0;
    } else {
        int sig = WTERMSIG(status);
        const char *name = sig > 0 && sig < (int)(sizeof SIGNAL_NAMES / sizeof *SIGNAL_NAMES) ? SIGNAL_NAMES[sig] : NULL;
        if (name == NULL) {
            snprintf(other, sizeof other, "SIG%d", sig);
            name = other;
        }
        n += put_str(frame + n, name);
    }
    send_frame(n);
}

static int number(const char *text, long max) {
    char *end;
    long v;
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 0 || v > max) {
        static const char msg[] = "fp-init: bad argument\n";
        (void)!write(2, msg, sizeof msg - 1);
        _exit(1);
    }
    return (int)v;
}

static int by_value(const void *a, const void *b) {
    return *(const int *)a - *(const int *)b;
}

/* Every descriptor but stdio and `keep` (close-on-exec should have closed them: this is the guarantee). */
static void close_others(int *keep, int count) {
    int low = 3;
    qsort(keep, (size_t)count, sizeof *keep, by_value);
    for (int i = 0; i < count; i++) {
        if (keep[i] > low) syscall(SYS_close_range, (unsigned)low, (unsigned)(keep[i] - 1), 0u);
        if (keep[i] >= low) low = keep[i] + 1;
    }
    syscall(SYS_close_range, (unsigned)low, ~0u, 0u);
}

static void end_now(int sig) {
    (void)sig;
    _exit(1);
}

/* Moves init and the runtime (pids of the box's namespace, where these writes are read) into every leaf. */
static int join(const int *procs, int count, int runtime) {
    char text[2][16];
    int len[2], err = 0;
    len[0] = snprintf(text[0], sizeof text[0], "%d", (int)getpid());
    len[1] = snprintf(text[1], sizeof text[1], "%d", runtime);
    for (int who = 0; who < 2 && err == 0; who++)
        for (int i = 0; i < count && err == 0; i++)
            if (write(procs[i], text[who], (size_t)len[who]) != len[who]) err = errno ? errno : EIO;
    for (int i = 0; i < count; i++) close(procs[i]);
    return err;
}

/* No capabilities left in any set (exec under no_new_privs with an empty bounding set leaves at
 * most the inheritable ones; this clears whatever is there). */
static int lose_capabilities(void) {
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); /* no ambient set before 4.3: nothing to clear */
    return syscall(SYS_capset, &header, data) == 0 ? 0 : errno;
}

/* The box's output budget (docs/runtime-protocol.md, "Logs"): at most FORWARD_BYTES of
 * the two streams together per FORWARD_WINDOW_NS go to the host; past it every read is dropped here
 * (still read: a writer never blocks on a full pipe, so a call whose C library writes to fd 1 never
 * stalls) and counted, {t: "dropped", n} telling the host how much. The host bounds what it logs
 * (16 KiB per 10 s, poolmgr/host/function-output.ts); before this it still received, decoded and
 * counted a flood on its event loop (red team of 2026-12-05: another function's p50 1.0 -> 3.8 ms).
 * The last TAIL_BYTES of dropped stderr go out at the end: a crash's traceback after a flood. */
#define FORWARD_BYTES (64 * 1024)
#define FORWARD_WINDOW_NS 10000000000LL
#define TAIL_BYTES 4096
static long long window_start = -FORWARD_WINDOW_NS;
static size_t forwarded;
static uint32_t dropped;
static unsigned char tail[TAIL_BYTES];
static size_t tail_len;

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void send_dropped(void) {
    size_t n = 4;
    if (dropped == 0) return;
    frame[n++] = 0x82;
    n += put_str(frame + n, "t"); n += put_str(frame + n, "dropped");
    n += put_str(frame + n, "n"); n += put_uint(frame + n, dropped);
    send_frame(n);
    dropped = 0;
}

/* Dropped stderr: its last TAIL_BYTES kept for the end. */
static void keep_tail(const unsigned char *data, size_t len) {
    if (len >= TAIL_BYTES) {
        memcpy(tail, data + len - TAIL_BYTES, TAIL_BYTES);
        tail_len = TAIL_BYTES;
        return;
    }
    if (tail_len + len > TAIL_BYTES) {
        size_t keep = TAIL_BYTES - len;
        memmove(tail, tail + tail_len - keep, keep);
        tail_len = keep;
    }
    memcpy(tail + tail_len, data, len);
    tail_len += len;
}

/* One read of `fd` forwarded as stream `stream` (or dropped past the budget); 0 once it is done
 * (EOF, or nothing now when draining). */
static int forward(int fd, int stream) {
    ssize_t n;
    long long now;
    do n = read(fd, frame + OUT_DATA, CHUNK); while (n < 0 && errno == EINTR);
    if (n <= 0) return 0;
    now = now_ns();
    if (now - window_start >= FORWARD_WINDOW_NS) {
        window_start = now;
        forwarded = 0;
        send_dropped(); /* at most 22 bytes of frame: the data read at OUT_DATA stays as it is */
    }
    if (forwarded + (size_t)n > FORWARD_BYTES) {
        size_t room = FORWARD_BYTES - forwarded;
        if (room > 0) {
            send_out(stream, room);
            forwarded = FORWARD_BYTES;
            memmove(frame + OUT_DATA, frame + OUT_DATA + room, (size_t)n - room);
            n -= (ssize_t)room;
        }
        if (stream == 2) keep_tail(frame + OUT_DATA, (size_t)n);
        dropped = dropped > UINT32_MAX - (uint32_t)n ? UINT32_MAX : dropped + (uint32_t)n;
        return 1;
    }
    forwarded += (size_t)n;
    send_out(stream, (size_t)n);
    return 1;
}

/* At the end: the count of what was dropped, then the dropped stderr's tail. */
static void flush_dropped(void) {
    if (tail_len > 0) dropped -= (uint32_t)tail_len < dropped ? (uint32_t)tail_len : dropped;
    send_dropped();
    if (tail_len > 0) {
        memcpy(frame + OUT_DATA, tail, tail_len);
        send_out(2, tail_len);
    }
}

int main(int argc, char **argv) {
    int runtime, out_r, err_r, null_fd, joined_w, procs[MAX_PROCS], nprocs, keep[5 + MAX_PROCS];
    int pidfd, sigfd, err, status = 0, streams[2];
    sigset_t chld;
    struct sigaction act;

    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* exec made it dumpable again: first of all */
    if (argc < 7 || argc - 7 > MAX_PROCS) {
        static const char msg[] = "usage: fp-init RUNTIME_PID REPORT_FD OUT_FD ERR_FD NULL_FD JOINED_FD [PROCS_FD...]\n";
        (void)!write(2, msg, sizeof msg - 1);
        return 2;
    }
    runtime = number(argv[1], 1 << 30);
    report = number(argv[2], 1 << 20);
    out_r = number(argv[3], 1 << 20);
    err_r = number(argv[4], 1 << 20);
    null_fd = number(argv[5], 1 << 20);
    joined_w = number(argv[6], 1 << 20);
    nprocs = argc - 7;
    for (int i = 0; i < nprocs; i++) procs[i] = number(argv[7 + i], 1 << 20);
    keep[0] = report; keep[1] = out_r; keep[2] = err_r; keep[3] = null_fd; keep[4] = joined_w;
    memcpy(keep + 5, procs, sizeof *procs * (size_t)nprocs);
    close_others(keep, 5 + nprocs);

    memset(&act, 0, sizeof act);
    act.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &act, NULL);
    act.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &act, NULL); /* never SIG_IGN (the zygote's): the runtime's status must not be reaped away */
    act.sa_handler = end_now;
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_SETMASK, &chld, NULL); /* SIGCHLD only through the signalfd */
    sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);

    pidfd = (int)syscall(SYS_pidfd_open, runtime, 0);
    err = join(procs, nprocs, runtime);
    if (err == 0) err = lose_capabilities();
    if (err == 0 && (pidfd < 0 || sigfd < 0)) err = errno ? errno : EINVAL;
    if (err == 0 && write(joined_w, "1", 1) != 1) err = errno ? errno : EIO;
    if (err != 0) {
        char text[256];
        snprintf(text, sizeof text, "the box's init could not join its cgroups: [Errno %d] %s\n", err, strerror(err));
        send_text(2, text);
        kill(runtime, SIGKILL);
        lose_capabilities();
    }
    close(joined_w);

    /* Init holds no write end of the box's output: EOF once the box is gone. */
    dup2(null_fd, 1);
    dup2(null_fd, 2);
    close(null_fd);
    streams[0] = out_r;
    streams[1] = err_r;
    for (;;) {
        /* The host's end of the report channel closing means the platform died (even by SIGKILL:
         * the kernel closes its sockets): the box goes with it, not with the zygote, which may be
         * restarted while its boxes serve on. Before, a handler busy in a loop ran on past its
         * timeout with nobody to stop it (reliability probe 2026-12-04). */
        struct pollfd fds[5] = {
            { pidfd, POLLIN, 0 }, { sigfd, POLLIN, 0 }, { streams[0], POLLIN, 0 }, { streams[1], POLLIN, 0 },
            { report, POLLIN, 0 },
        };
        int got = 0;
        if (poll(fds, 5, -1) < 0) {
            if (errno == EINTR) continue;
            waitpid(runtime, &status, 0); /* cannot happen with these descriptors: wait for the runtime alone */
            break;
        }
        for (int i = 0; i < 2; i++)
            if (fds[2 + i].revents && !forward(streams[i], i + 1)) streams[i] = -1;
        if (fds[4].revents) {
            char drop[256];
            ssize_t n = read(report, drop, sizeof drop); /* the host sends nothing: data is dropped */
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
                kill(runtime, SIGKILL);
                _exit(1); /* init of the PID namespace: the kernel ends the rest of the box */
            }
        }
        if (fds[1].revents) {
            struct signalfd_siginfo info[8];
            while (read(sigfd, info, sizeof info) > 0) {}
        }
        for (;;) { /* every orphan of the box, and the runtime */
            int st;
            pid_t pid = waitpid(-1, &st, WNOHANG);
            if (pid <= 0) break;
            if (pid == runtime) { status = st; got = 1; }
        }
        if (got) break;
        if (fds[0].revents && pidfd >= 0) { /* gone but not yet waitable: wait for it alone */
            if (waitpid(runtime, &status, 0) == runtime) break;
        }
        if (pidfd < 0 && sigfd < 0) { /* nothing tells us the runtime ended: wait for it */
            if (waitpid(runtime, &status, 0) == runtime) break;
        }
    }
    /* What output is left, without waiting: an escaped child may hold a pipe. */
    for (int i = 0; i < 2; i++) {
        if (streams[i] < 0) continue;
        fcntl(streams[i], F_SETFL, fcntl(streams[i], F_GETFL) | O_NONBLOCK);
        while (forward(streams[i], i + 1)) {}
    }
    flush_dropped();
    send_exit(status);
    _exit(0);
}
