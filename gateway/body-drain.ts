/**
 * The bounds of a refused request body's drain (uws-adapter rule 11, ADR 0059).
 *
 * A body refused before it was read whole (413 over the limit, 503 past the body budget, 408 too
 * slow, an early 404) used to close the connection with the answer: the kernel then resets a
 * connection closed with bytes unread, and a client that writes its whole body before reading
 * (Python's `http.client`, `urllib`, `requests`) got a broken pipe or a reset instead of the
 * answer. Now the answer goes out at once with `Connection: close` and the rest of the body is
 * read and dropped (never buffered, not counted in the body budget) until it ends, then the
 * answer's last byte ends the response; past these bounds the connection is closed as before.
 */

const MIB = 1024 * 1024;

/** A drain reads at most this many times the request's body limit (96 MiB for the default 6 MiB)... */
export const DRAIN_LIMIT_FACTOR = 16;
/** ...and never more than this, whatever the limit (code uploads have a larger one). */
export const DRAIN_MAX_BYTES = 256 * MIB;
/** ...for at most this long from the answer. */
export const DRAIN_MAX_MS = 5_000;
/**
 * A client that sent nothing for this long is waiting for the answer (curl stops sending once it
 * has read an error's head): the answer ends then, without waiting for the rest of the body.
 */
export const DRAIN_IDLE_MS = 250;
/**
 * uWS's keep-alive timeout (HTTP_IDLE_TIMEOUT_S), measured: once the answer's last byte went out
 * before the body ended (the client paused for DRAIN_IDLE_MS), uWS reads what the client still
 * sends for this long at most (data does not extend it), and JavaScript can no longer close the
 * connection. The drain's slot stays taken for that time, so such tails count in MAX_DRAINING.
 */
export const UWS_KEEP_ALIVE_MS = 10_000;
/** Connections draining at once, the whole gateway; past it a refusal closes at once, as before. */
export const MAX_DRAINING = 64;

/** The bytes a drain may read after refusing a body whose limit is `maxBodyBytes`. */
export function drainBytesFor(maxBodyBytes: number): number {
  return Math.min(DRAIN_MAX_BYTES, DRAIN_LIMIT_FACTOR * Math.max(maxBodyBytes, MIB));
}

/** The gateway's count of draining connections (MAX_DRAINING). */
export class DrainSlots {
  active = 0;
  /** Drains started, and refusals that closed at once because every slot was taken. */
  started = 0;
  refused = 0;

  constructor(readonly max: number = MAX_DRAINING) {}

  take(): boolean {
    if (this.active >= this.max) {
      this.refused++;
      return false;
    }
    this.active++;
    this.started++;
    return true;
  }

  give(): void {
    if (this.active > 0) this.active--;
  }
}

/** Marked connections kept at most (the oldest forgotten first: its pipelined request is then served, as before). */
export const MAX_CLOSED_PEERS = 4096;

/**
 * Connections whose drained answer said `Connection: close` (rule 11). That answer ends with
 * `tryEnd`, which leaves the connection open in uWS, so a request pipelined behind the refused body
 * was parsed and run, and answered after the close the client had been told of (differential round
 * 3: a 413, then a 200 from the function). A connection is known by its peer's address and port
 * (ADR 0093; none without the peer addon) and, where the addon gives it, the kernel's cookie of its
 * socket: the address and port alone are another connection's once this one closed (a client, or a
 * proxy that every client shares, connecting again from the same port), whose request was closed
 * unanswered (red team round 35). A request on a connection marked here within uWS's keep-alive
 * timeout is closed unanswered, as the answer said. Marks expire in the order they were made.
 */
export class ClosedPeers {
  private readonly until = new Map<string, { t: number; cookie: number }>();

  get size(): number {
    return this.until.size;
  }

  /** `cookie`: the connection's SO_COOKIE (peer-port.ts `peerCookie`), 0 when unknown. */
  mark(peer: string, port: number, cookie = 0, now = performance.now()): void {
    for (const [key, mark] of this.until) {
      if (mark.t > now && this.until.size < MAX_CLOSED_PEERS) break;
      this.until.delete(key);
    }
    const key = `${peer}|${port}`;
    this.until.delete(key); // to the end of the order
    this.until.set(key, { t: now + UWS_KEEP_ALIVE_MS, cookie });
  }

  /**
   * True for a request on a marked connection, which is forgotten then (it closes). `cookieNow`
   * gives the request's connection's cookie, asked only when its address and port are marked: a
   * known cookie that differs from the mark's is another connection, served.
   */
  take(peer: string, port: number, cookieNow: () => number = () => 0, now = performance.now()): boolean {
    const key = `${peer}|${port}`;
    const mark = this.until.get(key);
    if (mark === undefined) return false;
    this.until.delete(key);
    if (mark.t <= now) return false;
    if (mark.cookie === 0) return true;
    const cookie = cookieNow();
    return cookie === 0 || cookie === mark.cookie;
  }
}
