/**
 * Red team 9 (December 2026): systematic authorization. Every operation of /api/v1, enumerated
 * from the platform's own OpenAPI document (`GET /api/v1/openapi.json`, the route table itself),
 * is called as: no token, malformed tokens, a revoked token, an invoke token, each role of
 * workspace A against A, and each role of workspace B against A's resources (by name in the path,
 * by the `FP-Workspace` header, by query parameters, by ids: run ids, versions, trigger ids, token
 * ids, test-case names, database names). Expected answers come from the table of roles in
 * docs/api.md and docs/adr/0011-tenants.md (`x-fp-role` in the document): below the role → 403
 * ROLE_FORBIDDEN; no or a bad token → 401; an invoke token → 403 ADMIN_TOKEN_FORBIDDEN; anything of
 * another workspace answers exactly (status, code, body) as a missing resource does, and no
 * answer to B carries an id of A that B did not send. One platform, fixtures made once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request } from 'node:http';
import { Api, filesOf, py, usePlatform, type ApiAnswer } from './platform-harness.js';

const ROLES = ['viewer', 'invoker', 'deployer', 'owner'] as const;
type Role = (typeof ROLES)[number];
const RANK: Record<string, number> = { viewer: 0, invoker: 1, deployer: 2, owner: 3, root: 4 };
const rnd = (): string => Math.random().toString(36).slice(2, 8);

interface Op { method: string; template: string; role: string }
interface Tenant { name: string; tokens: Record<Role, Api>; tokenIds: Record<Role, string> }

const A = `ra-${rnd()}`;
const B = `rb-${rnd()}`;
const FN = `fa-${rnd()}`;
const TC = `tc-${rnd()}`;
const f: {
  ops: Op[]; expired: string; expiredAt: number; a: Tenant; b: Tenant; runId: string; invokeToken: string; revoked: string; revokedId: string; goneRunId: string;
} = {} as never;

async function tenant(name: string): Promise<Tenant> {
  assert.equal((await h.api.call('POST', '/workspaces', { name })).status, 201);
  const t = { name, tokens: {}, tokenIds: {} } as Tenant;
  for (const role of ROLES) {
    const res = await h.api.call('POST', '/tokens', { role, label: `${role}-${name}` }, { 'fp-workspace': name });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    t.tokens[role] = new Api(h.url, res.body.secret as string);
    t.tokenIds[role] = res.body.token.id as string;
  }
  return t;
}

const h = usePlatform({ poolSize: 1 }, async () => {
  const doc = (await h.api.call('GET', '/openapi.json')).body as { paths: Record<string, Record<string, { 'x-fp-role': string }>> };
  f.ops = Object.entries(doc.paths).flatMap(([template, methods]) =>
    Object.entries(methods).filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m)).map(([m, op]) => ({ method: m.toUpperCase(), template, role: op['x-fp-role'] })));
  f.a = await tenant(A);
  f.b = await tenant(B);
  const owner = f.a.tokens.owner;
  const created = await owner.call('POST', '/functions', { name: FN, auth: 'token' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  f.invokeToken = created.body.invokeToken as string;
  const manifest = { kind: 'function', name: FN, triggers: [{ type: 'cron', id: 'tick', schedule: '0 0 1 1 *' }] };
  const up = await owner.call('POST', `/functions/${FN}/versions`, { files: filesOf({ 'main.py': py('def handler(event, context):', '    print("line-of-A", flush=True)', '    return {"ok": True}') }), manifest });
  assert.equal(up.status, 201, JSON.stringify(up.body));
  assert.equal((await owner.call('POST', `/functions/${FN}/deploy`, {})).status, 200);
  assert.ok((await owner.call('PUT', `/functions/${FN}/test-cases/${TC}`, { request: { path: '/' } })).status < 300);
  assert.ok((await owner.call('PUT', `/functions/${FN}/draft`, { baseVersion: 1, files: [] })).status < 300);
  const run = await owner.call('POST', `/functions/${FN}/invoke`, {});
  assert.equal(run.status, 200, JSON.stringify(run.body));
  f.runId = (run.body.runId ?? run.headers.get('x-fp-run-id')) as string;
  assert.ok(f.runId, `no run id in ${JSON.stringify(run.body)}`);
  const short = await owner.call('POST', '/tokens', { role: 'owner', label: 'expiring', expiresIn: '1s' });
  f.expired = short.body.secret as string;
  f.expiredAt = short.body.token.expiresAt as number;
  const tok = await owner.call('POST', '/tokens', { role: 'viewer', label: 'to-revoke' });
  f.revoked = tok.body.secret as string;
  f.revokedId = tok.body.token.id as string;
  assert.ok((await owner.call('DELETE', `/tokens/${f.revokedId}`)).status < 300);
  // A function of A that is deleted after a run: its name and run id must be gone for everyone.
  await owner.call('POST', '/functions', { name: 'gone' });
  await owner.call('POST', '/functions/gone/versions', { files: filesOf({ 'main.py': py('def handler(event, context):', '    return 1') }) });
  await owner.call('POST', '/functions/gone/deploy', {});
  const goneRun = await owner.call('POST', '/functions/gone/invoke', {});
  f.goneRunId = (goneRun.body.runId ?? goneRun.headers.get('x-fp-run-id')) as string;
  assert.ok((await owner.call('DELETE', '/functions/gone')).status < 300);
});

/** The path of `op` with every parameter filled: A's resources, or missing ones (`missing`). */
function pathOf(op: Op, missing = false): string {
  const values: Record<string, string> = missing
    ? { name: `nx-${FN}`, version: '1', testCase: `nx-${TC}`, triggerId: 'tick', database: 'dbx', sha256: 'a'.repeat(64), runId: `nx${f.runId}`.slice(0, 100), tokenId: `tok_nx${f.a.tokenIds.viewer.slice(6)}`, workspace: `nx-${A}` }
    : { name: FN, version: '1', testCase: TC, triggerId: 'tick', database: 'dbx', sha256: 'a'.repeat(64), runId: f.runId, tokenId: f.a.tokenIds.viewer, workspace: A };
  const path = op.template.replace(/\{(\w+)\}/g, (_, p: string) => values[p]!);
  if (op.template.endsWith('/file')) return `${path}?path=main.py`;
  return path;
}

