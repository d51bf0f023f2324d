/**
 * The tenants scenarios (docs/adr/0011-tenants.md), run by the embedded and the production test
 * files against a real platform with real runtimes: isolation between two workspaces, roles,
 * expired and revoked tokens, a refused workspace delete, the audit trail. Limits and quotas under
 * concurrent load are in ./tenants-limits.ts.
 */
import assert from 'node:assert/strict';
import { filesOf, py, sha256, sleep } from './platform-harness.js';
import { bearer, Caller, deployAs, echoFunction, functionKey, invoke, makeTenant, settle, type Platform } from './tenants-harness.js';

/** Neither workspace can list, read, invoke with its tokens, deploy to, see runs, usage, tokens or audit of the other. */
export async function isolation(p: Platform): Promise<void> {
  const a = await makeTenant(p);
  const b = await makeTenant(p);
  // The same short name in both, token-mode; and one name only B has.
  await deployAs(a.deployer, 'shop', echoFunction('a'), { auth: 'token' });
  await deployAs(b.deployer, 'shop', echoFunction('b'), { auth: 'token' });
  await deployAs(b.deployer, 'only-b', echoFunction('b-only'));

  // Lists and reads: each its own, short names with the workspace.
  const listA = await a.viewer.expect(200, 'GET', '/functions');
  assert.deepEqual(listA.body.items.map((f: { name: string; workspace: string }) => [f.name, f.workspace]), [['shop', a.name]]);
  const shopB = await b.viewer.expect(200, 'GET', '/functions/shop');
  assert.equal(shopB.body.invokeUrl.endsWith(`/fn/shop.${b.name}/`), true);
  assert.equal(shopB.body.function.workspace, b.name);
  assert.deepEqual(await a.viewer.refused('GET', '/functions/only-b'), [404, 'FUNCTION_NOT_FOUND']);
  assert.deepEqual(await a.owner.refused('GET', '/functions/only-b/usage'), [404, 'FUNCTION_NOT_FOUND']);
  assert.deepEqual(await a.owner.refused('GET', '/functions/only-b/versions'), [404, 'FUNCTION_NOT_FOUND']);
  assert.deepEqual(await a.owner.refused('GET', '/functions/only-b/deploys'), [404, 'FUNCTION_NOT_FOUND']);
  // Naming the other workspace is "not found", whether it exists or not; so is nonsense in the header.
  assert.deepEqual(await a.owner.refused('GET', '/functions', undefined, { 'fp-workspace': b.name }), [404, 'WORKSPACE_NOT_FOUND']);
  assert.deepEqual(await a.owner.refused('GET', '/functions', undefined, { 'fp-workspace': 'ws-never-made' }), [404, 'WORKSPACE_NOT_FOUND']);
  assert.deepEqual(await a.owner.refused('GET', '/functions', undefined, { 'fp-workspace': 'bad\tvalue' }), [404, 'WORKSPACE_NOT_FOUND']);
  // Naming its own is fine.
  await a.owner.expect(200, 'GET', '/functions', undefined, { 'fp-workspace': a.name });

  // Deploy to, change, delete the other's: not found.
  assert.deepEqual(await a.deployer.refused('POST', '/functions/only-b/deploy'), [404, 'FUNCTION_NOT_FOUND']);
  assert.deepEqual(await a.deployer.refused('PATCH', '/functions/only-b', { env: { X: '1' } }), [404, 'FUNCTION_NOT_FOUND']);
  assert.deepEqual(await a.owner.refused('DELETE', '/functions/only-b'), [404, 'FUNCTION_NOT_FOUND']);
  assert.deepEqual(await a.deployer.refused('POST', '/functions/only-b/versions', { files: filesOf(echoFunction('x')) }), [404, 'FUNCTION_NOT_FOUND']);

  // Invoke: each workspace's invoker token works on its own token-mode function only; the other's is 404.
  const keyA = functionKey('shop', a.name);
  const keyB = functionKey('shop', b.name);
  const invokerA = await new Caller(p, p.rootToken, a.name).expect(200, 'GET', '/whoami'); // the root token acts in A
  assert.equal(invokerA.body.workspace, a.name);
  const tokA = (a.invoker as Caller).token;
  const tokB = (b.invoker as Caller).token;
  const servedA = await invoke(p, `/fn/${keyA}/`, bearer(tokA));
  assert.deepEqual([servedA.status, servedA.body.tag], [200, 'a']);
  const servedB = await invoke(p, `/fn/${keyB}/`, bearer(tokB));
  assert.deepEqual([servedB.status, servedB.body.tag], [200, 'b']);
  const crossed = await invoke(p, `/fn/${keyB}/`, bearer(tokA));
  assert.deepEqual([crossed.status, crossed.body.error.code], [404, 'FUNCTION_NOT_FOUND']);
  const crossedAsync = await invoke(p, `/async/${keyB}/`, { method: 'POST', ...bearer(tokA) });
  assert.deepEqual([crossedAsync.status, crossedAsync.body.error.code], [404, 'FUNCTION_NOT_FOUND']);
  // Even the other's owner token: a workspace token is "not found" outside its workspace.
  assert.equal((await invoke(p, `/fn/${keyB}/`, bearer(a.owner.token))).status, 404);
  // The root token invokes any; the function never sees it.
  const asRoot = await invoke(p, `/fn/${keyB}/`, bearer(p.rootToken));
  assert.equal(asRoot.status, 200);
  // A viewer of the function's own workspace is below invoker.
  const byViewer = await invoke(p, `/fn/${keyB}/`, bearer(b.viewer.token));
  assert.deepEqual([byViewer.status, byViewer.body.error.code], [403, 'ROLE_FORBIDDEN']);

  // Runs: B's run is not A's to see, list, cancel or replay (once written: another process may have served it).
  const runB = servedB.headers.get('x-run-id')!;
  await settle({ ...p, urls: [p.urls[0]!] }, async () => (await b.viewer.call('GET', `/runs/${runB}`)).status === 200);
  assert.deepEqual(await a.viewer.refused('GET', `/runs/${runB}`), [404, 'RUN_NOT_FOUND']);
  assert.deepEqual(await a.invoker.refused('POST', `/runs/${runB}/replay`), [404, 'RUN_NOT_FOUND']);
  const runsA = await a.viewer.expect(200, 'GET', '/runs?limit=1000');
  assert.ok(runsA.body.items.length > 0);
  for (const r of runsA.body.items) assert.equal(r.workspace, a.name);
  assert.ok(!runsA.body.items.some((r: { runId: string }) => r.runId === runB));
  const runsNamed = await a.viewer.expect(200, 'GET', '/runs?function=only-b');
  assert.deepEqual(runsNamed.body.items, []);

  // Tokens, workspaces, audit: each only its own.
  assert.deepEqual(await a.owner.refused('DELETE', `/tokens/${b.ids.viewer}`), [404, 'TOKEN_NOT_FOUND']);
  const tokensA = await a.owner.expect(200, 'GET', '/tokens');
  assert.ok(tokensA.body.items.every((t: { workspace: string }) => t.workspace === a.name));
  assert.ok(!tokensA.body.items.some((t: { id: string }) => Object.values(b.ids).includes(t.id)));
  assert.deepEqual(await a.owner.refused('GET', `/workspaces/${b.name}`), [404, 'WORKSPACE_NOT_FOUND']);
  const mine = await a.owner.expect(200, 'GET', '/workspaces');
  assert.deepEqual(mine.body.items.map((w: { name: string }) => w.name), [a.name]);
  const auditA = await a.owner.expect(200, 'GET', '/audit?limit=1000');
  assert.ok(auditA.body.items.length > 0);
  assert.ok(auditA.body.items.every((e: { workspace: string }) => e.workspace === a.name));
  assert.deepEqual(await a.owner.refused('GET', '/audit?scope=all'), [403, 'ROLE_FORBIDDEN']);

  // Content: what B uploaded is not A's to find or to use by its hash.
  const secretContent = `SECRET_OF_B = "${sha256(b.name)}"\n`;
  await b.deployer.expect(201, 'PUT', `/blobs/${sha256(secretContent)}`, Buffer.from(secretContent));
  const missing = await a.deployer.expect(200, 'POST', '/blobs/missing', { sha256: [sha256(secretContent)] });
  assert.deepEqual(missing.body.missing, [sha256(secretContent)]);
  const stolen = await a.deployer.refused('POST', '/functions/shop/versions', { files: [{ path: 'main.py', sha256: sha256(secretContent) }] });
  assert.deepEqual(stolen, [400, 'BUNDLE_BLOB_MISSING']);
  // Uploading the same bytes makes them A's too ("created" as A sees it).
  await a.deployer.expect(201, 'PUT', `/blobs/${sha256(secretContent)}`, Buffer.from(secretContent));
}

