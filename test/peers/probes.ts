/**
 * Probes: what FastAPI's tutorial tests cannot see through a TestClient (timing, the connection,
 * proxy headers, error bodies), each a request to one route of probe_app.py, sent to the app
 * deployed on the platform and to the same app under uvicorn (the reference), and compared.
 * Each probe that differs is a finding with that route as its minimal reproduction.
 */
import { request } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { childEnv, freePort, startServer } from '../../bench/servers.js';
import type { PeerCache } from './cache.js';
import { functionName, type PeerApi } from './deploy.js';
import { PEERS_SRC } from './paths.js';

export interface Observed {
  status: number | null;
  headers: Record<string, string>;
  body: string;
  /** From sending the request to the first body byte / to the end, ms. */
  firstByteMs: number | null;
  totalMs: number;
  error?: string;
}

export interface ProbeResult {
  id: string;
  finding: string;
  title: string;
  /** The request, as curl would send it (path below the app's root). */
  request: string;
  platform: string;
  uvicorn: string;
  /** The platform behaves unlike uvicorn in the way the finding says. */
  differs: boolean;
}

interface Req {
  method?: string;
  path: string;
  headers?: Record<string, string>;
}

function send(port: number, prefix: string, req: Req): Promise<Observed> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let firstByteMs: number | null = null;
    const done = (o: Omit<Observed, 'totalMs' | 'firstByteMs'>): void => resolve({ ...o, firstByteMs, totalMs: performance.now() - t0 });
    const r = request({ host: '127.0.0.1', port, method: req.method ?? 'GET', path: prefix + req.path, headers: req.headers ?? {}, agent: false, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        firstByteMs ??= performance.now() - t0;
        chunks.push(c);
      });
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
        done({ status: res.statusCode ?? null, headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => done({ status: res.statusCode ?? null, headers: {}, body: '', error: err.message }));
    });
    r.on('timeout', () => r.destroy(new Error('timed out')));
    r.on('error', (err) => done({ status: null, headers: {}, body: '', error: (err as NodeJS.ErrnoException).code ?? err.message }));
    r.end();
  });
}

interface ProbeSpec {
  id: string;
  finding: string;
  title: string;
  req: Req;
  curl: string;
  /** One line describing what was observed. */
  show: (o: Observed, extra?: Observed) => string;
  /** Does the platform differ from uvicorn in the way the finding says? */
  differs: (platform: Observed, uvicorn: Observed) => boolean;
  /** A second request whose observation `show` also gets (HEAD compares with GET). */
  also?: Req;
}

const ms = (v: number | null): string => (v === null ? '—' : `${v.toFixed(0)} ms`);
const json = (o: Observed): unknown => {
  try {
    return JSON.parse(o.body);
  } catch {
    return o.body;
  }
};
const brief = (o: Observed): string => (o.error ? `no response (${o.error})` : `${o.status} ${o.body.slice(0, 160)}`);

