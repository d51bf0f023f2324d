/**
 * Red team round 38: the API checks a call's token when its head arrives, and a client sends the
 * body when it likes (uWS waits ~10 s per 16 KiB). A token revoked, or a workspace deleted, between
 * the head and the body must not act: before, the handler ran with what the head was granted, so a
 * `POST /tokens` begun before a leaked owner token's revocation minted a fresh owner token after it,
 * and one begun before its workspace's delete minted a token that outlived the workspace and was an
 * owner of the workspace created again under the same name (another tenant's). Calls of an
 * `auth: token` function likewise: one whose head came before its invoke token's rotation ran after
 * it, whenever its client finished the body (a 6 MiB body can take an hour).
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { Api, deployed, py, usePlatform } from './platform-harness.js';

const h = usePlatform({ poolSize: 1 });
const rnd = (): string => Math.random().toString(36).slice(2, 7);

/** A request whose head (and the body's first byte) is sent now; `finish()` sends the rest and returns the answer's status line and body. */
async function slowRequest(url: string, method: string, path: string, token: string, body: string, headers = ''): Promise<{ finish(): Promise<{ status: number; text: string }> }> {
  const u = new URL(url);
  const socket: Socket = connect(Number(u.port), u.hostname);
  let answer = '';
  socket.on('data', (d: Buffer) => { answer += d.toString(); });
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  socket.write(`${method} ${path.startsWith('/fn/') || path.startsWith('/async/') ? path : `/api/v1${path}`} HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer ${token}\r\n${headers}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 1)}`);
  // The head is read and checked before the body's rest is sent.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return {
    async finish() {
      socket.write(body.slice(1));
      const deadline = Date.now() + 10_000;
      while (!/\r\n\r\n[\s\S]*\}/.test(answer) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      socket.destroy();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
      return { status, text: answer.slice(answer.indexOf('\r\n\r\n') + 4) };
    },
  };
}

async function workspaceWithOwner(name: string): Promise<Api> {
  assert.equal((await h.api.call('POST', '/workspaces', { name })).status, 201);
  const made = await h.api.call('POST', '/tokens', { role: 'owner', label: 'owner' }, { 'fp-workspace': name });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  return new Api(h.url, made.body.secret as string);
}

