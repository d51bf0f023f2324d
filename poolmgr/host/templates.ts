/**
 * The local process host's side of function templates (docs/adr/0030-function-templates.md): the
 * socket a template's forked children connect to, the channel handed to the pool before the child
 * connects, and finding a child's host pid from the pid it reports inside its box.
 *
 * Each template gets a fresh 0700 directory under the host's template root (itself 0700, bound
 * hidden into every box at /.fp/tpl and unmounted at specialize), owned by the function's uid in
 * root mode, with a listening socket `s` in it; specialize binds that one directory read-only at
 * /run/fp-tpl in the template's box only. A connection counts only once its first frame is a
 * `hello` carrying the nonce of a fork the host asked for; anything else is closed.
 */
import { chmodSync, chownSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { FrameDecoder } from '../../protocol/index.js';
import { makeOwnedDir } from './owned-dirs.js';
import { childrenOf, nsPids } from './box-procs.js';

/** How long a forked child has to connect and say hello before the fork counts as failed (the pool falls back). */
export const FORK_HELLO_TIMEOUT_MS = 2000;
/** The most bytes a connection may send before its hello decodes. */
const HELLO_MAX_BYTES = 4096;
/**
 * Connections without a hello a template's socket holds besides one per fork it expects; any more
 * are closed as they come. The socket is in reach of the function's own code (the template and
 * its forks, /run/fp-tpl): each connection is a descriptor of the platform's for up to
 * FORK_HELLO_TIMEOUT_MS, and two forked instances holding 1020 each took the platform from 51 to
 * 2096 open files, with more processes its whole RLIMIT_NOFILE (red team round 20, red23).
 */
export const SPARE_HELLOS = 8;

/**
 * A fresh 0700 template root for one host: `<tmp>/fp-tpl-<pid>-<n>-<pid namespace>`; those of
 * processes that no longer exist (a platform that was killed) are removed first (owned-dirs.ts).
 */
export function makeTemplateRoot(): string {
  return makeOwnedDir('fp-tpl');
}

export interface ForkHello {
  t: 'hello';
  pid: number;
  nonce: string;
  /** Never said by a template's child (ADR 0127): one that says it is refused. */
  early?: unknown;
}

/** One template's listening socket and the forks it waits for. */
export class TemplateSocket {
  /** The directory relative to the template root (the box's `templateDir`). */
  readonly rel: string;
  private readonly dir: string;
  private readonly server: Server;
  private readonly expected = new Map<string, (sock: Socket, first: Buffer, hello: ForkHello) => void>();
  /** Connections that have not said hello (yet): at most `expected.size + SPARE_HELLOS`. */
  private waiting = 0;

  /**
   * `uid`: the function's (root mode), given the directory. `traversable`: user-namespace mode
   * under a subordinate uid, which the platform cannot chown to: the directory is 0711 instead,
   * so that uid can reach the socket through the template box's bind. No one else can: the
   * template root above it is the platform's, 0700, and no other box has this directory bound
   * (ADR 0147; before, such platforms had no templates).
   */
  constructor(root: string, name: string, uid: number | null, traversable = false) {
    this.rel = name;
    this.dir = join(root, name);
    mkdirSync(this.dir, { mode: 0o700 });
    if (uid !== null) chownSync(this.dir, uid, uid);
    else if (traversable) chmodSync(this.dir, 0o711);
    this.server = createServer((sock) => this.onConnection(sock));
    this.server.on('error', () => {}); // a failed listen: forks get no hello and fall back
    this.server.listen(join(this.dir, 's'));
    // Only the function's uid can reach it (the directory); the socket itself needs write access to connect.
    try {
      chmodSync(join(this.dir, 's'), 0o666);
    } catch {
      // not bound (yet): forks time out and fall back
    }
  }

  /** Hands the connection whose hello carries `nonce` to `adopt` (once). */
  expect(nonce: string, adopt: (sock: Socket, first: Buffer, hello: ForkHello) => void): void {
    this.expected.set(nonce, adopt);
  }

  forget(nonce: string): void {
    this.expected.delete(nonce);
  }

  close(): void {
    this.expected.clear();
    this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private onConnection(sock: Socket): void {
    sock.on('error', () => {});
    if (this.waiting >= this.expected.size + SPARE_HELLOS) {
      sock.destroy();
      return;
    }
    this.waiting++;
    let counted = true;
    const settled = (): void => {
      if (counted) this.waiting--;
      counted = false;
    };
    sock.once('close', settled);
    const decoder = new FrameDecoder();
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => sock.destroy(), FORK_HELLO_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      let messages: unknown[];
      try {
        messages = decoder.push(chunk);
      } catch {
        messages = [];
        size = Infinity;
      }
      if (messages.length === 0) {
        if (size > HELLO_MAX_BYTES) sock.destroy();
        return;
      }
      clearTimeout(timer);
      sock.off('data', onData);
      sock.pause();
      settled();
      const hello = messages[0] as Partial<ForkHello> | null;
      const adopt = typeof hello?.nonce === 'string' && hello.t === 'hello' && Number.isInteger(hello.pid) ? this.expected.get(hello.nonce) : undefined;
      if (adopt === undefined) {
        sock.destroy();
        return;
      }
      this.expected.delete(hello!.nonce!);
      adopt(sock, Buffer.concat(chunks), hello as ForkHello);
    };
    sock.on('data', onData);
  }
}

/**
 * The channel of a forked child, handed to the pool at spawn (RuntimeHost.connect) and joined to
 * the child's connection once it said hello; its first bytes are that hello. Closed if it never does.
 */
export class LateChannel extends Duplex {
  private sock: Socket | null = null;

  attach(sock: Socket, first: Buffer): void {
    this.sock = sock;
    this.push(first);
    sock.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) sock.pause();
    });
    sock.on('end', () => this.push(null));
    sock.on('close', () => this.destroy());
    sock.resume();
  }

  override _read(): void {
    this.sock?.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // Nothing is written before hello (the pool waits for it); after a close writes are dropped.
    if (this.sock === null || this.sock.destroyed) callback();
    else this.sock.write(chunk, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.sock?.destroy();
    callback(error);
  }
}

/**
 * The host pid of the descendant of `rootPid` whose pid in its innermost PID namespace is `nsPid`
 * (what a forked child reports from inside its box), with the host pid of its parent, the template
 * (host-pids.ts `startedAsChildOf` binds its start time to that parent), or null. Only a direct
 * child of the box's runtime (pid 2 of the box, the template) counts: a box can never name a
 * process outside it, nor its init, nor a grandchild.
 */
export function findForkedChild(rootPid: number, nsPid: number): { pid: number; template: number } | null {
  const queue = [rootPid];
  for (let depth = 0; depth < 6 && queue.length > 0; depth++) {
    const level = queue.splice(0);
    for (const pid of level) {
      const parent = nsPids(pid);
      const ofTemplate = parent.length >= 2 && parent[parent.length - 1] === 2;
      for (const child of childrenOf(pid)) {
        const ns = nsPids(child);
        if (ofTemplate && ns.length >= 2 && ns[ns.length - 1] === nsPid) return { pid: child, template: pid };
        queue.push(child);
      }
    }
  }
  return null;
}
