/**
 * An ASGI framework that routes on what follows `root_path` (docs/adr/0079-falcon-path.md):
 * Falcon's `falcon.asgi.App`, through the real gateway and runtimes. Given the full path (the ASGI
 * spec's reading, Starlette's), every route of it under /fn/<name>/ answered Falcon's own 404.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fnName, py, request, useGateway } from './gateway-harness.js';

const FALCON = py(
  'import falcon, falcon.asgi',
  'class Thing:',
  '    async def on_get(self, req, resp, thing_id):',
  '        resp.media = {"id": thing_id, "path": req.path, "root": req.root_path, "uri": req.uri, "relative": req.relative_uri, "q": req.get_param("q")}',
  '    async def on_post(self, req, resp, thing_id):',
  '        resp.media = {"id": thing_id, "got": await req.get_media()}',
  '        resp.status = falcon.HTTP_201',
  'class Home:',
  '    async def on_get(self, req, resp):',
  '        raise falcon.HTTPFound(req.prefix + "/things/1")',
  'app = falcon.asgi.App()',
  'app.add_route("/things/{thing_id:int}", Thing())',
  'app.add_route("/", Home())',
);

const name = fnName('falcon');
const h = useGateway({ [name]: { files: { 'main.py': FALCON }, manifest: 'entrypoint: main:app' } });

describe('a Falcon ASGI app', () => {
  it('routes under /fn/<name>/: its path is what follows the mount point, its URLs carry it', async () => {
    const res = await request(`${h.url}/fn/${name}/things/7?q=x`);
    assert.equal(res.status, 200, res.body.toString());
    assert.deepEqual(JSON.parse(res.body.toString()), {
      id: 7, path: '/things/7', root: `/fn/${name}`, uri: `${h.url}/fn/${name}/things/7?q=x`, relative: `/fn/${name}/things/7?q=x`, q: 'x',
    });
    const post = await request(`${h.url}/fn/${name}/things/8`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from('{"a":1}') });
    assert.equal(post.status, 201);
    assert.deepEqual(JSON.parse(post.body.toString()), { id: 8, got: { a: 1 } });
    const home = await request(`${h.url}/fn/${name}/`);
    assert.equal(home.status, 302);
    assert.equal(home.headers.location, `${h.url}/fn/${name}/things/1`);
    const missing = await request(`${h.url}/fn/${name}/nothing`);
    assert.equal(missing.status, 404);
    assert.match(missing.body.toString(), /404 Not Found/);
  });

  it('routes at the root of its own host the same, with nothing before its path', async () => {
    const host = `${name}.localhost:${new URL(h.url).port}`;
    const res = await request(`${h.url}/things/3`, { headers: { host } });
    assert.equal(res.status, 200, res.body.toString());
    assert.deepEqual(JSON.parse(res.body.toString()), { id: 3, path: '/things/3', root: '', uri: `http://${host}/things/3`, relative: '/things/3', q: null });
  });
});
