/**
 * The time and page options of `runs`, `logs` and `audit` against a stand-in API (ADR 0055, Round
 * 4b): one parser for `--since`/`--until` (a bad value is a usage error, exit 2, before any
 * request, `logs -f` included), `logs --until`, `runs --since/--until/--cursor`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { graceOption, parseWhen } from '../../cli/when.js';
import { stubApi } from '../helpers/stub-api.js';

describe('cli time and page options', () => {
  const seen: URL[] = [];
  const api = stubApi('fp-cli-time-', (req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    seen.push(u);
    res.writeHead(200, { 'content-type': 'application/json' });
    if (u.pathname === '/api/v1/runs') return res.end(JSON.stringify({ items: [], nextCursor: u.searchParams.get('cursor') === null ? 'CUR2' : null }));
    if (u.pathname === '/api/v1/functions/f/logs') return res.end(JSON.stringify({ function: 'f', lines: [], runs: 3, more: false }));
    if (u.pathname === '/api/v1/audit') return res.end(JSON.stringify({ items: [], nextCursor: null }));
    if (u.pathname === '/api/v1/functions/f') return res.end(JSON.stringify({ function: { name: 'f', env: {} } }));
    res.end('{}');
  });
  const cli = api.cli;

  it('--grace: a duration of at most 168h, 0s included; anything else is a usage error before any request', async () => {
    for (const ok of ['0s', '1h', '90m', '168h', '500ms']) assert.equal(graceOption(ok), ok);
    assert.equal(graceOption(undefined), undefined);
    for (const bad of ['forever', '169h', '1d', '-1h', '', '0']) assert.throws(() => graceOption(bad), (err: { exitCode?: number; message: string }) => /^--grace must be a duration/.test(err.message), bad);
    const before = seen.length;
    for (const argv of [['triggers', 'rotate-secret', 'f', 'github', '--grace', 'forever'], ['data', 'rotate', 'f', '--grace', 'forever']]) {
      const r = await cli(argv);
      assert.equal(r.code, EXIT.USAGE, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /--grace must be a duration/);
    }
    assert.equal(seen.length, before, 'no request was made');
  });

  it('parseWhen: a duration ago, Unix ms or an ISO time; anything else names the option', () => {
    const now = 10 * 86_400_000;
    assert.equal(parseWhen('2h', now, 'since'), now - 7_200_000);
    assert.equal(parseWhen('1d', now, 'since'), now - 86_400_000);
    assert.equal(parseWhen('1w', now, 'since'), now - 7 * 86_400_000);
    assert.equal(parseWhen('1700000000000', now, 'until'), 1_700_000_000_000);
    assert.equal(parseWhen('2026-12-01T10:00:00Z', now, 'since'), Date.parse('2026-12-01T10:00:00Z'));
    assert.throws(() => parseWhen('5x', now, 'until'), (e: { exitCode: number; message: string }) => e.exitCode === EXIT.USAGE && e.message.startsWith('--until must be'));
  });

  it('a bad --since or --until is exit 2 before any request: logs (with -f too), runs, audit', async () => {
    for (const argv of [['logs', 'f', '--since', '5x'], ['logs', 'f', '-f', '--since', '5x'], ['logs', 'f', '--until', 'soon'], ['runs', '--since', '5x'], ['audit', '--since', '5x']]) {
      seen.length = 0;
      const r = await cli(argv);
      assert.equal(r.code, EXIT.USAGE, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /--(since|until) must be a duration/, r.stderr);
      assert.equal(seen.length, 0, argv.join(' '));
    }
    const followUntil = await cli(['logs', 'f', '-f', '--until', '1h']);
    assert.equal(followUntil.code, EXIT.USAGE);
    assert.match(followUntil.stderr, /--until goes without --follow/);
  });

  it('logs --until and runs --since/--until/--cursor reach the API; runs says how to get the next page', async () => {
    seen.length = 0;
    const logs = await cli(['logs', 'f', '--since', '2h', '--until', '1h', '--level', 'error']);
    assert.equal(logs.code, EXIT.OK, logs.stderr);
    const q = seen.find((u) => u.pathname === '/api/v1/functions/f/logs')!.searchParams;
    assert.ok(Number(q.get('until')) - Number(q.get('since')) === 3_600_000, q.toString());
    assert.match(logs.stderr, /No log lines at level error or above between .* in the stored runs of "f" \(3 read\)/, logs.stderr);

    seen.length = 0;
    const first = await cli(['runs', '--since', '1d', '--until', '1700000000000', '-n', '5']);
    assert.equal(first.code, EXIT.OK, first.stderr);
    const rq = seen.find((u) => u.pathname === '/api/v1/runs')!.searchParams;
    assert.equal(rq.get('until'), '1700000000000');
    assert.ok(rq.get('since') !== null);
    assert.match(first.stderr, /--cursor CUR2/, first.stderr);
    assert.equal(first.stdout, 'No runs started between 1d and 1700000000000.\n');
    const page2 = await cli(['runs', '--cursor', 'CUR2', '--status', 'failed']);
    assert.equal(page2.stdout, 'No failed runs on this page.\n');
    seen.length = 0;
    const next = await cli(['runs', '--cursor', 'CUR2', '--json']);
    assert.equal(next.code, EXIT.OK, next.stderr);
    assert.equal(seen.find((u) => u.pathname === '/api/v1/runs')!.searchParams.get('cursor'), 'CUR2');
    assert.deepEqual(JSON.parse(next.stdout), { ok: true, items: [], nextCursor: null });
  });
});
