/**
 * An HTTP server on loopback that a function's app reports to (`GET <url>?what`), for tests that
 * watch what an app does after its client left (a handler seeing the disconnect, a generator's
 * `finally`): the reports in order, and a promise of the next one.
 */
import http from 'node:http';
import type net from 'node:net';

export interface Reporter {
  url: string;
  reports: string[];
  /** Resolves at the next report (call it before what causes the report). */
  next: () => Promise<void>;
  close: () => Promise<void>;
}

export async function reporter(): Promise<Reporter> {
  const reports: string[] = [];
  let notify: () => void = () => {};
  const server = http.createServer((req, res) => {
    reports.push(new URL(req.url ?? '/', 'http://x').search.slice(1));
    res.end('ok');
    notify();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/r`,
    reports,
    next: () => new Promise((resolve) => { notify = resolve; }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
