/**
 * The API answers what its route table declares (controlplane/api/routes.ts → the OpenAPI
 * document): a walk through every operation over real HTTP, each answer checked against the
 * declared schema of its status (strict: an undeclared key fails), each error against the codes
 * the document lists for the operation. Reaches what a fuzzer rarely does: run records with logs,
 * async run timelines, test invoke answers. Also: the document is served without a token.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { httpStatus } from '../../protocol/index.js';
import { errorAnswer } from '../../controlplane/api/answers.js';
import { operationErrors } from '../../controlplane/api/openapi.js';
import { match } from '../../controlplane/api/router.js';
import { ROUTES } from '../../controlplane/api/routes.js';
import { generateOpenApi } from '../../scripts/gen-openapi.js';
import { b64, filesOf, fnName, py, sha256, sleep, usePlatform, type ApiAnswer } from './platform-harness.js';

const h = usePlatform({ poolSize: 1, dispatchConcurrency: 1 });

/** Every (operation, status) an answer was checked for. */
const seen = new Set<string>();

/** An API call whose answer must match what the route table declares for it. */
async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
  const res = await h.api.call(method, path, body, headers);
  const found = match(ROUTES, path.split('?')[0]!);
  assert.ok(found, `no route for ${path}`);
  const op = found.route.methods[method];
  assert.ok(op, `${method} ${found.route.template} is not declared`);
  const where = `${method} ${found.route.template} → ${res.status}`;
  if (res.status >= 400) {
    const parsed = errorAnswer.safeParse(res.body);
    assert.ok(parsed.success, `${where}: not an error body: ${JSON.stringify(res.body)}`);
    const { code, ...details } = parsed.data.error;
    assert.equal(httpStatus(code, details), res.status, `${where}: ${code}`);
    assert.ok(operationErrors(found.route.template, op, method).includes(code), `${where}: ${code} is not among the operation's documented codes`);
    seen.add(`${op.id} ${res.status}`);
    return res;
  }
  const answer = op.answers[res.status];
  assert.ok(answer, `${where}: status not declared (${JSON.stringify(res.body)})`);
  assert.equal(res.headers.get('content-type'), answer.schema === null ? null : (answer.contentType ?? 'application/json'), where);
  if (answer.schema === null) assert.equal(res.body, null, where);
  else {
    const parsed = answer.schema.safeParse(res.body);
    assert.ok(parsed.success, `${where}: ${parsed.error?.message}\n${JSON.stringify(res.body).slice(0, 2000)}`);
  }
  seen.add(`${op.id} ${res.status}`);
  return res;
}

/**
 * The live-logs stream never ends: its head is checked against its declared answer (status,
 * content type), then its first event (`ready`), and the connection dropped.
 */
async function streamCall(path: string): Promise<void> {
  const controller = new AbortController();
  const res = await fetch(`${h.url}/api/v1${path}`, { headers: { authorization: `Bearer ${h.api.token}` }, signal: controller.signal });
  const found = match(ROUTES, path.split('?')[0]!)!;
  const op = found.route.methods['GET']!;
  const answer = op.answers[res.status];
  assert.ok(answer, `${path} → ${res.status} is not declared`);
  assert.equal(res.headers.get('content-type'), answer.contentType);
  const reader = res.body!.getReader();
  let text = '';
  while (!text.includes('\n\n', text.indexOf('event: ready'))) text += new TextDecoder().decode((await reader.read()).value);
  assert.match(text, /^retry: \d+\n\nid: \d+-\d+\nevent: ready\ndata: \{/);
  controller.abort();
  seen.add(`${op.id} ${res.status}`);
}

const LIVE = fnName('live');
const ASYNC = fnName('later');
const HANDLER = py(
  'def handler(event, context):',
  '    print("called", event["path"])',
  '    if event["path"] == "/bytes":',
  '        return bytes([0, 255, 1])',
  '    if event["path"] == "/fail":',
  '        raise ValueError("asked to")',
  '    return {"path": event["path"], "version": context.function_version}',
);
const MANIFEST = { kind: 'function', name: LIVE, triggers: [{ type: 'webhook', id: 'gh' }], limits: { timeout: '10s' } };

async function settled(runId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 150; i++) {
    const res = await call('GET', `/runs/${runId}`);
    if (['succeeded', 'failed', 'cancelled'].includes(res.body.run.state)) return res.body.run;
    await sleep(100);
  }
  throw new Error(`run ${runId} did not settle`);
}

