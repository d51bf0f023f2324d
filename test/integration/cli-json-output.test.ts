/**
 * `--json` prints one JSON document on stdout, never text (docs/cli.md "Global options"): the
 * cases the Round 4b walk found printing text (ADR 0055).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { runCli } from '../helpers/cli-harness.js';
import { stubApi } from '../helpers/stub-api.js';

const RUN = '0f7dee35-5030-4af2-b7e7-3a5ab8839732';

describe('cli --json: one document', () => {
  const api = stubApi('fp-cli-json-', (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url === `/api/v1/runs/${RUN}`) return res.end(JSON.stringify({ run: { runId: RUN, function: 'f', trigger: 'http', status: 'succeeded' } }));
    if (req.url?.startsWith('/api/v1/functions/f/logs?')) return res.end(JSON.stringify({ function: 'f', runs: 1, more: false, lines: [{ runId: RUN, attempt: 1, version: '1', i: 0, ts: 1, stream: 'stdout', msg: 'hi' }] }));
    if (req.url === '/api/v1/functions/f') return res.end(JSON.stringify({ function: { name: 'f', env: { A: '1' }, secrets: ['S'] }, invokeUrl: 'x' }));
    res.end('{}');
  });

  it('env pull --file - --json: the values and the file text in one document', async () => {
    const r = await runCli(['env', 'pull', 'f', '--file', '-', '--json', '--url', api.url, '--token', 'fpa_t'], { env: { FP_CONFIG_DIR: api.dir }, cwd: api.dir });
    assert.equal(r.code, EXIT.OK, r.stderr);
    const doc = JSON.parse(r.stdout) as { ok: boolean; file: string; env: Record<string, string>; secrets: string[]; text: string };
    assert.equal(doc.ok, true);
    assert.equal(doc.file, '-');
    assert.deepEqual(doc.env, { A: '1' });
    assert.deepEqual(doc.secrets, ['S']);
    assert.match(doc.text, /^A='1'$/m);
  });

  it('no command with --json: a usage error as JSON, not the help text', async () => {
    const r = await runCli(['--json']);
    assert.equal(r.code, EXIT.USAGE);
    const doc = JSON.parse(r.stdout) as { ok: boolean; error: { code: string } };
    assert.equal(doc.ok, false);
    assert.equal(doc.error.code, 'USAGE');
    const asked = await runCli(['--help', '--json']);
    assert.equal(asked.code, EXIT.OK); // asked for help: the help (text) it asked for
  });

  it('logs -f --json of a run that has ended: the events of --follow (one object per line), not the listing', async () => {
    const r = await runCli(['logs', 'f', '-f', '--run', RUN, '--json', '--url', api.url, '--token', 'fpa_t'], { env: { FP_CONFIG_DIR: api.dir }, cwd: api.dir });
    assert.equal(r.code, EXIT.OK, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; msg?: string; lines?: number });
    assert.deepEqual(events.map((e) => e.type), ['line', 'stopped']);
    assert.equal(events[0]!.msg, 'hi');
    assert.equal(events[1]!.lines, 1);
  });
});
