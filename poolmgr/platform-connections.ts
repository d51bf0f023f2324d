/**
 * The platform's own descriptors (docs/security.md, the limits table; red team round 50): a box
 * shares the host's network, so its processes may connect to the gateway over loopback, each
 * connection one of the platform's descriptors, up to RLIMIT_NOFILE (1024) per process and 256
 * processes per box: one function's instance held all 20 000 of the platform's, and every tenant's
 * new connections and cold starts failed for as long as it kept them (a `GET /healthz` every few
 * seconds keeps a connection past the gateway's idle timer). While the platform holds more than half
 * of its open-files limit, the workspace whose boxes hold the most of its connections (at least a
 * tenth of the limit) loses its instance holding the most, with FUNCTION_CONNECTION_LIMIT, one per
 * check, as the host's file table is guarded (poolmgr/file-table.ts, `overFileShare`).
 *
 * A box's connection to the platform is a TCP socket of the box whose peer (the entry of
 * `/proc/net/tcp` or `tcp6` with the two addresses swapped) is a socket of the platform's process:
 * loopback or any address of the host, any port the platform listens on. Read only past half.
 * Unix sockets to the platform (the data proxy, a template's) have bounds of their own. The reads
 * are synchronous, ~1 µs a descriptor, and only past half: at 20 000 descriptors some 40 ms every 2 s.
 *
 * A box may hide its connections from its descriptors (red team round 51): sent over a socketpair of
 * its own (SCM_RIGHTS) and closed, a socket is held by the kernel in flight, in no process's
 * descriptors, and taken back when needed; one function kept 840 of a platform's 1 500 so and was
 * never stopped. Such a socket still tells the uid that made it (`/proc/net/tcp`'s uid column), and
 * in root mode each function has its own (poolmgr/host/uids.ts): the peers no process holds count
 * for an instance of that uid (`connectionsHeld`), which is stopped; the next check counts them for
 * the next instance of that uid, until the one keeping them is gone.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { holdsSpareDescriptor } from './spare-descriptor.js';

/** The platform's open descriptors (the spare one included) and its open-files limit (soft); null without /proc. */
export function platformDescriptors(): { allocated: number; max: number } | null {
  try {
    const max = /\nMax open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'latin1'));
    if (max === null) return null;
    return { allocated: readdirSync('/proc/self/fd').length + (holdsSpareDescriptor() ? 0 : 1), max: Number(max[1]) };
  } catch {
    return null;
  }
}

/** The socket inodes among these processes' descriptors (a process gone meanwhile, or not ours to read: none). */
export function socketInodes(pids: readonly number[]): string[] {
  const inodes: string[] = [];
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link = '';
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        // closed meanwhile
      }
      if (link.startsWith('socket:[')) inodes.push(link.slice(8, -1));
    }
  }
  return inodes;
}

/**
 * An IPv4-mapped address of `/proc/net/tcp6` (`0000000000000000FFFF0000` then the IPv4 address) as
 * `/proc/net/tcp` writes it: a platform listening on `::` takes a box's IPv4 connection on an IPv6
 * socket, whose peer is an IPv4 socket (red team round 51: all of the platform's descriptors held,
 * none counted).
 */
export function v4Mapped(end: string | undefined): string | undefined {
  return end !== undefined && end.length === 37 && end.startsWith('0000000000000000FFFF0000') ? end.slice(24) : end;
}

/** `/proc/net/tcp` and `tcp6` as `local remote` → inode, inode → `remote local` (the peer's key), and inode → the uid that made it. */
function tcpTable(): { byEnds: Map<string, string>; peerOf: Map<string, string>; uidOf: Map<string, number> } {
  const byEnds = new Map<string, string>();
  const peerOf = new Map<string, string>();
  const uidOf = new Map<string, number>();
  for (const name of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(name, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode …
      const f = line.trim().split(/\s+/);
      const [local, remote, uid, inode] = [v4Mapped(f[1]), v4Mapped(f[2]), f[7], f[9]];
      if (local === undefined || remote === undefined || inode === undefined || inode === '0') continue;
      byEnds.set(`${local} ${remote}`, inode);
      peerOf.set(inode, `${remote} ${local}`);
      uidOf.set(inode, Number(uid));
    }
  }
  return { byEnds, peerOf, uidOf };
}

/**
 * The inodes of the host's TCP sockets whose peer is a socket of the platform's process, each with
 * the uid that made it: what a box holding one of them holds of the platform's descriptors.
 */
export function platformPeers(): Map<string, number> {
  const mine = new Set(socketInodes([process.pid]));
  const { byEnds, peerOf, uidOf } = tcpTable();
  const peers = new Map<string, number>();
  for (const inode of mine) {
    const ends = peerOf.get(inode);
    const peer = ends === undefined ? undefined : byEnds.get(ends);
    if (peer !== undefined && !mine.has(peer)) peers.set(peer, uidOf.get(peer) ?? -1);
  }
  return peers;
}

/**
 * How many of `peers` each holder holds: the peers among its sockets, and, for the first holder of
 * each uid (a function's own, root mode; null: none), the peers of that uid no holder holds (in
 * flight over a unix socket, red team round 51).
 */
export function connectionsHeld(peers: ReadonlyMap<string, number>, holders: readonly { inodes: readonly string[]; uid: number | null }[]): number[] {
  const held = new Set<string>();
  const counts = holders.map((h) => {
    let n = 0;
    for (const inode of h.inodes) {
      if (peers.has(inode)) {
        held.add(inode);
        n++;
      }
    }
    return n;
  });
  const unheld = new Map<number, number>();
  for (const [inode, uid] of peers) if (!held.has(inode)) unheld.set(uid, (unheld.get(uid) ?? 0) + 1);
  holders.forEach((h, i) => {
    if (h.uid === null) return;
    const n = unheld.get(h.uid);
    if (n === undefined) return;
    counts[i]! += n;
    unheld.delete(h.uid);
  });
  return counts;
}
