/**
 * examples/bookshelf, a FastAPI app written as for uvicorn, deployed as a user deploys it: `login`,
 * `validate`, `deploy` from its folder (its requirements.txt, python-multipart and jinja2, built by
 * the platform from PyPI), `env set --secret`; then each feature over HTTP, under `/fn/<name>/` and
 * at the root of its own host: routers and prefixes, OAuth2 password bearer and HTTP Basic, pydantic
 * validators, a yield dependency, a multipart upload, a background task, Server-Sent Events, CORS,
 * GZip and a timing middleware, an exception handler, lifespan state from env and secrets, SQLite
 * in /tmp, the data binding through FP_MONGO_URI, Jinja2 and StaticFiles with url_for, redirects,
 * OpenAPI and /docs, and the WebSocket route.
 *
 * Needs FerretDB (the data binding) and PyPI (the two packages): skipped without either.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, spawnCli } from '../helpers/cli-harness.js';
import { pypiReachable } from '../helpers/pypi.js';
import { serverSkip } from '../helpers/servers.js';
import { request, type RawResponse } from './gateway-harness.js';
import { usePlatform } from './platform-harness.js';
import { RawWebSocket } from '../helpers/ws-client.js';

const skip = serverSkip('ferretdb') || ((await pypiReachable('jinja2')) ? false : 'PyPI is not reachable (the example installs jinja2 and python-multipart)');

describe('examples/bookshelf deployed with the CLI', { skip, timeout: 180_000 }, () => {
  const h = usePlatform({ poolSize: 1 });
  let work = '';
  let env: Record<string, string> = {};
  let token = '';

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'fp-bookshelf-'));
    cpSync(join(ROOT, 'examples', 'bookshelf'), join(work, 'bookshelf'), { recursive: true });
    env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work };
    const cli = async (args: string[], timeoutMs = 30_000): Promise<string> => {
      const r = await spawnCli(args, { cwd: join(work, 'bookshelf'), env, timeoutMs });
      assert.equal(r.code, 0, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
      return r.stdout;
    };
    await cli(['login', h.url, '--token', h.api.token!]);
    assert.match(await cli(['validate']), /dependencies: 2 declared in requirements\.txt/);
    const deployed = await cli(['deploy'], 150_000);
    assert.match(deployed, /Dependencies: 3 installed .*jinja2==3\.1\.6.*python-multipart==0\.0\.20/);
    assert.match(deployed, /Version 1 deployed\./);
    // The page that lists its routes (new-user round 11: the banner's curl of / answers a FastAPI app's 404).
    assert.ok(deployed.includes(`\nDocs:  ${h.url}/fn/bookshelf/docs  (the app's OpenAPI docs`), deployed);
    await cli(['env', 'set', 'bookshelf', 'SIGNING_KEY=s3cret', '--secret']);
    await cli(['env', 'set', 'bookshelf', 'ADMIN_PASSWORD=hunter2', '--secret']);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  const port = (): string => new URL(h.url).port;
  /** One call at `/fn/bookshelf<path>` (`host: false`) or at `bookshelf.localhost<path>`. */
  const call = (host: boolean, path: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<RawResponse> =>
    request(host ? `http://127.0.0.1:${port()}${path}` : `${h.url}/fn/bookshelf${path}`, {
      method: options.method ?? 'GET',
      headers: { ...(host ? { host: `bookshelf.localhost:${port()}` } : {}), ...options.headers },
      ...(options.body !== undefined ? { body: Buffer.from(options.body) } : {}),
    });
  const json = (r: RawResponse): any => JSON.parse(r.body.toString()); // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON

  for (const host of [false, true]) {
    const base = (): string => (host ? `http://bookshelf.localhost:${port()}` : `${h.url}/fn/bookshelf`);
    describe(host ? 'at bookshelf.localhost' : 'under /fn/bookshelf/', () => {
      it('signs in with the OAuth2 password flow, and the token is signed with the secret set by env set', async () => {
        const r = await call(host, '/auth/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=alice&password=wonderland' });
        assert.equal(r.status, 200, r.body.toString());
        token = json(r).access_token;
        // An HMAC under the secret, never the secret itself (red team 10: the token was `tok-alice-s3cret`).
        assert.equal(token, `tok-alice-${createHmac('sha256', 's3cret').update('alice').digest('hex')}`);
        assert.deepEqual(json(await call(host, '/auth/me', { headers: { authorization: `Bearer ${token}` } })), { user: 'alice' });
        const anonymous = await call(host, '/auth/me');
        assert.equal(anonymous.status, 401);
        assert.equal(anonymous.headers['www-authenticate'], 'Bearer');
      });

      it('creates a book through validators and a yield dependency; the background task records it', async () => {
        const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
        const created = await call(host, '/books/', { method: 'POST', headers: auth, body: JSON.stringify({ title: 'Dune', author: '  frank herbert ', year: 1965 }) });
        assert.equal(created.status, 201, created.body.toString());
        const book = json(created);
        assert.equal(book.author, 'Frank Herbert');
        assert.match(String(created.headers['x-process-time-ms']), /^\d+\.\d\d$/);
        const bad = await call(host, '/books/', { method: 'POST', headers: auth, body: JSON.stringify({ title: 'X', author: ' ', year: 1000 }) });
        assert.equal(bad.status, 422, bad.body.toString());
        assert.match(json(bad).detail[0].msg, /author must not be blank/);
        // Calls at once (concurrency 4): the yield dependency's halves run on any threadpool thread,
        // so its SQLite connection crosses threads (db.py; CI met one 500 in a sequence like the above).
        const many = await Promise.all(Array.from({ length: 12 }, (_, i) => call(host, '/books/', { method: 'POST', headers: auth, body: JSON.stringify(i % 2 ? { title: 'X', author: ' ' } : { title: `T${i}`, author: 'a' }) })));
        assert.deepEqual(many.map((r) => r.status), Array.from({ length: 12 }, (_, i) => (i % 2 ? 422 : 201)), many.map((r) => r.body.toString()).join('\n'));
        // One client calling one request after another stays on one instance (ADR 0045): its /tmp SQLite.
        const listed = json(await call(host, '/books/'));
        assert.ok(listed.some((b: { id: number }) => b.id === book.id), JSON.stringify(listed));
        const events = await call(host, '/admin/events', { headers: { authorization: `Basic ${Buffer.from('admin:hunter2').toString('base64')}` } });
        assert.equal(events.status, 200);
        assert.ok(json(events).some((e: { detail: string }) => e.detail === `alice:${book.id}`), events.body.toString());
        const wrong = await call(host, '/admin/events', { headers: { authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` } });
        assert.equal(wrong.status, 401);
        // Under /fn/ the realm is the function's own (ADR 0213: the origin is every function's).
        assert.equal(wrong.headers['www-authenticate'], host ? 'Basic' : 'Basic realm="/fn/bookshelf/"');
      });

      it('answers a missing book with its exception handler, and redirects with url_for to its own URL', async () => {
        const missing = await call(host, '/books/99999');
        assert.equal(missing.status, 404);
        assert.deepEqual(json(missing), { error: 'book_not_found', book_id: 99999 });
        const goto = await call(host, '/books/1/goto');
        assert.equal(goto.status, 303);
        assert.equal(goto.headers.location, `${base()}/books/1`);
        const slash = await call(host, '/books');
        assert.equal(slash.status, 307);
        assert.equal(slash.headers.location, `${base()}/books/`);
      });

      it('takes a multipart upload (UploadFile + Form)', async () => {
        const boundary = 'xBOUNDARYx';
        const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cover.png"\r\nContent-Type: image/png\r\n\r\n${'p'.repeat(50_000)}\r\n`
          + `--${boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\nfront\r\n--${boundary}--\r\n`;
        const r = await call(host, '/books/1/cover', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}` }, body });
        assert.equal(r.status, 200, r.body.toString());
        assert.deepEqual(json(r), { book_id: 1, filename: 'cover.png', size: 50_000, content_type: 'image/png', caption: 'front' });
      });

      it('renders the Jinja2 template with url_for links that work, and serves the static file with 304', async () => {
        const page = await call(host, '/');
        assert.equal(page.status, 200);
        assert.match(page.body.toString(), /<title>My Bookshelf<\/title>/);
        assert.match(page.body.toString(), new RegExp(`href="${base()}/static/style.css"`));
        assert.match(page.body.toString(), new RegExp(`<a href="${base()}/books/\\d+">Dune</a>`));
        const css = await call(host, '/static/style.css');
        assert.equal(css.status, 200);
        assert.match(String(css.headers['content-type']), /^text\/css/);
        assert.equal((await call(host, '/static/style.css', { headers: { 'if-none-match': String(css.headers.etag) } })).status, 304);
      });

      it('keeps lifespan state from env and secrets in request.state', async () => {
        const r = await call(host, '/admin/state', { headers: { authorization: `Basic ${Buffer.from('admin:hunter2').toString('base64')}` } });
        assert.deepEqual(json(r), { started: true, title: 'My Bookshelf', has_key: true });
      });

      it('streams Server-Sent Events, gzips a large answer and answers a CORS preflight', async () => {
        const sse = await call(host, '/events?n=3');
        assert.equal(sse.headers['transfer-encoding'], 'chunked');
        assert.match(String(sse.headers['content-type']), /^text\/event-stream/);
        assert.equal(sse.body.toString(), [0, 1, 2].map((i) => `data: {"tick": ${i}}\n\n`).join(''));
        const big = await call(host, '/big', { headers: { 'accept-encoding': 'gzip' } });
        assert.equal(big.headers['content-encoding'], 'gzip');
        const preflight = await call(host, '/books/', { method: 'OPTIONS', headers: { origin: 'https://example.com', 'access-control-request-method': 'POST' } });
        assert.equal(preflight.status, 200);
        assert.equal(preflight.headers['access-control-allow-origin'], 'https://example.com');
      });

      it('stores reviews in the bound database through FP_MONGO_URI', async () => {
        const r = await call(host, '/reviews/', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ book_id: 7, stars: 5, text: host ? 'host' : 'path' }) });
        assert.equal(r.status, 201, r.body.toString());
        const texts = json(await call(host, '/reviews/7')).map((x: { text: string }) => x.text);
        assert.ok(texts.includes(host ? 'host' : 'path'), JSON.stringify(texts));
      });

      it('serves OpenAPI and /docs for where it is mounted', async () => {
        const spec = json(await call(host, '/openapi.json'));
        assert.deepEqual(spec.servers, host ? undefined : [{ url: '/fn/bookshelf' }]);
        assert.deepEqual(Object.keys(spec.components.securitySchemes).sort(), ['HTTPBasic', 'OAuth2PasswordBearer']);
        const docs = (await call(host, '/docs')).body.toString();
        assert.match(docs, new RegExp(`url: '${host ? '' : '/fn/bookshelf'}/openapi.json'`));
      });

      it('serves the WebSocket route', async () => {
        const ws = await RawWebSocket.connect(host ? `ws://127.0.0.1:${port()}/ws` : `${h.url.replace('http:', 'ws:')}/fn/bookshelf/ws`,
          host ? { headers: { Host: `bookshelf.localhost:${port()}` } } : {});
        assert.deepEqual(await ws.next(), { kind: 'text', text: 'hi' });
        assert.equal((await ws.closed()).code, 1000);
      });
    });
  }
});
