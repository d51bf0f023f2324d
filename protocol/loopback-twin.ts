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
export function addressInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE'));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(false)));
  });
}
