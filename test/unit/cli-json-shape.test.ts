/**
 * Every `--json` command's document follows the one rule (ADR 0174, cli/json-document.ts): one
 * object with `ok`, a list in `items`, a failure's `error: {code, message, exitCode}` on stdout
 * with that exit code, and the exit code of its class (4 the platform refused, 1 the function failed).
 * Each command runs through main() against a stand-in API that answers as the platform does.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { documentError, documentProblems, eventProblems } from '../../cli/json-document.js';
import { stubApi } from '../helpers/stub-api.js';

const LIMITS = { timeoutMs: 10000, memoryBytes: 134217728, concurrency: 1, maxInstances: 10, minWarm: 0, maxQueue: 100 };
const RETRY = { maxAttempts: 3, backoffBaseMs: 1000, backoffMaxMs: 60000, maxEventAgeMs: 21600000 };
const FN = { name: 'shop', workspace: 'default', preset: 'http', invocation: 'both', limits: LIMITS, secrets: [], auth: 'public', retry: RETRY, status: 'active', activeVersion: 1, revision: 3, createdAt: 1, updatedAt: 2 };
const RUN = '85d8c6a8-2778-4a4f-b9e5-a542736929cf';
const USAGE = { function: 'shop', window: '15m', from: 1, to: 2, invocations: 1, errors: 0, coldStarts: 1, errorRate: 0, coldStartRatio: 1, p50Ms: 14, p95Ms: 15, p99Ms: 15, meanMs: 14, coldP50Ms: 14, coldP95Ms: 15, warmP50Ms: null, warmP95Ms: null, initP50Ms: 8, initP95Ms: 9, scaleToZero: 0, totals: { invocations: 1, errors: 0, coldStarts: 1 }, warmInstances: 1, state: 'warm', lastSuccess: { runId: RUN, at: 1 }, workspace: 'default' };
const DB = { workspace: 'default', database: 'orders', physical: 'fp_default_orders', functions: ['shop'] };

/** What the platform answers, by method and path (no query). */
const ANSWERS: Record<string, unknown> = {
  'GET /api/v1/functions': { items: [{ ...FN, envNames: [] }], nextCursor: null },
  'GET /api/v1/functions/shop': { function: { ...FN, env: { A: '1' } }, invokeUrl: 'http://x/fn/shop/', asyncUrl: 'http://x/async/shop/' },
  'GET /api/v1/functions/shop/versions': { items: [{ function: 'shop', workspace: 'default', version: 1, entrypoint: 'main:handler', createdAt: 1, createdBy: 'admin', note: '', fileCount: 1, totalBytes: 9, changes: { added: ['main.py'], modified: [], removed: [] } }] },
  'GET /api/v1/functions/shop/deploys': { items: [] },
  'GET /api/v1/functions/shop/triggers': { items: [{ type: 'http', invokeUrl: 'http://x/fn/shop/', asyncUrl: 'http://x/async/shop/', auth: 'public', invocation: 'both' }] },
  'GET /api/v1/functions/shop/usage': USAGE,
  'GET /api/v1/functions/shop/data': { binding: null },
  'POST /api/v1/functions/shop/pause': { function: { ...FN, status: 'paused' } },
  'GET /api/v1/runs': { items: [], nextCursor: null },
  'GET /api/v1/data/databases': { databases: [DB] },
  'GET /api/v1/workspaces': { items: [{ name: 'default', quotas: { functions: null, instances: null, invocationsPerMinute: null, codeBytes: null, logBytes: null }, createdAt: 1, updatedAt: 1 }] },
  'GET /api/v1/tokens': { items: [] },
  'GET /api/v1/audit': { items: [], nextCursor: null },
  'GET /api/v1/whoami': { tokenId: 'tok_1', label: 'admin', kind: 'admin', role: 'root', workspace: 'default', expiresAt: null, publicUrl: 'http://x' },
};

/** A platform error answer, as the API and the gateway write it. */
function refusal(code: string, component: string, message: string): string {
  return JSON.stringify({ error: { code, message, component } });
}

