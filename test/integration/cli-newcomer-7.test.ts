/**
 * New-user round 7 (docs/adr/0075-newcomer-round-7.md), what the CLI prints against a stand-in API.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { stubApi } from '../helpers/stub-api.js';

const RUN = '0f7dee35-5030-4af2-b7e7-3a5ab8839732';

describe('cli invoke --test: a failed call shows its exception, as a direct call does', () => {
  const api = stubApi('fp-cli-new7-test-', (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        runId: RUN, status: 500, headers: { 'content-type': 'application/json' }, durationMs: 2, cold: false,
        body: { error: { code: 'FUNCTION_ERROR', message: 'The function raised an error.', component: 'function', runId: RUN } },
        error: { code: 'FUNCTION_ERROR', type: 'KeyError', message: "'missing' \x1b[31m", file: 'main.py', line: 4 },
      }));
    });
  });

  it('prints the test invoke answer\'s error (type, message escaped, file:line); --json carries it', async () => {
    const r = await api.cli(['invoke', 'f', '--test', '-d', '{}']);
    assert.equal(r.code, EXIT.FAILURE, r.stderr);
    assert.match(r.stdout, /^error \(from the test invoke\): KeyError: 'missing' \\x1b\[31m {2}\(main\.py:4\)$/m);
    const json = await api.cli(['invoke', 'f', '--test', '-d', '{}', '--json']);
    assert.deepEqual((JSON.parse(json.stdout) as { error: unknown }).error, { code: 'FUNCTION_ERROR', type: 'KeyError', message: "'missing' \x1b[31m", file: 'main.py', line: 4 });
  });
});

describe('cli functions <name>: shows the function, as `env <name>` lists its env', () => {
  const asked: string[] = [];
  const api = stubApi('fp-cli-new7-fn-', (req, res) => {
    asked.push(`${req.method} ${req.url}`);
    if (req.url === '/api/v1/functions/shop') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ function: { name: 'shop', status: 'active', activeVersion: 2 }, invokeUrl: 'http://x/fn/shop/', contract: {} }));
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'FUNCTION_NOT_FOUND', message: 'not found' } }));
  });

  it('`functions shop` asks for the function shop (it was "unknown subcommand \"shop\"; did you mean \"show\"?")', async () => {
    await api.cli(['functions', 'shop']);
    assert.ok(asked.includes('GET /api/v1/functions/shop'), asked.join('\n'));
  });

  it('no function of a name close to a subcommand: a usage error that names the subcommand', async () => {
    const r = await api.cli(['functions', 'puase']);
    assert.equal(r.code, EXIT.USAGE);
    assert.match(r.stderr, /no function named "puase" in this workspace, and no subcommand "puase"; did you mean "pause"\?/);
    const other = await api.cli(['functions', 'nothing-here']);
    assert.equal(other.code, EXIT.API);
    assert.match(other.stderr, /no function named "nothing-here"/);
  });
});

describe('cli triggers without a name: the usage error reads as the other commands\' do', () => {
  const api = stubApi('fp-cli-new7-trig-', (_req, res) => res.end());
  it('`triggers needs the function name` (it said `triggers <name> needs …`)', async () => {
    const r = await api.cli(['triggers']);
    assert.equal(r.code, EXIT.USAGE);
    assert.match(r.stderr, /error: triggers needs the function name: \S.* triggers <name>/);
    const rotate = await api.cli(['triggers', 'rotate-secret']);
    assert.match(rotate.stderr, /error: triggers rotate-secret needs the function name: \S.* triggers rotate-secret <name> <triggerId>/);
  });
});