describe('every answer is the declared one', () => {
  it('functions, code, deploys, usage, test invoke, runs, tokens, documents', async () => {
    // Functions.
    await call('POST', '/functions', { name: LIVE, env: { A: 'b' }, secrets: { S: 'x' }, limits: { timeout: '5s' } });
    await call('POST', '/functions', { name: LIVE });
    const tokened = await call('POST', '/functions', { name: fnName('tok'), auth: 'token', invocation: 'both' });
    assert.match(tokened.body.invokeToken, /^fpi_/);
    await call('GET', '/functions');
    await call('GET', `/functions/${LIVE}`);
    await call('GET', `/functions/${fnName('none')}`);
    await call('GET', '/functions/Not_A_Name');
    await call('PATCH', `/functions/${LIVE}`, { limits: { memory: '128Mi' }, retry: { maxAttempts: 2 }, secrets: { S: null } });
    await call('PATCH', `/functions/${LIVE}`, { limits: { minWarm: 50 } });
    await call('PATCH', `/functions/${LIVE}`, { nope: 1 });
    await call('PATCH', `/functions/${LIVE}`, '{"limits": ');
    await call('POST', `/functions/${LIVE}/tokens/rotate`);

    // Code.
    const content = HANDLER;
    const missing = await call('POST', '/blobs/missing', { sha256: [sha256(content)] });
    assert.deepEqual(missing.body.missing, [sha256(content)]);
    await call('PUT', `/blobs/${sha256(content)}`, Buffer.from(content));
    await call('PUT', `/blobs/${sha256(content)}`, Buffer.from(content));
    await call('PUT', `/blobs/${sha256('other')}`, Buffer.from(content));
    await call('PUT', '/blobs/xyz', Buffer.from(content));
    await call('POST', `/functions/${LIVE}/versions`, { files: [{ path: 'main.py', sha256: sha256(content) }], manifest: MANIFEST, note: 'one' });
    await call('POST', `/functions/${LIVE}/versions`, { files: filesOf({ 'main.py': content, 'lib/x.py': 'X = 1\n' }), manifest: MANIFEST });
    await call('POST', `/functions/${LIVE}/versions`, { files: [{ path: '../x.py', contentBase64: b64('x') }] });
    await call('POST', `/functions/${LIVE}/versions`, { files: filesOf({ 'other.py': 'x' }) });
    await call('POST', `/functions/${LIVE}/versions`, { files: filesOf({ 'main.py': 'x' }), manifest: { kind: 'function', name: LIVE, cpu: 1 } });
    await call('GET', `/functions/${LIVE}/versions?limit=1`);
    await call('GET', `/functions/${LIVE}/versions?limit=0`);
    await call('GET', `/functions/${LIVE}/versions/2`);
    await call('GET', `/functions/${LIVE}/versions/9`);
    await call('GET', `/functions/${LIVE}/versions/x`);
    await call('GET', `/functions/${LIVE}/versions/2/deps`);
    await call('GET', `/functions/${LIVE}/versions/9/deps`);
    await call('POST', `/functions/${LIVE}/versions/2/deps`, {});
    await call('POST', `/functions/${LIVE}/versions/2/deps`, { x: 1 });
    await call('POST', `/functions/${LIVE}/versions`, { files: filesOf({ 'main.py': content, 'requirements.txt': '-e .\n' }), manifest: MANIFEST });

    // Deploys.
    await call('POST', `/functions/${LIVE}/rollback`);
    await call('POST', `/functions/${LIVE}/invoke`, {});
    await call('POST', `/functions/${LIVE}/deploy`, { version: 1, note: 'first' });
    await call('POST', `/functions/${LIVE}/rollback`);
    await call('POST', `/functions/${LIVE}/deploy`);
    await call('POST', `/functions/${LIVE}/deploy`, { version: 7 });
    await call('POST', `/functions/${LIVE}/pause`, { note: 'hold' });
    await call('POST', `/functions/${LIVE}/invoke`, {});
    await call('POST', `/functions/${LIVE}/resume`);
    await call('GET', `/functions/${LIVE}/deploys?limit=2&before=4`);
    await call('DELETE', `/functions/${LIVE}/versions/2`); // the active one: VERSION_ACTIVE
    await call('DELETE', `/functions/${LIVE}/versions/1`);
    await call('DELETE', `/functions/${LIVE}/versions/1`);
    await call('DELETE', `/functions/${LIVE}/versions/x`);
    await call('POST', `/functions/${LIVE}/triggers/gh/secret/rotate`, { grace: '0s' });
    await call('POST', `/functions/${LIVE}/triggers/nope/secret/rotate`);
    await call('POST', `/functions/${LIVE}/triggers/gh/secret/rotate`, { grace: '200h' });

    // Test invoke: JSON, bytes, a failure.
    const ok = await call('POST', `/functions/${LIVE}/invoke`, { method: 'GET', path: '/a', query: { q: ['1', '2'] }, headers: { 'x-a': 'b' } });
    assert.equal(ok.body.status, 200);
    const bytes = await call('POST', `/functions/${LIVE}/invoke`, { path: '/bytes' });
    assert.equal(typeof bytes.body.bodyBase64, 'string');
    const failed = await call('POST', `/functions/${LIVE}/invoke`, { path: '/fail', bodyBase64: b64('x') });
    assert.equal(failed.body.error.code, 'FUNCTION_ERROR');
    await call('POST', `/functions/${LIVE}/invoke`, { body: 1, bodyBase64: 'eA==' });

    // Usage, every window.
    for (const window of ['1m', '15m', '1h', '24h', '7d', '30d']) await call('GET', `/functions/${LIVE}/usage?window=${window}`);
    await call('GET', `/functions/${LIVE}/usage?window=2d`);

    // Data bindings: none for this function (docs/data-binding.md has the bound case, test/e2e/platform-data.test.ts).
    assert.deepEqual((await call('GET', `/functions/${LIVE}/data`)).body, { binding: null });
    await call('POST', `/functions/${LIVE}/data/rotate`, { grace: '1s' });
    await call('POST', `/functions/${LIVE}/data/rotate`, { grace: 'soon' });
    await call('GET', '/data/databases');
    await call('DELETE', '/data/databases/nothere');
    await call('DELETE', '/data/databases/Not%20A%20Name');

    // Logs: stored lines (filtered; a run of another function is not found), the live stream.
    const logs = await call('GET', `/functions/${LIVE}/logs?since=2020-01-01&level=info&grep=called&limit=5`);
    assert.ok(logs.body.lines.length > 0);
    await call('GET', `/functions/${LIVE}/logs?runId=${failed.body.runId}`);
    await call('GET', `/functions/${LIVE}/logs?runId=no-such-run`);
    await call('GET', `/functions/${LIVE}/logs?level=loud`);
    await call('GET', `/functions/${LIVE}/logs/stream?lastEventId=x`);
    await call('GET', `/functions/${LIVE}/logs/stream`, undefined, { 'last-event-id': 'nope' });
    await streamCall(`/functions/${LIVE}/logs/stream?grep=called`);

    // Runs: the list, a sync run with its logs, async runs (a failure replayed, a cancel refused).
    const runs = await call('GET', `/runs?function=${LIVE}&limit=2&since=2020-01-01T00:00:00Z`);
    assert.ok(runs.body.nextCursor);
    await call('GET', `/runs?cursor=${runs.body.nextCursor}`);
    await call('GET', '/runs?cursor=nope');
    await call('GET', '/runs?since=yesterday');
    await call('GET', '/runs?function=Bad_Name');
    await call('GET', `/runs/${failed.body.runId}`);
    await call('GET', '/runs/no-such-run');
    await call('POST', `/functions`, { name: ASYNC, invocation: 'async', retry: { maxAttempts: 1 } });
    await call('POST', `/functions/${ASYNC}/versions`, { files: filesOf({ 'main.py': py('def handler(event, context):', '    raise RuntimeError("no")') }) });
    await call('POST', `/functions/${ASYNC}/deploy`);
    const accepted = await fetch(`${h.url}/async/${ASYNC}/`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(accepted.status, 202);
    const runId = ((await accepted.json()) as { runId: string }).runId;
    const run = await settled(runId);
    assert.equal(run['state'], 'failed');
    await call('POST', `/runs/${runId}/cancel`);
    const replay = await call('POST', `/runs/${runId}/replay`);
    await settled(replay.body.runId);
    await call('POST', `/runs/${replay.body.runId}/cancel`);
    await call('POST', '/runs/no-such-run/replay');

    // Triggers, and a test invoke queued as an async run.
    const triggers = await call('GET', `/functions/${LIVE}/triggers`);
    assert.deepEqual(triggers.body.items.map((t: { type: string }) => t.type), ['http', 'webhook']);
    const queued = await call('POST', `/functions/${LIVE}/invoke/async`, { path: '/q', body: { a: 1 } });
    await settled(queued.body.runId);
    await call('POST', `/functions/${fnName('nope')}/invoke/async`, {});

    // Series and cold starts, every window.
    for (const window of ['1h', '24h', '7d', '30d']) {
      const series = await call('GET', `/functions/${LIVE}/usage/series?window=${window}`);
      assert.ok(series.body.points.length > 0);
      await call('GET', `/coldstarts?window=${window}`);
    }
    await call('GET', `/functions/${LIVE}/usage/series?window=2d`);

    // The console's working state: a version's file, the draft, test cases, the code check.
    const file = await call('GET', `/functions/${LIVE}/versions/2/file?path=main.py`);
    assert.equal(file.body.content, content);
    await call('GET', `/functions/${LIVE}/versions/2/file?path=nope.py`);
    await call('GET', `/functions/${LIVE}/draft`);
    await call('PUT', `/functions/${LIVE}/draft`, { baseVersion: 2, files: [{ path: 'main.py', content: 'x = 1\n' }], removed: ['lib/x.py'] });
    await call('PUT', `/functions/${LIVE}/draft`, { baseVersion: 99, files: [] });
    await call('PUT', `/functions/${LIVE}/draft`, { baseVersion: null, files: [{ path: '../up.py', content: '' }] });
    await call('GET', `/functions/${LIVE}/draft`);
    await call('DELETE', `/functions/${LIVE}/draft`);
    await call('PUT', `/functions/${LIVE}/test-cases/first%20case`, { mode: 'sync', request: { method: 'GET', path: '/a' } });
    await call('PUT', `/functions/${LIVE}/test-cases/bad%2Fname`, { request: {} });
    await call('PUT', `/functions/${LIVE}/test-cases/x`, { request: { body: 1, bodyBase64: 'eA==' } });
    await call('GET', `/functions/${LIVE}/test-cases`);
    await call('DELETE', `/functions/${LIVE}/test-cases/first%20case`);
    await call('DELETE', `/functions/${LIVE}/test-cases/first%20case`);
    const bad = await call('POST', '/validate', { files: [{ path: 'main.py', content: 'def handler(event, context):\n    return (\n' }, { path: 'platform.yaml', content: `kind: function\nname: ${LIVE}\nlimits:\n  timeout: 30\n` }] });
    assert.equal(bad.body.ok, false);
    await call('POST', '/validate', { files: [{ path: 'main.py', content: content }] });
    await call('POST', '/validate', { files: [{ path: '/abs.py', content: '' }] });
    // Workspaces, workspace tokens, whoami, the audit log.
    const ws = `ws-${fnName('x').slice(-8)}`;
    await call('GET', '/whoami');
    await call('POST', '/workspaces', { name: ws, quotas: { functions: 2, codeBytes: '1Mi' } });
    await call('POST', '/workspaces', { name: ws });
    await call('POST', '/workspaces', { name: 'Bad_Name' });
    await call('GET', '/workspaces');
    await call('GET', `/workspaces/${ws}`);
    await call('GET', '/workspaces/ws-nowhere');
    await call('PATCH', `/workspaces/${ws}`, { quotas: { instances: 3, functions: null } });
    const owner = await call('POST', '/tokens', { role: 'owner', label: 'first owner', expiresIn: '30d' }, { 'fp-workspace': ws });
    assert.match(owner.body.secret, /^fpw_/);
    await call('POST', '/tokens', { role: 'boss' });
    await call('GET', '/tokens', undefined, { 'fp-workspace': ws });
    await call('GET', '/tokens?includeRevoked=true', undefined, { 'fp-workspace': ws });
    await call('POST', '/functions', { name: 'in-ws' }, { 'fp-workspace': ws });
    await call('DELETE', `/workspaces/${ws}`);
    await call('DELETE', '/workspaces/default');
    await call('DELETE', `/functions/in-ws`, undefined, { 'fp-workspace': ws });
    await call('DELETE', `/tokens/${owner.body.token.id}`, undefined, { 'fp-workspace': ws });
    await call('DELETE', `/tokens/${owner.body.token.id}`, undefined, { 'fp-workspace': ws });
    await call('GET', '/audit?limit=5');
    await call('GET', '/audit?scope=all&action=workspace.create');
    await call('GET', '/audit?cursor=nope');
    await call('DELETE', `/workspaces/${ws}`);
    await call('GET', '/functions', undefined, { 'fp-workspace': ws });

    // Tokens and documents.
    await call('POST', '/admin/tokens/rotate').then((res) => (h.api.token = res.body.adminToken));
    await call('GET', '/schema/platform.json');
    await call('GET', '/openapi.json');
    await call('DELETE', `/functions/${ASYNC}`);

    // Every declared operation was reached.
    const reached = new Set([...seen].map((s) => s.split(' ')[0]));
    const declared = ROUTES.flatMap((r) => Object.values(r.methods).map((op) => op.id));
    assert.deepEqual(declared.filter((id) => !reached.has(id)), []);
  });

  it('an empty body after an empty upload is still {} (the detached-buffer 500 schemathesis found)', async () => {
    const name = fnName('empty');
    await call('POST', '/functions', { name });
    for (let i = 0; i < 2; i++) {
      const upload = await call('POST', `/functions/${name}/versions`);
      assert.equal(upload.status, 400);
      const deploy = await call('POST', `/functions/${name}/deploy`);
      assert.equal(deploy.body.error.code, 'VERSION_NOT_FOUND');
      const patch = await call('PATCH', `/functions/${name}`);
      assert.equal(patch.status, 200);
    }
  });
});

describe('the OpenAPI document', () => {
  it('is served without a token, and is the committed one', async () => {
    const res = await fetch(`${h.url}/api/v1/openapi.json`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(await res.text(), generateOpenApi());
    const schema = await fetch(`${h.url}/api/v1/schema/platform.json`);
    assert.equal(schema.status, 200);
  });

  it('leaves every other route behind the token, even unknown ones', async () => {
    for (const [method, path] of [['GET', '/api/v1/functions'], ['GET', '/api/v1/nope'], ['POST', '/api/v1/openapi.json']] as const) {
      const res = await fetch(`${h.url}${path}`, { method });
      assert.equal(res.status, 401, `${method} ${path}`);
    }
  });
});
