"""Inside the builder's box, whose network namespace has only loopback: a TCP listener on
127.0.0.1 that pip uses as its HTTP proxy, each connection piped to the Unix socket the host
bound into the box. The host's end (controlplane/deps/proxy.ts) decides which hosts a CONNECT
may reach (the configured index hosts), so this side only carries bytes."""
import socket
import threading


# Two threads a connection, each holding its stack in the build's address space (RLIMIT_AS, the
# builder's memory): at Python's 8 MiB the pip that installs an sdist's build requirements, whose
# connections came on top of the first pip's, found no room for another, the accept loop died
# ("can't start new thread") and every later connection was refused (new-user round 4). A pipe
# needs little stack.
STACK_BYTES = 256 * 1024


def start(unix_path: str) -> int:
    """Starts forwarding in daemon threads; returns the local port for `--proxy`."""
    threading.stack_size(STACK_BYTES)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    threading.Thread(target=_accept, args=(server, unix_path), daemon=True, name="fp-proxy").start()
    return server.getsockname()[1]


def _accept(server, unix_path):
    while True:
        client, _ = server.accept()
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(unix_path)
        except OSError:
            client.close()
            upstream.close()
            continue
        done = [0]
        lock = threading.Lock()
        try:
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(src, dst, done, lock, (client, upstream)), daemon=True).start()
        except RuntimeError:  # no room for a thread: this connection fails, the listener goes on
            for sock in (client, upstream):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _pipe(src, dst, done, lock, both):
    try:
        while True:
            data = src.recv(1 << 16)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    with lock:
        done[0] += 1
        last = done[0] == 2
    if last:  # the second direction finished: nobody uses either socket any more
        for sock in both:
            sock.close()