const PROBES: ProbeSpec[] = [
  {
    id: 'stream',
    finding: 'streaming-buffered',
    title: 'StreamingResponse: first chunk, then 500 ms, then the second',
    req: { path: '/stream' },
    curl: 'curl -N …/stream',
    show: (o) => `first body byte after ${ms(o.firstByteMs)}, complete after ${ms(o.totalMs)}`,
    differs: (p, u) => (p.firstByteMs ?? Infinity) >= 400 && (u.firstByteMs ?? Infinity) < 300,
  },
  {
    id: 'background',
    finding: 'background-holds-response',
    title: 'BackgroundTasks: a 500 ms task added to a JSON response',
    req: { path: '/background' },
    curl: 'curl …/background',
    show: (o) => `${o.status} complete after ${ms(o.totalMs)}`,
    differs: (p, u) => p.totalMs >= 400 && u.totalMs < 300,
  },
  {
    id: 'background-fails',
    finding: 'background-holds-response',
    title: 'a BackgroundTask that raises, after a 200 JSON response',
    req: { path: '/background-fails' },
    curl: 'curl …/background-fails',
    show: (o) => `${o.status} ${o.body.slice(0, 100)}`,
    differs: (p, u) => p.status !== u.status,
  },
  {
    id: 'client',
    finding: 'client-address',
    title: 'request.client',
    req: { path: '/client' },
    curl: 'curl …/client',
    show: (o) => `${o.status} ${JSON.stringify((json(o) as { client?: unknown }).client ?? json(o))}`,
    // The address must be the caller's, and the port a port (0 only without the gateway's peer addon, ADR 0093).
    differs: (p, u) => {
      const pc = ((json(p) as { client?: [string, number] }).client ?? ['', 0]);
      const uc = ((json(u) as { client?: [string, number] }).client ?? ['', 0]);
      return pc[0] !== uc[0] || (pc[1] === 0 && uc[1] !== 0);
    },
  },
  {
    id: 'forwarded',
    finding: 'proxy-headers',
    title: 'X-Forwarded-Proto: https, X-Forwarded-For: 203.0.113.7 (a TLS proxy in front)',
    req: { path: '/forwarded', headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' } },
    curl: "curl -H 'X-Forwarded-Proto: https' -H 'X-Forwarded-For: 203.0.113.7' …/forwarded",
    show: (o) => {
      const b = json(o) as { scheme?: string; client?: string };
      return `${o.status} scheme ${b.scheme}, client ${b.client}`;
    },
    differs: (p, u) => (json(p) as { scheme?: string }).scheme !== (json(u) as { scheme?: string }).scheme,
  },
  {
    id: 'underscore-header',
    finding: 'underscore-header',
    title: 'a request header whose name has an underscore (X_Custom: 1)',
    req: { path: '/headers', headers: { X_Custom: '1' } },
    curl: "curl -H 'X_Custom: 1' …/headers",
    show: (o) => (o.error ? `no response, ${o.error} after ${ms(o.totalMs)}` : `${o.status}, x_custom ${((json(o) as { names?: string[] }).names ?? []).includes('x_custom') ? 'seen' : 'not seen'} by the app`),
    differs: (p, u) => brief(p) !== brief(u) && (p.error !== undefined || p.status !== u.status || !((json(p) as { names?: string[] }).names ?? []).includes('x_custom')),
  },
  {
    id: 'head',
    finding: 'head-content-length',
    title: 'HEAD on a GET and HEAD route: Content-Length as for GET, no body',
    req: { method: 'HEAD', path: '/items' },
    also: { path: '/items' },
    curl: 'curl -I …/items',
    show: (o, get) => `${o.status}, content-length ${o.headers['content-length'] ?? 'absent'}${o.headers['transfer-encoding'] ? `, transfer-encoding ${o.headers['transfer-encoding']}` : ''} (GET body ${get ? Buffer.byteLength(get.body) : '?'} bytes)`,
    differs: (p, u) => p.headers['content-length'] !== u.headers['content-length'],
  },
  {
    id: 'error-body',
    finding: 'error-body',
    title: 'an unhandled exception (ValueError("db password is hunter2"))',
    req: { path: '/boom' },
    curl: 'curl …/boom',
    show: (o) => `${o.status} ${o.headers['content-type'] ?? ''} ${o.body.slice(0, 200)}`,
    differs: (p, u) => p.body.includes('hunter2') && !u.body.includes('hunter2'),
  },
];

export async function runProbes(api: PeerApi, cache: PeerCache): Promise<ProbeResult[]> {
  const source = await readFile(join(PEERS_SRC, 'probe_app.py'));
  const name = functionName('probe_app:app');
  await api.expect(201, 'POST', '/functions', { name });
  await api.expect(201, 'POST', `/functions/${name}/versions`, { entrypoint: 'probe_app:app', files: [{ path: 'probe_app.py', contentBase64: source.toString('base64') }] });
  await api.expect(200, 'POST', `/functions/${name}/deploy`, {});
  const platformPort = Number(new URL(api.url).port);
  const prefix = `/fn/${name}`;
  const port = await freePort();
  const uvicorn = await startServer({
    name: 'uvicorn (probes)',
    command: cache.python,
    // uvicorn's defaults: h11, proxy headers trusted from 127.0.0.1.
    args: ['-m', 'uvicorn', 'probe_app:app', '--app-dir', PEERS_SRC, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warning'],
    env: childEnv(),
    port,
    readyPath: '/items',
  });
  const out: ProbeResult[] = [];
  try {
    await send(platformPort, prefix, { path: '/items' }); // the cold start is not what is measured
    for (const p of PROBES) {
      const onPlatform = await send(platformPort, prefix, p.req);
      const onUvicorn = await send(port, '', p.req);
      const pAlso = p.also ? await send(platformPort, prefix, p.also) : undefined;
      const uAlso = p.also ? await send(port, '', p.also) : undefined;
      out.push({
        id: p.id,
        finding: p.finding,
        title: p.title,
        request: p.curl,
        platform: p.show(onPlatform, pAlso),
        uvicorn: p.show(onUvicorn, uAlso),
        differs: p.differs(onPlatform, onUvicorn),
      });
    }
  } finally {
    await uvicorn.stop();
  }
  return out;
}