/** Each role is refused above itself with ROLE_FORBIDDEN naming the role it needs; a workspace token never reaches root-only routes. */
export async function roles(p: Platform): Promise<void> {
  const t = await makeTenant(p);
  await deployAs(t.deployer, 'fn', echoFunction('r'));
  const forbidden = async (caller: Caller, method: string, path: string, body: unknown, required: string): Promise<void> => {
    const res = await caller.call(method, path, body);
    assert.equal(res.status, 403, `${method} ${path}: ${JSON.stringify(res.body)}`);
    assert.deepEqual([res.body.error.code, res.body.error.required], ['ROLE_FORBIDDEN', required], `${method} ${path}`);
  };
  // viewer: reads, but neither invokes nor changes.
  await t.viewer.expect(200, 'GET', '/functions/fn');
  await t.viewer.expect(200, 'GET', '/runs');
  await forbidden(t.viewer, 'POST', '/functions/fn/invoke', {}, 'invoker');
  await forbidden(t.viewer, 'POST', '/functions', { name: 'x' }, 'deployer');
  // invoker: + invoke; no deploys.
  await t.invoker.expect(200, 'POST', '/functions/fn/invoke', {});
  await forbidden(t.invoker, 'POST', '/functions/fn/deploy', {}, 'deployer');
  await forbidden(t.invoker, 'PATCH', '/functions/fn', { env: {} }, 'deployer');
  // deployer: + deploy and settings; no deletes, no tokens, no audit.
  await t.deployer.expect(200, 'PATCH', '/functions/fn', { env: { A: '1' } });
  await forbidden(t.deployer, 'DELETE', '/functions/fn', undefined, 'owner');
  await forbidden(t.deployer, 'POST', '/tokens', { role: 'viewer' }, 'owner');
  await forbidden(t.deployer, 'GET', '/tokens', undefined, 'owner');
  await forbidden(t.deployer, 'GET', '/audit', undefined, 'owner');
  // A refusal never tells whether what it names exists: the same answer for a function that does not.
  await forbidden(t.deployer, 'DELETE', '/functions/never-was', undefined, 'owner');
  // owner: + tokens; never the root token's routes, even in its own workspace.
  await forbidden(t.owner, 'POST', '/workspaces', { name: 'mine-too' }, 'root');
  await forbidden(t.owner, 'PATCH', `/workspaces/${t.name}`, { quotas: { functions: 1000 } }, 'root');
  await forbidden(t.owner, 'DELETE', `/workspaces/${t.name}`, undefined, 'root');
  await forbidden(t.owner, 'POST', '/admin/tokens/rotate', undefined, 'root');
  // A token creates tokens only up to its own role.
  await t.owner.expect(201, 'POST', '/tokens', { role: 'owner', label: 'second owner' });
  const up = await t.owner.call('POST', '/tokens', { role: 'root' });
  assert.equal(up.status, 400, 'root is no workspace role');
  // An invoke token is no API token.
  const created = await t.deployer.expect(201, 'POST', '/functions', { name: 'tokfn', auth: 'token' });
  assert.deepEqual(await new Caller(p, created.body.invokeToken).refused('GET', '/functions'), [403, 'ADMIN_TOKEN_FORBIDDEN']);
  await t.owner.expect(204, 'DELETE', '/functions/fn');
}