describe('cli --json: one document shape for every command (ADR 0174)', () => {
  const api = stubApi('fp-cli-json-shape-', (req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    const head = { 'content-type': 'application/json', 'fp-api': '1' };
    if (path === '/fn/shop/') {
      res.writeHead(200, { ...head, 'fp-run-id': RUN });
      return res.end('{"hello":"world"}');
    }
    // The function's own 404 (its body, no platform code), the gateway's refusals, the function's failure.
    if (path === '/fn/own404/') {
      res.writeHead(404, { ...head, 'fp-run-id': RUN });
      return res.end('{"detail":"no such order"}');
    }
    if (path === '/fn/gone/' || path === '/async/gone/') {
      res.writeHead(404, head);
      return res.end(refusal('FUNCTION_NOT_FOUND', 'gateway', 'No function with this name.'));
    }
    if (path === '/fn/paused/') {
      res.writeHead(503, head);
      return res.end(refusal('FUNCTION_PAUSED', 'gateway', 'The function is paused.'));
    }
    if (path === '/fn/boom/') {
      res.writeHead(500, { ...head, 'fp-run-id': RUN });
      return res.end(refusal('FUNCTION_ERROR', 'function', 'The function raised an error.'));
    }
    // `logs -f --run`: the stream says ready, then the run's end (its record is not there yet).
    if (path.endsWith('/logs/stream') && !path.includes('/nosuch/')) {
      res.writeHead(200, { ...head, 'content-type': 'text/event-stream' });
      const end = { runId: RUN, attempt: 1, status: 'succeeded', errorCode: null, httpStatus: 200, durationMs: 5, lines: 0, version: '1' };
      return res.end(`event: ready\ndata: {}\n\nevent: end\ndata: ${JSON.stringify(end)}\n\n`);
    }
    if (path.startsWith('/api/v1/runs/')) {
      res.writeHead(404, head);
      return res.end(refusal('RUN_NOT_FOUND', 'controlplane', 'no such run'));
    }
    if (path.endsWith('/logs') && !path.includes('/nosuch/')) {
      res.writeHead(200, head);
      return res.end(JSON.stringify({ lines: [], runs: 0, more: false }));
    }
    const answer = ANSWERS[`${req.method} ${path}`];
    if (answer === undefined) {
      res.writeHead(404, head);
      return res.end(refusal('FUNCTION_NOT_FOUND', 'controlplane', 'no function named "nosuch" in this workspace'));
    }
    res.writeHead(200, head);
    res.end(JSON.stringify(answer));
  });

  /** [command line, exit code, the key its list is in (lists only)]. */
  const CASES: [string[], number, 'items'?][] = [
    [['functions'], EXIT.OK, 'items'],
    [['functions', 'show', 'shop'], EXIT.OK],
    [['functions', 'pause', 'shop'], EXIT.OK],
    [['functions', 'show', 'nosuch'], EXIT.API],
    [['versions', 'shop'], EXIT.OK, 'items'],
    [['triggers', 'shop'], EXIT.OK, 'items'],
    [['runs'], EXIT.OK, 'items'],
    [['audit'], EXIT.OK, 'items'],
    [['tokens'], EXIT.OK, 'items'],
    [['workspaces'], EXIT.OK, 'items'],
    [['data'], EXIT.OK, 'items'],
    [['data', 'show', 'shop'], EXIT.OK],
    [['usage'], EXIT.OK, 'items'],
    [['usage', 'shop'], EXIT.OK],
    [['env', 'shop'], EXIT.OK],
    [['whoami'], EXIT.OK],
    [['logs', 'shop'], EXIT.OK],
    [['invoke', 'shop'], EXIT.OK],
    [['invoke', 'own404'], EXIT.FAILURE],
    [['invoke', 'boom'], EXIT.FAILURE],
    [['invoke', 'gone'], EXIT.API],
    [['invoke', 'paused'], EXIT.API],
    [['invoke', 'gone', '--async'], EXIT.API],
    [['functions', '--bogus'], EXIT.USAGE],
  ];

  for (const [argv, exit, list] of CASES) {
    it(`${argv.join(' ')} --json: exit ${exit}, ${list !== undefined ? 'a list in items' : exit === EXIT.OK ? 'one object' : 'the error object'}`, async () => {
      const r = await api.cli([...argv, '--json']);
      assert.equal(r.code, exit, r.stdout + r.stderr);
      const doc = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.deepEqual(documentProblems(doc, r.code), [], r.stdout);
      // A document the command meant (not a crash of its text output, which is a bug: INTERNAL_ERROR).
      assert.notEqual((doc['error'] as { code?: string } | undefined)?.code, 'INTERNAL_ERROR', r.stdout);
      if (list !== undefined) assert.ok(Array.isArray(doc[list]) && (doc[list] as unknown[]).length >= 0, r.stdout);
    });
  }

  it('data --json lists in items (databases, the API\'s key, stays beside it)', async () => {
    const doc = JSON.parse((await api.cli(['data', '--json'])).stdout) as { items: unknown[]; databases: unknown[] };
    assert.deepEqual(doc.items, [DB]);
    assert.deepEqual(doc.databases, [DB]);
  });

  it("invoke --json: a refusal's error is the platform's code and message; the function's own error status is FUNCTION_ANSWERED_ERROR", async () => {
    const gone = JSON.parse((await api.cli(['invoke', 'gone', '--json'])).stdout) as { error: unknown; status: number };
    assert.deepEqual(gone.error, { code: 'FUNCTION_NOT_FOUND', message: 'No function with this name.', exitCode: EXIT.API, status: 404 });
    const own = JSON.parse((await api.cli(['invoke', 'own404', '--json'])).stdout) as { error: unknown; body: unknown };
    assert.deepEqual(own.error, { code: 'FUNCTION_ANSWERED_ERROR', message: 'the function answered HTTP 404', exitCode: EXIT.FAILURE, status: 404 });
    assert.deepEqual(own.body, { detail: 'no such order' });
    // In text too: the exit code is the class's.
    assert.equal((await api.cli(['invoke', 'paused'])).code, EXIT.API);
  });

  it('logs -f --json: one object per line, its kind in event (type kept beside it)', async () => {
    const r = await api.cli(['logs', 'shop', '-f', '--run', RUN, '--json']);
    assert.equal(r.code, EXIT.OK, r.stdout + r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; type: string });
    assert.deepEqual(lines.map((l) => [l.event, l.type]), [['ready', 'ready'], ['end', 'end'], ['stopped', 'stopped']]);
    for (const l of lines) assert.deepEqual(eventProblems(l), [], JSON.stringify(l));
    // Its error is one line too, also before any event: a line reader takes it whole.
    const refused = await api.cli(['logs', 'nosuch', '-f', '--json']);
    assert.equal(refused.code, EXIT.API, refused.stdout + refused.stderr);
    assert.equal(refused.stdout.trim().split('\n').length, 1, refused.stdout);
    assert.deepEqual(eventProblems(JSON.parse(refused.stdout)), []);
  });

  it('validate --json of a folder with a problem: the error object beside its problems, exit 3', async () => {
    const dir = join(api.dir, 'broken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: broken\nlimits: {cpu: 2}\n');
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return 1\n');
    const r = await api.cli(['validate', dir, '--json']);
    assert.equal(r.code, EXIT.INVALID, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { problems: unknown[]; error: { code: string } };
    assert.deepEqual(documentProblems(doc, r.code), []);
    assert.equal(doc.error.code, 'VALIDATION_FAILED');
    assert.ok(doc.problems.length > 0);
  });

  it('the rule itself: what it refuses', () => {
    assert.deepEqual(documentProblems([], 0), ['the document is not an object']);
    assert.deepEqual(documentProblems({ ok: false, status: 404 }, 1), ['a failure without an `error` object']);
    assert.deepEqual(documentProblems({ ok: true }, 4), ['ok is true with exit code 4']);
    assert.deepEqual(documentProblems({ ok: false, error: { code: 'X', message: 'm', exitCode: 1 } }, 4), ['error.exitCode 1 is not the exit code 4']);
    assert.deepEqual(documentProblems({ ok: true, items: {} }, 0), ['`items` is not an array']);
    assert.deepEqual(eventProblems({ type: 'line' }), ['a line without its kind in `event`']);
    assert.deepEqual(eventProblems({ event: 'line', type: 'line' }), []);
    // The code, message and exit code come first and a detail cannot replace them.
    const e = documentError('FUNCTION_NOT_FOUND', 'no function', EXIT.API, { status: 404, code: 'OTHER', exitCode: 0 });
    assert.deepEqual(Object.entries(e), [['code', 'FUNCTION_NOT_FOUND'], ['message', 'no function'], ['exitCode', EXIT.API], ['status', 404]]);
  });
});
