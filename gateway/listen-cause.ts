/**
 * Why the gateway could not listen (new-user round 13). uWebSockets.js reports a failed listen
 * with no errno, so the start said "(in use or not permitted)" for a port another process holds,
 * an address that is not this machine's and a privileged port alike. The same listen through
 * Node's `net` (exclusive, closed at once) names the cause; it runs only after uWS failed.
 */
import { createServer } from 'node:net';

/** What the failed listen on `host:port` ran into, as the start's message says it, with what to do. */
export async function listenCause(host: string, port: number): Promise<string> {
  const code = await new Promise<string | null>((done) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'unknown'));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => done(null)));
  });
  switch (code) {
    case 'EADDRINUSE':
      return `another process listens on port ${port} (\`ss -ltnp 'sport = :${port}'\` names it; a platform started earlier, or a second unit on the same port?): stop it, or pick another port`;
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine (\`ip -brief address\` lists them): fix the host, or use 127.0.0.1 behind a reverse proxy on this machine`;
    case 'EACCES':
      return `a port below 1024 needs root or CAP_NET_BIND_SERVICE: pick a port above it (a reverse proxy can serve 80 and 443)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host name ${host} does not resolve: give an address (127.0.0.1, 0.0.0.0) or a name this machine resolves`;
    default:
      return `in use or not permitted${code === null ? '' : ` (${code})`}`;
  }
}