/** Expired and revoked tokens: 401 TOKEN_EXPIRED, and unknown once revoked (API and invoke). */
export async function expiredAndRevoked(p: Platform): Promise<void> {
  const t = await makeTenant(p);
  await deployAs(t.deployer, 'guarded', echoFunction('g'), { auth: 'token' });
  const key = functionKey('guarded', t.name);
  const short = await t.owner.expect(201, 'POST', '/tokens', { role: 'invoker', expiresIn: '1ms' });
  assert.ok(short.body.token.expiresAt !== null);
  const expiring = new Caller(p, short.body.secret);
  // The expiry passes within a millisecond; wait for the platform to say so (bounded).
  let answer: [number, string] = [0, ''];
  for (let i = 0; i < 200 && answer[1] !== 'TOKEN_EXPIRED'; i++) answer = await expiring.refused('GET', '/whoami');
  assert.deepEqual(answer, [401, 'TOKEN_EXPIRED']);
  const invoked = await fetch(`${p.urls[0]}/fn/${key}/`, bearer(short.body.secret));
  assert.deepEqual([invoked.status, ((await invoked.json()) as { error: { code: string } }).error.code], [401, 'TOKEN_EXPIRED']);

  // Revoked: unknown at once in the process that revoked it, on the API and on invoke; then in every other one.
  await t.invoker.expect(200, 'GET', '/whoami');
  await t.owner.expect(200, 'DELETE', `/tokens/${t.ids.invoker}`);
  assert.deepEqual(await t.invoker.refused('GET', '/whoami'), [401, 'ADMIN_TOKEN_INVALID']);
  const gone = await fetch(`${p.urls[0]}/fn/${key}/`, bearer(t.invoker.token));
  assert.deepEqual([gone.status, ((await gone.json()) as { error: { code: string } }).error.code], [401, 'INVOKE_TOKEN_INVALID']);
  await settle(p, async (url) => (await t.invoker.on(url).call('GET', '/whoami')).status === 401);
  for (const url of p.urls) assert.deepEqual(await t.invoker.on(url).refused('GET', '/whoami'), [401, 'ADMIN_TOKEN_INVALID']);
  assert.deepEqual(await t.owner.refused('DELETE', `/tokens/${t.ids.invoker}`), [404, 'TOKEN_NOT_FOUND']);
  // Listed as revoked only when asked, with its last use recorded.
  const listed = await t.owner.expect(200, 'GET', '/tokens?includeRevoked=true');
  const revoked = listed.body.items.find((x: { id: string }) => x.id === t.ids.invoker);
  assert.ok(revoked.revokedAt !== null);
  assert.ok(revoked.lastUsedAt !== null, 'the token was used: its last use is recorded');
  const live = await t.owner.expect(200, 'GET', '/tokens');
  assert.ok(!live.body.items.some((x: { id: string }) => x.id === t.ids.invoker));
}