/** A body each operation's schema could take (refused calls never read it; see the allowed GETs below). */
function bodyOf(op: Op): unknown {
  if (op.method === 'GET' || op.method === 'DELETE') return undefined;
  if (op.template === '/blobs/{sha256}') return 'x';
  if (op.template === '/functions/{name}/test-cases/{testCase}') return { request: { path: '/' } };
  if (op.template === '/tokens') return { role: 'viewer' };
  if (op.template === '/workspaces') return { name: `w-${rnd()}` };
  if (op.template === '/workspaces/{workspace}') return { quotas: { functions: 1 } };
  if (op.template === '/blobs/missing') return { sha256: ['a'.repeat(64)] };
  return {};
}

/** GET with a deadline (the live-log stream never ends by itself). */
async function call(api: Api, op: Op, path: string, headers: Record<string, string> = {}): Promise<ApiAnswer & { text: string }> {
  if (op.template.endsWith('/logs/stream')) {
    const ac = new AbortController();
    const res = await fetch(`${h.url}/api/v1${path}`, { headers: { ...(api.token ? { authorization: `Bearer ${api.token}` } : {}), ...headers }, signal: ac.signal });
    let text = '';
    if (!(res.headers.get('content-type') ?? '').includes('event-stream')) text = await res.text();
    ac.abort();
    let body: unknown = text;
    try { body = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, headers: res.headers, body, text };
  }
  const res = await api.call(op.method, path, bodyOf(op), headers);
  return { ...res, text: typeof res.body === 'string' ? res.body : JSON.stringify(res.body) };
}