describe('attack: a token revoked or a workspace deleted while a request body is on its way (red team round 38)', () => {
  it('a POST /tokens begun before its token was revoked mints nothing after the revocation', async () => {
    const ws = `rb-${rnd()}`;
    const owner = await workspaceWithOwner(ws);
    const leaked = await owner.call('POST', '/tokens', { role: 'owner', label: 'leaked' });
    assert.equal(leaked.status, 201);
    const pending = await slowRequest(h.url, 'POST', '/tokens', leaked.body.secret as string, JSON.stringify({ role: 'owner', label: 'kept-after-revocation' }));
    assert.ok((await owner.call('DELETE', `/tokens/${leaked.body.token.id as string}`)).status < 300);
    const answer = await pending.finish();
    assert.equal(answer.status, 401, `the revoked token acted once its body came: ${answer.status} ${answer.text.slice(0, 200)}`);
    assert.match(answer.text, /ADMIN_TOKEN_INVALID/);
    const listed = await owner.call('GET', '/tokens');
    assert.equal(listed.status, 200);
    assert.ok(!(listed.body.items as { label: string }[]).some((t) => t.label === 'kept-after-revocation'), 'a token was minted by the revoked one');
  });

  it('a POST /tokens begun before its workspace was deleted leaves no token that works in the workspace created again', async () => {
    const ws = `wd-${rnd()}`;
    const owner = await workspaceWithOwner(ws);
    const pending = await slowRequest(h.url, 'POST', '/tokens', owner.token!, JSON.stringify({ role: 'owner', label: 'outlives-the-workspace' }));
    assert.ok((await h.api.call('DELETE', `/workspaces/${ws}`)).status < 300);
    const answer = await pending.finish();
    assert.ok(answer.status === 401 || answer.status === 404, `a token was made for the deleted workspace: ${answer.status} ${answer.text.slice(0, 200)}`);
    const secret = /"secret":"([^"]+)"/.exec(answer.text)?.[1];
    // The name is given to another tenant: nothing of the first one's may act in it.
    assert.equal((await h.api.call('POST', '/workspaces', { name: ws })).status, 201);
    const listed = await h.api.call('GET', '/tokens', undefined, { 'fp-workspace': ws });
    assert.equal(listed.status, 200);
    assert.deepEqual((listed.body.items as { label: string }[]).map((t) => t.label), [], 'a token of the deleted workspace lives in the new one');
    if (secret !== undefined) assert.equal((await new Api(h.url, secret).call('GET', '/functions')).status, 401);
  });

  it('a root call naming a workspace deleted while its body came creates nothing in it', async () => {
    const ws = `wr-${rnd()}`;
    assert.equal((await h.api.call('POST', '/workspaces', { name: ws })).status, 201);
    const pending = await slowRequest(h.url, 'POST', '/tokens', h.api.token!, JSON.stringify({ role: 'owner', label: 'root-made' }), `FP-Workspace: ${ws}\r\n`);
    assert.ok((await h.api.call('DELETE', `/workspaces/${ws}`)).status < 300);
    const answer = await pending.finish();
    assert.equal(answer.status, 404, answer.text.slice(0, 200));
    assert.match(answer.text, /WORKSPACE_NOT_FOUND/);
    assert.equal((await h.api.call('POST', '/workspaces', { name: ws })).status, 201);
    const listed = await h.api.call('GET', '/tokens', undefined, { 'fp-workspace': ws });
    assert.deepEqual((listed.body.items as { label: string }[]).map((t) => t.label), []);
  });

  it('a call of an auth: token function begun before its invoke token was rotated does not run after the rotation, sync or queued', async () => {
    const name = `tk-${rnd()}`;
    const created = await deployed(h.api, name, { 'main.py': py('def handler(event, context):', '    print("ran-after-rotation", flush=True)', '    return {"ran": True}') }, { auth: 'token' });
    const leaked = created.invokeToken as string;
    const ok = await fetch(`${h.url}/fn/${name}/`, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${leaked}` } });
    assert.equal(ok.status, 200, 'the token works before the rotation');
    const before = (await h.api.call('GET', `/runs?function=${name}`)).body.items.length as number;
    const sync = await slowRequest(h.url, 'POST', `/fn/${name}/`, leaked, JSON.stringify({ x: 1 }));
    const queued = await slowRequest(h.url, 'POST', `/async/${name}/`, leaked, JSON.stringify({ x: 2 }));
    assert.equal((await h.api.call('POST', `/functions/${name}/tokens/rotate`, {})).status, 200);
    for (const [route, pending] of [['/fn/', sync], ['/async/', queued]] as const) {
      const answer = await pending.finish();
      assert.equal(answer.status, 401, `${route}: the rotated token's call went on: ${answer.status} ${answer.text.slice(0, 200)}`);
      assert.match(answer.text, /INVOKE_TOKEN_INVALID/);
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const after = (await h.api.call('GET', `/runs?function=${name}`)).body.items.length as number;
    assert.equal(after, before, 'a run was made for a call refused after its body');
  });

  it('a call of a public function begun before its pause does not run after it, sync or queued (red team round 39)', async () => {
    // An owner pauses a public function to stop an abuse: before, the calls whose heads came first
    // ran after the pause (200, 202), each when its client finished the body.
    const name = `pz-${rnd()}`;
    await deployed(h.api, name, { 'main.py': py('def handler(event, context):', '    return {"ran": True}') });
    const before = (await h.api.call('GET', `/runs?function=${name}`)).body.items.length as number;
    const sync = await slowRequest(h.url, 'POST', `/fn/${name}/`, 'none', JSON.stringify({ x: 1 }));
    const queued = await slowRequest(h.url, 'POST', `/async/${name}/`, 'none', JSON.stringify({ x: 2 }));
    assert.equal((await h.api.call('POST', `/functions/${name}/pause`, {})).status, 200);
    for (const [route, pending] of [['/fn/', sync], ['/async/', queued]] as const) {
      const answer = await pending.finish();
      assert.equal(answer.status, 503, `${route}: the call went on after the pause: ${answer.status} ${answer.text.slice(0, 200)}`);
      assert.match(answer.text, /FUNCTION_PAUSED/);
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal((await h.api.call('GET', `/runs?function=${name}`)).body.items.length, before, 'a run was made for a call refused after its body');
  });
});
