/**
 * The peer tier's bookkeeping (test/peers/): failures sorted into findings, totals, and the check
 * against expected.json. Pure: records in, report out (the tier itself runs with `npm run test:peers`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify, FINDINGS } from '../peers/findings.js';
import type { PytestRun, TestRecord } from '../peers/pytest-run.js';
import { buildReport, type ReportInput } from '../peers/report.js';

const run = (records: TestRecord[]): PytestRun => ({ records, seconds: 1, summary: '' });

function input(inprocess: TestRecord[], platform: TestRecord[], expected: Record<string, string> = {}): ReportInput {
  return {
    version: '0.0.0', src: '/nonexistent', topics: ['t'], uncollected: {}, inprocess: run(inprocess), platform: run(platform),
    deployed: [], refused: [], environment: { python: '', checked: 0, failures: {}, byPackage: {}, other: {} }, probes: null, runs: null,
    sandbox: 'off', expected: { failures: expected }, seconds: 1, platformLogs: [],
  };
}

const app = ['docs_src.t.tutorial001:app'];

describe('peer tier: findings', () => {
  it('every finding has an id, a title and a reproduction; ids are unique', () => {
    const ids = FINDINGS.map((f) => f.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const f of FINDINGS) {
      assert.match(f.id, /^[a-z0-9-]+$/);
      assert.ok(f.title.length > 20 && f.reproduction.length > 20, f.id);
    }
  });

  it('sorts failures by what the platform answered, then by the assertion text', () => {
    const f = (message: string, extra: Partial<TestRecord> = {}): string => classify({ record: { nodeid: 'x', outcome: 'failed', message, ...extra }, appSource: '' }).id;
    assert.equal(f('', { platformErrors: [{ code: 'FUNCTION_INIT_FAILED', type: 'SandboxError' }] }), 'sandbox-enter-einval');
    assert.equal(f('', { platformErrors: [{ code: 'FUNCTION_INIT_FAILED', type: 'RuntimeError', message: 'sqlite3.OperationalError: unable to open database file' }] }), 'read-only-workdir');
    assert.equal(f('', { platformErrors: [{ code: 'FUNCTION_ERROR', type: 'ValueError' }] }), 'error-body');
    assert.equal(f("E   {'servers': [{'url': '/fn/body-tutorial001-6ea5'}]}"), 'openapi-servers');
    assert.equal(f("E   {'root_path': '/fn/x'} != {'root_path': '/api/v1'}", { flags: ['TestClient(root_path=…)'] }), 'proxy-prefix');
    assert.equal(f('E   httpx.RemoteProtocolError: Server disconnected without sending a response.'), 'underscore-header');
    assert.equal(f('E   httpx.TooManyRedirects: Exceeded maximum allowed redirects.'), 'proxy-headers');
    assert.equal(classify({ record: { nodeid: 'x', outcome: 'failed', message: 'E   assert 404 == 200' }, appSource: 'app = FastAPI(root_path="/api/v1")' }).id, 'app-root-path-404');
    assert.equal(f('E   <a href="http://testserver/fn/t-1/items/foo">'), 'mount-in-urls');
    assert.equal(f("E   {'client_host': '127.0.0.1'} != {'client_host': 'testclient'}"), 'client-address');
    assert.equal(f('E   assert 1 == 2'), 'unclassified');
  });
});

describe('peer tier: report', () => {
  const inprocess: TestRecord[] = [
    { nodeid: 'a', outcome: 'passed', apps: app },
    { nodeid: 'b', outcome: 'passed', apps: app },
    { nodeid: 'c', outcome: 'passed', apps: app, excluded: 'WebSockets' },
    { nodeid: 'd', outcome: 'passed' },
    { nodeid: 'e', outcome: 'failed', apps: app },
    { nodeid: 'f', outcome: 'passed', apps: app },
  ];
  const platform: TestRecord[] = [
    { nodeid: 'a', outcome: 'passed', apps: app },
    { nodeid: 'b', outcome: 'failed', apps: app, message: "E   {'servers': [{'url': '/fn/t'}]}" },
    { nodeid: 'c', outcome: 'skipped', excluded: 'WebSockets' },
    { nodeid: 'd', outcome: 'passed' },
    { nodeid: 'e', outcome: 'failed', apps: app },
    { nodeid: 'f', outcome: 'failed', apps: app, platformErrors: [{ code: 'FUNCTION_INIT_FAILED', type: 'SandboxError' }] },
  ];

  it('counts each side, the comparable tests and the platform-only failures by finding', () => {
    const r = buildReport(input(inprocess, platform));
    assert.deepEqual(r.totals.inprocess, { passed: 5, failed: 1, skipped: 0 });
    assert.deepEqual(r.totals.platform, { passed: 1, failed: 3, skipped: 0, excluded: 1, notApplicable: 1, notRouted: 0 });
    assert.equal(r.totals.comparable, 3);
    assert.equal(r.totals.comparablePassed, 1);
    assert.equal(r.totals.platformOnlyFailures, 2);
    assert.equal(r.totals.failBoth, 1);
    assert.deepEqual(r.findings.map((f) => [f.id, f.tests]).sort(), [['openapi-servers', 1], ['sandbox-enter-einval', 1]]);
    assert.equal(r.exclusions['WebSockets'], 1);
  });

  it('flags failures missing from expected.json, never intermittent ones; lists expected failures that now pass', () => {
    const fresh = buildReport(input(inprocess, platform));
    assert.deepEqual(fresh.unexpected, [{ nodeid: 'b', finding: 'openapi-servers' }]);
    assert.deepEqual(fresh.newExpected.failures, { b: 'openapi-servers' });
    const known = buildReport(input(inprocess, platform, { b: 'openapi-servers', a: 'mount-in-urls' }));
    assert.deepEqual(known.unexpected, []);
    assert.deepEqual(known.fixed, ['a']);
  });
});