/** A workspace with functions is not deleted, and nothing of it changes; emptied, it goes with its tokens. */
export async function workspaceDeletion(p: Platform): Promise<void> {
  const t = await makeTenant(p);
  await deployAs(t.deployer, 'stays', echoFunction('s'));
  const root = new Caller(p, p.rootToken);
  assert.deepEqual(await root.refused('DELETE', `/workspaces/${t.name}`), [409, 'WORKSPACE_NOT_EMPTY']);
  // Nothing half-changed: the workspace, its function, its tokens, its URL all still work.
  await root.expect(200, 'GET', `/workspaces/${t.name}`);
  await t.viewer.expect(200, 'GET', '/functions/stays');
  assert.equal((await invoke(p, `/fn/${functionKey('stays', t.name)}/`)).status, 200);
  await t.owner.expect(204, 'DELETE', '/functions/stays');
  await root.expect(204, 'DELETE', `/workspaces/${t.name}`);
  assert.deepEqual(await t.owner.refused('GET', '/whoami'), [401, 'ADMIN_TOKEN_INVALID']);
  assert.deepEqual(await root.refused('GET', '/functions', undefined, { 'fp-workspace': t.name }), [404, 'WORKSPACE_NOT_FOUND']);
  assert.deepEqual(await root.refused('DELETE', '/workspaces/default'), [409, 'WORKSPACE_PROTECTED']);
  // The name may be taken again: a new, empty workspace.
  await root.expect(201, 'POST', '/workspaces', { name: t.name });
  const fresh = await root.expect(200, 'GET', `/workspaces/${t.name}`);
  assert.equal(fresh.body.usage.functions.used, 0);
}

const SECRET_VALUE = 'do-not-log-this-value-7f3a';

