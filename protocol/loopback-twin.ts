/**
 * The IPv6 twin of a loopback listener (red team round 34). The platform listens on 127.0.0.1 by
 * default and prints `*.localhost` URLs (the console at `console.localhost:<port>`, each function
 * at `<name>.localhost:<port>`), but browsers resolve `localhost` and its subdomains to ::1 first
 * (Chromium whatever /etc/hosts says): another local user listening on [::1]:<port> got the
 * browser's requests, and served a page posing as the console, where the operator signs in with
 * the admin token. The gateway holds [::1] on the same port too; one taken by another process
 * refuses the start (LISTEN_FAILED), and a machine without IPv6 loopback has no such address.
 */
import { createServer } from 'node:net';

/**
 * The address to hold beside `host`: ::1 beside 127.0.0.1 and beside 0.0.0.0 (every IPv4 address,
 * no IPv6 one); else null (`localhost` may itself be bound to ::1, where the twin would find the
 * platform's own socket; `::` holds ::1 already).
 */
export function loopbackTwin(host: string): string | null {
  return host === '127.0.0.1' || host === '0.0.0.0' ? '::1' : null;
}

/** Whether another socket listens on `host`:`port` (false where the address does not exist). */
export async function addressInUse(host: string, port: number): Promise<boolean> {
  return (await addressState(host, port)) === 'taken';
}

/** `host`:`port` as a listener sees it: another socket holds it, it is free, or the address does not exist here (IPv6 off). */
export type AddressState = 'taken' | 'free' | 'absent';

export function addressState(host: string, port: number): Promise<AddressState> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE' ? 'taken' : 'absent'));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve('free')));
  });
}

/** Attempts to hold the twin after a first failed one: a socket held and let go between them is no free twin. */
export const TWIN_ATTEMPTS = 3;

/**
 * Holds the twin: `hold()` listens there and says whether it did; when it did not, `state()` tells
 * why. `absent`: no such address (IPv6 off), nothing to hold. `taken`: another process listens
 * there. A twin that was taken at the listen and free at the probe is tried again: another local
 * user who holds [::1]:<port> and lets it go in a loop got a platform started without its twin
 * (the probe said free), and took [::1] back (red team round 35); still not held after
 * TWIN_ATTEMPTS, it counts as taken.
 */
export async function holdTwin(hold: () => boolean, state: () => Promise<AddressState>): Promise<'held' | 'absent' | 'taken'> {
  if (hold()) return 'held';
  for (let i = 1; i < TWIN_ATTEMPTS; i++) {
    const now = await state();
    if (now !== 'free') return now;
    if (hold()) return 'held';
  }
  return 'taken';
}