/** A call whose path goes on the wire as written (fetch's URL parser would resolve `%2E%2E` and `..` first). */
function raw(api: Api, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
  const u = new URL(h.url);
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path: `/api/v1${path}`, headers: { ...(api.token ? { authorization: `Bearer ${api.token}` } : {}), ...(data ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: unknown = text;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, headers: new Headers(), body: parsed });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

const codeOf = (res: ApiAnswer): string | undefined => (res.body as { error?: { code?: string } } | null)?.error?.code;
const label = (who: string, op: Op, path: string): string => `${who} ${op.method} ${path}`;

/** A's identifiers a B caller must never see unless it sent them. */
function secretsOfA(): string[] {
  return [A, `${FN}.${A}`, f.runId, f.invokeToken, f.revokedId, ...Object.values(f.a.tokenIds), 'line-of-A'];
}

function assertNoLeak(who: string, res: { text: string }, sent: string): void {
  let decoded = sent;
  try { decoded = decodeURIComponent(sent); } catch { /* not percent-encoded */ }
  for (const s of secretsOfA()) {
    // What B sent (its own input, echoed or decoded) is no leak.
    if (sent.includes(s) || decoded.includes(s)) continue;
    assert.ok(!res.text.includes(s), `${who}: the answer carries A's ${JSON.stringify(s)}: ${res.text.slice(0, 300)}`);
  }
}

describe('attack: the authorization matrix of every /api/v1 operation', () => {
  it('the document lists every operation with its role, and the table matches docs/api.md', () => {
    assert.ok(f.ops.length >= 50, `${f.ops.length} operations`);
    const role = (m: string, t: string): string | undefined => f.ops.find((o) => o.method === m && o.template === t)?.role;
    // docs/api.md "Workspaces and tokens": the rows checked by hand against the code (red team 9).
    assert.equal(role('DELETE', '/functions/{name}'), 'owner');
    assert.equal(role('POST', '/functions/{name}/invoke'), 'invoker');
    assert.equal(role('POST', '/runs/{runId}/replay'), 'invoker');
    assert.equal(role('POST', '/tokens'), 'owner');
    assert.equal(role('GET', '/audit'), 'owner');
    assert.equal(role('POST', '/workspaces'), 'root');
    assert.equal(role('PATCH', '/workspaces/{workspace}'), 'root');
    assert.equal(role('POST', '/admin/tokens/rotate'), 'root');
    for (const op of f.ops) assert.ok(op.role in RANK || op.role === 'public', `${op.method} ${op.template}: role ${op.role}`);
  });

  it('no token, malformed tokens, a revoked token: 401; an invoke token: 403', async () => {
    const bad: [string, Record<string, string>][] = [
      ['none', {}],
      ['empty bearer', { authorization: 'Bearer ' }],
      ['garbage', { authorization: 'Bearer not-a-token' }],
      ['basic', { authorization: `Basic ${Buffer.from(`x:${f.a.tokens.owner.token}`).toString('base64')}` }],
      ['two tokens', { authorization: `Bearer ${f.a.tokens.owner.token} ${f.a.tokens.owner.token}` }],
      ['revoked', { authorization: `Bearer ${f.revoked}` }],
      ['truncated', { authorization: `Bearer ${f.a.tokens.owner.token!.slice(0, -1)}` }],
      ['expired', { authorization: `Bearer ${f.expired}` }],
    ];
    while (Date.now() <= f.expiredAt + 50) await new Promise((r) => setTimeout(r, 100));
    const anon = new Api(h.url, null);
    for (const op of f.ops) {
      const path = pathOf(op);
      for (const [name, headers] of bad) {
        const res = await call(anon, op, path, headers);
        if (op.role === 'public') {
          assert.equal(res.status, 200, label(name, op, path));
          continue;
        }
        assert.equal(res.status, 401, `${label(name, op, path)}: ${res.status} ${res.text.slice(0, 200)}`);
        assert.equal(res.headers.get('www-authenticate')?.startsWith('Bearer'), true, label(name, op, path));
        assertNoLeak(label(name, op, path), res, '');
      }
      if (op.role === 'public') continue;
      if (op.method === 'GET') {
        // HEAD is GET without a body: the same checks.
        const head = await fetch(`${h.url}/api/v1${path}`, { method: 'HEAD', headers: { authorization: `Bearer ${f.a.tokens.viewer.token}` }, signal: AbortSignal.timeout(2000) }).catch(() => null);
        if (head !== null && RANK[op.role]! > 0) assert.equal(head.status, 403, `HEAD ${path} as a viewer`);
      }
      const res = await call(new Api(h.url, f.invokeToken), op, path);
      assert.equal(res.status, 403, `${label('invoke token', op, path)}: ${res.text.slice(0, 200)}`);
      assert.equal(codeOf(res), 'ADMIN_TOKEN_FORBIDDEN');
    }
  });

  it('without a token, an unknown route or method says nothing of the routes (401)', async () => {
    const anon = new Api(h.url, null);
    for (const [method, path] of [['GET', '/nope'], ['GET', `/functions/${FN}/secret-route`], ['OPTIONS', '/functions'], ['PUT', '/runs']] as const) {
      const res = await anon.call(method, path);
      assert.equal(res.status, 401, `${method} ${path}: ${res.status}`);
    }
  });

  it("A's roles on A: below the operation's role 403 ROLE_FORBIDDEN; at or above it every read answers", async () => {
    for (const op of f.ops) {
      if (op.role === 'public') continue;
      const path = pathOf(op);
      for (const role of ROLES) {
        const allowed = RANK[role]! >= RANK[op.role]!;
        // Allowed changes are the feature tests' business (they would change the fixtures); allowed reads are run.
        if (allowed && op.method !== 'GET') continue;
        const res = await call(f.a.tokens[role], op, path);
        const who = label(`A ${role}`, op, path);
        if (!allowed) {
          assert.equal(res.status, 403, `${who}: ${res.status} ${res.text.slice(0, 200)}`);
          assert.equal(codeOf(res), 'ROLE_FORBIDDEN', who);
          assert.equal((res.body as { error: { required: string } }).error.required, op.role, who);
        } else {
          assert.ok(res.status >= 200 && res.status < 300, `${who}: ${res.status} ${res.text.slice(0, 300)}`);
        }
      }
    }
  });

  it("B's roles against A's resources answer exactly as for missing ones, never 2xx, never with A's ids", async () => {
    const variants: { how: string; path: (op: Op, missing: boolean) => string; headers: (missing: boolean) => Record<string, string>; applies: (op: Op) => boolean }[] = [
      { how: 'path', path: (op, m) => pathOf(op, m), headers: () => ({}), applies: (op) => /\{(name|version|testCase|runId|tokenId|workspace|triggerId)\}/.test(op.template) },
      { how: 'header', path: (op) => pathOf(op), headers: (m) => ({ 'fp-workspace': m ? `nx-${A}` : A }), applies: () => true },
    ];
    let compared = 0;
    for (const op of f.ops) {
      if (op.role === 'public') continue;
      for (const role of ROLES) {
        for (const v of variants) {
          if (!v.applies(op)) continue;
          const pathA = v.path(op, false);
          const pathX = v.path(op, true);
          const headersA = v.headers(false);
          const atA = await call(f.b.tokens[role], op, pathA, headersA);
          const who = label(`B ${role} (${v.how})`, op, pathA);
          assert.ok(atA.status >= 400, `${who} succeeded: ${atA.status} ${atA.text.slice(0, 300)}`);
          assertNoLeak(who, atA, pathA + JSON.stringify(headersA));
          // Existence: the same call naming a missing resource answers the same (ids swapped).
          const atX = await call(f.b.tokens[role], op, pathX, v.headers(true));
          const norm = (text: string, path: string, hdr: Record<string, string>): string => {
            let out = text;
            const ids = [...path.split(/[/?=]/), ...Object.values(hdr)].filter((s) => s.length > 3).sort((x, y) => y.length - x.length);
            for (const id of ids) out = out.split(id).join('<ID>');
            return out;
          };
          assert.equal(atA.status, atX.status, `${who}: ${atA.status} for A's, ${atX.status} for a missing one (${atA.text.slice(0, 200)} / ${atX.text.slice(0, 200)})`);
          assert.equal(codeOf(atA), codeOf(atX), who);
          assert.equal(norm(atA.text, pathA, headersA), norm(atX.text, pathX, v.headers(true)), `${who}: the bodies differ`);
          compared++;
        }
      }
    }
    assert.ok(compared > 200, `${compared} comparisons`);
  });

  it("B's query parameters naming A's function, run or workspace find nothing of A", async () => {
    const owner = f.b.tokens.owner;
    const cases: [string, string][] = [
      [`/runs?function=${FN}`, `/runs?function=nx-${FN}`],
      [`/runs?workspace=${A}`, `/runs?workspace=nx-${A}`],
      [`/audit?scope=all`, `/audit?scope=all`],
      [`/audit?actor=${f.a.tokenIds.owner}`, `/audit?actor=tok_nx`],
      [`/tokens?workspace=${A}`, `/tokens?workspace=nx-${A}`],
      [`/data/databases?workspace=${A}`, `/data/databases?workspace=nx-${A}`],
      [`/coldstarts?function=${FN}`, `/coldstarts?function=nx-${FN}`],
      [`/workspaces?name=${A}`, `/workspaces?name=nx-${A}`],
      [`/functions?workspace=${A}`, `/functions?workspace=nx-${A}`],
    ];
    for (const [pathA, pathX] of cases) {
      const atA = await owner.call('GET', pathA);
      const atX = await owner.call('GET', pathX);
      const text = JSON.stringify(atA.body);
      assertNoLeak(`B owner GET ${pathA}`, { text }, pathA);
      assert.equal(atA.status, atX.status, `GET ${pathA}: ${atA.status} / ${atX.status}`);
      assert.equal(codeOf(atA), codeOf(atX), pathA);
    }
    // B's own function, A's run id in the log filter: nothing of A's run.
    assert.equal((await f.b.tokens.deployer.call('POST', '/functions', { name: FN })).status, 201, 'the same short name in B is B\'s own');
    for (const path of [`/functions/${FN}/logs?runId=${f.runId}`, `/functions/${FN}/logs`, `/runs?function=${FN}`, `/functions/${FN}/versions`, `/functions/${FN}/deploys`, `/functions/${FN}/test-cases`]) {
      const res = await f.b.tokens.viewer.call('GET', path);
      assertNoLeak(`B viewer GET ${path}`, { text: JSON.stringify(res.body) }, path);
    }
    // The cursor of A's run list, sent by B: a page of B's runs or a refusal, never A's runs.
    await f.a.tokens.invoker.call('POST', `/functions/${FN}/invoke`, {});
    const page = await f.a.tokens.viewer.call('GET', '/runs?limit=1');
    const cursor = page.body.nextCursor as string | null;
    if (cursor) {
      const res = await owner.call('GET', `/runs?limit=5&cursor=${encodeURIComponent(cursor)}`);
      assertNoLeak('B owner GET /runs?cursor=<A\'s>', { text: JSON.stringify(res.body) }, '');
    }
  });

  it('odd path parameters (encoded slashes and dots, case, lookalikes, long ids, deleted things) never reach A from B, never 5xx', async () => {
    const b = f.b.tokens.owner;
    const a = f.a.tokens.owner;
    const names = [
      `${FN}.${A}`, `${FN}%2E${A}`, `..%2F..%2F${FN}`, `%2E%2E`, `..`, `.`, `${FN}%2F`, `${FN}%00`, FN.toUpperCase(),
      encodeURIComponent(FN.replace('a', '\u0430')), `${FN}%20`, 'x'.repeat(5000), `${A}%2F${FN}`,
    ];
    for (const n of names) {
      for (const suffix of ['', '/versions', '/runs', '/test-cases', '/invoke']) {
        const path = `/functions/${n}${suffix}`;
        for (const [who, api] of [['B', b], ['A', a]] as const) {
          const res = await raw(api, suffix === '/invoke' ? 'POST' : 'GET', path, suffix === '/invoke' ? {} : undefined);
          assert.ok(res.status < 500, `${who} ${path}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
          if (who === 'B') {
            assert.ok(res.status >= 400, `B ${path}: ${res.status}`);
            assertNoLeak(`B GET ${path}`, { text: JSON.stringify(res.body) }, path);
          } else if (n !== FN) {
            // Only the exact name is A's function: no case folding, no decoding into another name.
            assert.ok(res.status >= 400, `A ${path} resolved a variant of the name: ${res.status}`);
          }
        }
      }
    }
    for (const ws of [A.toUpperCase(), A.replace('a', '\u0430'), `${A}.`, ` ${A}`, `${A}%2F`, 'x'.repeat(5000), `default`]) {
      // A header carries bytes: the lookalike goes as its UTF-8.
      const res = await raw(b, 'GET', `/functions/${FN}`, undefined, { 'fp-workspace': Buffer.from(ws, 'utf8').toString('latin1') });
      assert.ok(res.status === 404 || res.status === 400, `B FP-Workspace ${JSON.stringify(ws.slice(0, 40))}: ${res.status}`);
      for (const path of [`/workspaces/${encodeURIComponent(ws)}`, `/workspaces/${A}`]) {
        const w = await raw(b, 'GET', path);
        assert.ok(w.status === 404 || w.status === 400, `B GET ${path.slice(0, 60)}: ${w.status}`);
      }
    }
    for (const [path, method] of [[`/runs/${'r'.repeat(5000)}`, 'GET'], [`/tokens/tok_${'x'.repeat(5000)}`, 'DELETE'], [`/functions/${FN}/versions/${'9'.repeat(400)}`, 'GET'], [`/functions/${FN}/versions/1%2F..%2F2`, 'GET'], [`/functions/${FN}/test-cases/..%2F${TC}`, 'DELETE']] as const) {
      const res = await raw(a, method, path);
      assert.ok(res.status >= 400 && res.status < 500, `A ${method} ${path.slice(0, 60)}: ${res.status}`);
    }
    // Deleted things: the function's name, its run; a revoked token id revoked again by B.
    for (const path of ['/functions/gone', '/functions/gone/versions', `/runs/${f.goneRunId}`]) {
      const res = await a.call('GET', path);
      assert.equal(res.status, 404, `A GET ${path} after the delete: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    }
    const again = await b.call('DELETE', `/tokens/${f.revokedId}`);
    assert.equal(again.status, 404, `B DELETE A's revoked token: ${again.status}`);
    assert.equal(codeOf(again), 'TOKEN_NOT_FOUND');
  });

  it("B's lists (every GET without a path parameter, each role that may read it) carry nothing of A", async () => {
    for (const op of f.ops) {
      if (op.method !== 'GET' || op.role === 'public' || op.template.includes('{')) continue;
      for (const role of ROLES) {
        if (RANK[role]! < RANK[op.role]!) continue;
        const res = await call(f.b.tokens[role], op, op.template);
        assert.ok(res.status < 300, `B ${role} GET ${op.template}: ${res.status} ${res.text.slice(0, 200)}`);
        assertNoLeak(`B ${role} GET ${op.template}`, res, '');
      }
    }
  });

  it('/fn and /async: B\'s workspace tokens and A\'s viewer never run A\'s token function; A\'s invoke token runs nothing of B', async () => {
    const tokenFn = (await f.b.tokens.deployer.call('POST', '/functions', { name: `fb-${rnd()}`, auth: 'token' })).body as { name: string; invokeToken: string };
    for (const prefix of ['fn', 'async']) {
      for (const role of ROLES) {
        const res = await fetch(`${h.url}/${prefix}/${FN}.${A}/`, { method: 'POST', headers: { authorization: `Bearer ${f.b.tokens[role].token}` } });
        const text = await res.text();
        assert.ok(res.status >= 400 && res.status < 500, `B ${role} /${prefix}/${FN}.${A}/: ${res.status} ${text.slice(0, 200)}`);
      }
      const viewer = await fetch(`${h.url}/${prefix}/${FN}.${A}/`, { method: 'POST', headers: { authorization: `Bearer ${f.a.tokens.viewer.token}` } });
      assert.equal(viewer.status, 403, `A viewer /${prefix}/: ${viewer.status} ${await viewer.text()}`);
      const cross = await fetch(`${h.url}/${prefix}/${tokenFn.name}.${B}/`, { method: 'POST', headers: { authorization: `Bearer ${f.invokeToken}` } });
      assert.ok(cross.status >= 400 && cross.status < 500, `A's invoke token on B's function: ${cross.status}`);
      await cross.text();
    }
  });

  it("a token's expiry bounds the tokens it creates: none outlives it (red team 9)", async () => {
    const day = await f.a.tokens.owner.call('POST', '/tokens', { role: 'owner', label: 'for-a-day', expiresIn: '1d' });
    assert.equal(day.status, 201);
    const short = new Api(h.url, day.body.secret as string);
    const dayEnds = day.body.token.expiresAt as number;
    // Before: 201 with expiresAt null, an owner token for ever from one that ends tomorrow.
    const forever = await short.call('POST', '/tokens', { role: 'owner', label: 'forever' });
    assert.equal(forever.status, 201, JSON.stringify(forever.body));
    assert.ok(forever.body.token.expiresAt !== null && forever.body.token.expiresAt <= dayEnds, `a token without expiry from one ending at ${dayEnds}: ${forever.body.token.expiresAt}`);
    const longer = await short.call('POST', '/tokens', { role: 'viewer', expiresIn: '30d' });
    assert.equal(longer.status, 400, `a 30-day token from a 1-day one: ${longer.status} ${JSON.stringify(longer.body)}`);
    assert.equal(codeOf(longer), 'INVALID_FIELD');
    const shorter = await short.call('POST', '/tokens', { role: 'viewer', expiresIn: '1h' });
    assert.equal(shorter.status, 201);
    assert.ok((shorter.body.token.expiresAt as number) <= dayEnds);
    // The root token and tokens without expiry are unchanged.
    const plain = await f.a.tokens.owner.call('POST', '/tokens', { role: 'viewer' });
    assert.equal(plain.body.token.expiresAt, null);
  });

  it('a live log stream ends when the token that opened it is revoked: it shows no line after (red team 9)', async () => {
    const tok = await f.a.tokens.owner.call('POST', '/tokens', { role: 'viewer', label: 'tail' });
    const ac = new AbortController();
    const res = await fetch(`${h.url}/api/v1/functions/${FN}/logs/stream`, { headers: { authorization: `Bearer ${tok.body.secret as string}` }, signal: ac.signal });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let seen = '';
    // One read in flight at a time: a read that lost a race to the timer is awaited next time.
    let pending: ReturnType<typeof reader.read> | null = null;
    const readFor = async (ms: number): Promise<boolean> => {
      const until = Date.now() + ms;
      for (;;) {
        const left = until - Date.now();
        if (left <= 0) return false;
        pending ??= reader.read();
        const next = await Promise.race([pending, new Promise<null>((r) => setTimeout(() => r(null), left))]);
        if (next === null) return false;
        pending = null;
        if (next.done) return true;
        seen += decoder.decode(next.value);
      }
    };
    await readFor(300);
    assert.match(seen, /event: ready/);
    // Still allowed: the line shows.
    const fire = async (): Promise<void> => {
      const r = await fetch(`${h.url}/fn/${FN}.${A}/`, { headers: { authorization: `Bearer ${f.a.tokens.invoker.token}` } });
      assert.equal(r.status, 200, await r.text());
      await r.arrayBuffer().catch(() => undefined);
    };
    await fire();
    for (let i = 0; i < 20 && !seen.includes('line-of-A'); i++) await readFor(250);
    assert.match(seen, /line-of-A/, `the live line before the revoke: ${seen.slice(0, 300)}`);
    seen = '';
    assert.ok((await f.a.tokens.owner.call('DELETE', `/tokens/${tok.body.token.id as string}`)).status < 300);
    await fire();
    const ended = await readFor(5000);
    ac.abort();
    // Before: the revoked token's stream went on, with every line the function printed.
    assert.doesNotMatch(seen, /line-of-A/, `a revoked token's stream still received lines: ${seen.slice(0, 300)}`);
    assert.ok(ended, 'the stream of a revoked token did not end');
  });

  it('mass assignment: fields a caller may not set are refused (400) and change nothing', async () => {
    const d = f.a.tokens.deployer;
    const o = f.a.tokens.owner;
    const tries: [Api, string, string, unknown][] = [
      [d, 'POST', '/functions', { name: `m-${rnd()}`, workspace: B }],
      [d, 'POST', '/functions', { name: `m-${rnd()}`, owner: 'x' }],
      [d, 'POST', '/functions', { name: `m-${rnd()}`, createdAt: 1 }],
      [d, 'POST', '/functions', { name: `m-${rnd()}`, invokeToken: 'chosen' }],
      [d, 'POST', '/functions', { name: `m-${rnd()}.${B}` }],
      [d, 'PATCH', `/functions/${FN}`, { workspace: B }],
      [d, 'PATCH', `/functions/${FN}`, { name: 'renamed' }],
      [d, 'PATCH', `/functions/${FN}`, { createdAt: 1, activeVersion: 7 }],
      [d, 'POST', `/functions/${FN}/deploy`, { version: 1, workspace: B }],
      [o, 'POST', '/tokens', { role: 'viewer', workspace: B }],
      [o, 'POST', '/tokens', { role: 'viewer', scope: B }],
      [o, 'POST', '/tokens', { role: 'root' }],
      [o, 'POST', '/tokens', { role: 'viewer', kind: 'admin' }],
      [o, 'POST', '/tokens', { role: 'viewer', id: f.a.tokenIds.owner }],
      [o, 'POST', '/tokens', { role: 'viewer', createdAt: 1, createdBy: 'root' }],
      [d, 'POST', '/tokens', { role: 'owner' }],
      [o, 'POST', '/tokens', { role: 'viewer', expiresAt: null }],
      [o, 'POST', '/tokens', { role: 'viewer', revokedAt: null, lastUsedAt: 1 }],
      [h.api, 'POST', '/workspaces', { name: `w-${rnd()}`, owner: B }],
      [o, 'PATCH', `/workspaces/${A}`, { quotas: {} }],
      [h.api, 'POST', '/workspaces', { name: `w-${rnd()}`, createdAt: 1 }],
      [h.api, 'PATCH', `/workspaces/${A}`, { name: B, quotas: {} }],
      [d, 'PUT', `/functions/${FN}/test-cases/${TC}`, { request: { path: '/' }, function: `${FN}.${B}` }],
      [d, 'PUT', `/functions/${FN}/draft`, { files: [], workspace: B }],
    ];
    for (const [api, method, path, body] of tries) {
      const res = await api.call(method, path, body);
      assert.ok([400, 403].includes(res.status), `${method} ${path} ${JSON.stringify(body)}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    }
    const fn = await d.call('GET', `/functions/${FN}`);
    assert.equal(fn.body.function?.workspace ?? fn.body.workspace, A);
    const listB = await f.b.tokens.viewer.call('GET', '/functions');
    assert.ok(!JSON.stringify(listB.body).includes('m-'), 'a function was created in B by A');
    const tokens = await o.call('GET', '/tokens');
    for (const t of tokens.body.items as { role: string; workspace: string }[]) {
      assert.equal(t.workspace, A);
      assert.ok(t.role !== 'root');
    }
  });
});