/** The audit log holds every change the test makes, in order, with who and from where, and no secret value. */
export async function auditTrail(p: Platform): Promise<void> {
  const t = await makeTenant(p);
  const root = new Caller(p, p.rootToken);
  const expected: [string, string][] = [['workspace.create', t.name], ['token.create', t.ids.owner], ['token.create', t.ids.deployer], ['token.create', t.ids.invoker], ['token.create', t.ids.viewer]];
  const hook = py('def handler(event, context):', '    return {"ok": True}');
  const manifest = { kind: 'function', name: 'trail', triggers: [{ type: 'webhook', id: 'gh' }] };
  // OLD exists, so removing it below is a change the log records (removing a name that is no
  // secret changes nothing and is not recorded: ADR 0159's `env set`/`unset` by name).
  await t.deployer.expect(201, 'POST', '/functions', { name: 'trail', secrets: { DB: SECRET_VALUE, OLD: SECRET_VALUE } });
  expected.push(['function.create', 'trail']);
  await t.deployer.expect(200, 'PATCH', '/functions/trail', { env: { MODE: 'x' } });
  expected.push(['function.update', 'trail']);
  await t.deployer.expect(200, 'PATCH', '/functions/trail', { secrets: { DB: `${SECRET_VALUE}-2`, OLD: null } });
  expected.push(['secret.set', 'trail'], ['secret.unset', 'trail']);
  await t.deployer.expect(201, 'POST', '/functions/trail/versions', { files: filesOf({ 'main.py': hook }), manifest });
  expected.push(['version.upload', 'trail']);
  await t.deployer.expect(201, 'POST', '/functions/trail/versions', { files: filesOf({ 'main.py': `${hook}# two\n` }), manifest });
  expected.push(['version.upload', 'trail']);
  await t.deployer.expect(200, 'POST', '/functions/trail/deploy');
  expected.push(['deploy', 'trail']);
  await t.deployer.expect(200, 'POST', '/functions/trail/rollback');
  expected.push(['rollback', 'trail']);
  await t.deployer.expect(200, 'POST', '/functions/trail/pause');
  expected.push(['pause', 'trail']);
  await t.deployer.expect(200, 'POST', '/functions/trail/resume');
  expected.push(['resume', 'trail']);
  await t.deployer.expect(200, 'POST', '/functions/trail/triggers/gh/secret/rotate', { grace: '0s' });
  expected.push(['hook-secret.rotate', 'trail']);
  await t.deployer.expect(200, 'PATCH', '/functions/trail', { auth: 'token' });
  expected.push(['function.update', 'trail'], ['invoke-token.rotate', 'trail']);
  await t.deployer.expect(200, 'POST', '/functions/trail/tokens/rotate');
  expected.push(['invoke-token.rotate', 'trail']);
  const extra = await t.owner.expect(201, 'POST', '/tokens', { role: 'viewer', label: 'temp' });
  expected.push(['token.create', extra.body.token.id]);
  await t.owner.expect(200, 'DELETE', `/tokens/${extra.body.token.id}`);
  expected.push(['token.revoke', extra.body.token.id]);
  await root.expect(200, 'PATCH', `/workspaces/${t.name}`, { quotas: { functions: 10 } });
  expected.push(['workspace.update', t.name]);
  await t.owner.expect(204, 'DELETE', '/functions/trail');
  expected.push(['function.delete', 'trail']);
  // Refused calls change nothing and are not changes.
  await t.viewer.refused('DELETE', '/functions/trail');
  await t.deployer.refused('POST', '/functions/nope/deploy');

  const page = await t.owner.expect(200, 'GET', '/audit?limit=1000');
  const entries = [...page.body.items].reverse();
  assert.deepEqual(entries.map((e: { action: string; target: string }) => [e.action, e.target]), expected);
  for (let i = 1; i < entries.length; i++) assert.ok(entries[i].seq > entries[i - 1].seq);
  const byDeployer = entries.filter((e: { action: string }) => e.action === 'deploy')[0];
  assert.deepEqual(byDeployer.actor, { tokenId: t.ids.deployer, label: `${t.name}-deployer`, role: 'deployer' });
  assert.match(byDeployer.address, /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1|0{4}(:0{4}){4}:ffff:7f00:0?1)$/);
  assert.deepEqual(entries.find((e: { action: string }) => e.action === 'secret.set').detail, { names: ['DB'] });
  // Triggers live in versions: the deploy that brought the webhook names it; the rollback to a version with the same ones does not.
  assert.deepEqual(byDeployer.detail.triggers, { added: ['webhook:gh github'], removed: [] });
  assert.equal(entries.find((e: { action: string }) => e.action === 'rollback').detail.triggers, undefined);
  assert.deepEqual(entries[0].actor.role, 'root');
  assert.equal(JSON.stringify(entries).includes(SECRET_VALUE), false, 'no secret value in the audit log');
  // Filters: by action and by actor.
  const deploys = await t.owner.expect(200, 'GET', '/audit?action=deploy');
  assert.equal(deploys.body.items.length, 1);
  const mineOnly = await t.owner.expect(200, 'GET', `/audit?actor=${t.ids.owner}`);
  assert.ok(mineOnly.body.items.every((e: { actor: { tokenId: string } }) => e.actor.tokenId === t.ids.owner));
  // The root token sees every workspace with scope=all.
  const all = await root.expect(200, 'GET', '/audit?scope=all&action=workspace.update&limit=1000');
  assert.ok(all.body.items.some((e: { target: string }) => e.target === t.name));
  await sleep(0);
}
