/**
 * The web console's files (docs/console.md), served by the gateway under `/console/` from memory:
 * listed at start from the built folder (dist/console), each read on its first request and kept,
 * with its content type, an ETag, and the gzip copy the build wrote. Hashed asset names (`assets/main-3F2A….js`) never change content,
 * so they are cached for a year (`immutable`); `index.html` is revalidated on every load.
 *
 * Every answer carries the console's security headers: a Content-Security-Policy with no inline
 * script or style and no other origin (`'self'` only; the API is same-origin), framing refused
 * (`frame-ancestors 'none'` and X-Frame-Options DENY), no MIME sniffing, no referrer. The console
 * renders function output (logs, bodies, errors) as text only; the policy is the second line.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Pairs } from '../protocol/index.js';

/** Where the console is mounted. */
export const CONSOLE_PREFIX = '/console';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Pairs = [
  ['content-security-policy', CONSOLE_CSP],
  ['x-frame-options', 'DENY'],
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'no-referrer'],
  ['cross-origin-opener-policy', 'same-origin'],
  ['cross-origin-resource-policy', 'same-origin'],
];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.map', '.json', '.svg', '.txt']);

interface StaticFile {
  path: string;
  type: string;
  cacheControl: string;
  /** Read on first request, then kept. */
  loaded?: Promise<{ body: Buffer; gzip: Buffer | null; etag: string }>;
}

export interface StaticSite {
  /** Files by their path under the prefix (`/index.html`, `/assets/main-….js`). */
  readonly files: ReadonlyMap<string, StaticFile>;
}

/**
 * Lists the built console in `dir` (null when it was never built). Contents are read on first
 * request (a platform that nobody opens the console of reads nothing), with the `.gz` copy the
 * build wrote beside each compressible file.
 */
export async function loadStaticSite(dir: string): Promise<StaticSite | null> {
  try {
    if (!(await stat(join(dir, 'index.html'))).isFile()) return null;
  } catch {
    return null;
  }
  const files = new Map<string, StaticFile>();
  for (const path of await walk(dir)) {
    if (path.endsWith('.gz')) continue;
    const rel = `/${relative(dir, path).split(sep).join('/')}`;
    files.set(rel, {
      path,
      type: TYPES[extname(path)] ?? 'application/octet-stream',
      cacheControl: rel.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  }
  return { files };
}

function load(file: StaticFile): Promise<{ body: Buffer; gzip: Buffer | null; etag: string }> {
  file.loaded ??= (async () => {
    const body = await readFile(file.path);
    let gzip: Buffer | null = null;
    if (COMPRESSIBLE.has(extname(file.path)) && body.length > 512) gzip = await readFile(`${file.path}.gz`).catch(() => gzipSync(body));
    return { body, gzip, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
  })();
  return file.loaded;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else if (entry.isFile() && !entry.name.startsWith('.')) out.push(path);
  }
  return out.sort();
}

export interface StaticAnswer {
  status: number;
  headers: Pairs;
  body?: Uint8Array | string;
}

/**
 * The answer for `GET`/`HEAD` of `url` (the raw path, starting with CONSOLE_PREFIX). `/console`
 * redirects to `/console/`; `/console/` is `index.html`; the single-page app routes in the
 * fragment (`#/functions/…`), so no other path falls back to it.
 */
export async function serveStatic(site: StaticSite | null, method: string, url: string, headers: Pairs): Promise<StaticAnswer> {
  if (url === CONSOLE_PREFIX) return { status: 308, headers: [['location', `${CONSOLE_PREFIX}/`], ...SECURITY_HEADERS] };
  if (method !== 'GET' && method !== 'HEAD') return text(405, 'the console takes GET and HEAD', [['allow', 'GET, HEAD']]);
  if (site === null) return text(503, 'the console is not built: run `bash scripts/setup.sh` (or `node dist/scripts/build-console.js`) and restart');
  const sub = url.slice(CONSOLE_PREFIX.length);
  const file = site.files.get(sub === '/' ? '/index.html' : sub);
  if (file === undefined) return text(404, 'no such console file');
  let content: { body: Buffer; gzip: Buffer | null; etag: string };
  try {
    content = await load(file);
  } catch {
    file.loaded = undefined;
    return text(503, 'the console file could not be read; rebuild it with `node dist/scripts/build-console.js`');
  }
  const common: Pairs = [['content-type', file.type], ['cache-control', file.cacheControl], ['etag', content.etag], ['vary', 'accept-encoding'], ...SECURITY_HEADERS];
  if (header(headers, 'if-none-match') === content.etag) return { status: 304, headers: common };
  const gzip = content.gzip !== null && /\bgzip\b/.test(header(headers, 'accept-encoding') ?? '');
  const out: StaticAnswer = { status: 200, headers: gzip ? [...common, ['content-encoding', 'gzip']] : common };
  if (method === 'GET') out.body = gzip ? content.gzip! : content.body;
  return out;
}

function text(status: number, message: string, extra: Pairs = []): StaticAnswer {
  return { status, headers: [['content-type', 'text/plain; charset=utf-8'], ['cache-control', 'no-store'], ...extra, ...SECURITY_HEADERS], body: `${message}\n` };
}

function header(headers: Pairs, name: string): string | undefined {
  for (const [key, value] of headers) if (key === name) return value;
  return undefined;
}
