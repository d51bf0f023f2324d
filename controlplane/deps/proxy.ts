/**
 * The dependency builder's only way out (docs/dependencies.md, "The build"; docs/security.md, "The dependency builder"): its box has
 * a network namespace of its own with nothing but loopback, and pip's proxy there
 * (runtime/fp_deps/forward.py) pipes each connection to this HTTP proxy on a Unix socket bound
 * into the box. It lets through CONNECT tunnels (https) and plain requests (http) to the hosts of
 * the configured package indexes only, and refuses everything else with 403, noting it in the
 * build log. TLS stays end to end (pip verifies the index's certificate).
 */
import { chmod } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';

/** `host:port` pairs the builder may reach: each index URL's host, plus files.pythonhosted.org for PyPI. */
export function allowedTargets(urls: readonly string[], extraHosts: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const text of urls) {
    const url = new URL(text);
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    out.add(`${url.hostname.toLowerCase()}:${port}`);
    // PyPI's simple index links its files on another host.
    if (url.hostname === 'pypi.org') out.add('files.pythonhosted.org:443');
  }
  for (const host of extraHosts) out.add(host.includes(':') ? host.toLowerCase() : `${host.toLowerCase()}:443`);
  return out;
}

/**
 * Connections the builder may hold open through the proxy at once: each is one of the platform's
 * descriptors, and a CONNECT's tunnel one more. pip uses a few; a build script (sdists allowed)
 * held 5 000 from five processes (it may start 1024, each with 1024 descriptors), so twenty filled
 * this host's 20 000 and every tenant's calls failed (red team round 46). More are closed as they open.
 */
export const EGRESS_MAX_CONNECTIONS = 64;

export interface EgressProxy {
  close(): Promise<void>;
}

/** Listens on `socketPath` (mode 0666: the builder's uid connects); `note` gets one line per refusal. */
export async function startEgressProxy(socketPath: string, allowed: ReadonlySet<string>, note: (line: string) => void): Promise<EgressProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end();
      return;
    }
    const target = `${url.hostname.toLowerCase()}:${url.port || '80'}`;
    if (url.protocol !== 'http:' || !allowed.has(target)) {
      note(`proxy: refused ${req.method ?? 'GET'} ${url.protocol}//${target} (not a package index host)`);
      res.writeHead(403).end('not a package index host\n');
      return;
    }
    const upstream = request({ host: url.hostname, port: Number(url.port || 80), method: req.method, path: `${url.pathname}${url.search}`, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (err) => {
      note(`proxy: ${target}: ${err.message}`);
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    const target = (req.url ?? '').toLowerCase();
    const at = target.lastIndexOf(':');
    if (at <= 0 || !allowed.has(target)) {
      note(`proxy: refused CONNECT ${target} (not a package index host)`);
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(Number(target.slice(at + 1)), target.slice(0, at).replace(/^\[|\]$/g, ''), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', (err) => {
      note(`proxy: ${target}: ${err.message}`);
      if (client.writable) client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    });
    client.on('close', () => upstream.destroy());
  });
  server.maxConnections = EGRESS_MAX_CONNECTIONS;
  let dropped = false;
  server.on('drop', () => {
    if (!dropped) note(`proxy: refused connections past ${EGRESS_MAX_CONNECTIONS} open at once`);
    dropped = true;
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o666);
  return {
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
