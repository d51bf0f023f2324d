/**
 * The CLI speaks the command line's words when the API refuses one of its arguments: the API's
 * own refusal (built here by the API's validator) goes through a stand-in API server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { textParam } from '../../controlplane/api/validate.js';
import { TOKEN_ID } from '../../controlplane/api/schemas.js';
import { EXIT } from '../../cli/errors.js';
import { errorBody, httpStatus, PlatformError } from '../../protocol/index.js';
import { runCli } from '../helpers/cli-harness.js';
import { stubApi } from '../helpers/stub-api.js';

describe('cli: API refusals in the command line\'s words', () => {
  const api = stubApi('fp-cli-words-', (req, res) => {
    const m = /^\/api\/v1\/tokens\/([^/]+)$/.exec(req.url ?? '');
    const answer = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (req.url?.startsWith('/api/v1/runs?function=busy')) {
      const run = { runId: '6f226e90-a2f5-4896-9552-b43590cc84b0', function: 'busy', version: '1', trigger: 'http', cold: false, durationMs: 1, status: 'succeeded', httpStatus: 200, errorCode: null, startedAt: 0 };
      return answer(200, { items: [run, { ...run, runId: '78cd9707-5a39-4796-8ada-e8c2c0eb35a2' }], nextCursor: 'c2' });
    }
    if (req.url?.startsWith('/api/v1/runs?')) return answer(200, { items: [], nextCursor: null });
    if (req.url === '/api/v1/functions') return answer(200, { items: [{ name: 'quiet' }, { name: 'busy' }] });
    if (req.url === '/api/v1/functions/quiet') return answer(200, { function: { name: 'quiet' }, invokeUrl: `${api.url}/fn/quiet/` });
    try {
      const missing = /^\/api\/v1\/functions\/(nope|12345678|quite)\b/.exec(req.url ?? '');
      if (missing !== null) throw new PlatformError('FUNCTION_NOT_FOUND', `no function named "${missing[1]}"`, { field: 'name' });
      if (req.method !== 'DELETE' || m === null) throw new PlatformError('ROUTE_NOT_FOUND');
      textParam(m[1]!, 'tokenId', TOKEN_ID);
      throw new PlatformError('TOKEN_NOT_FOUND', `no live token ${JSON.stringify(m[1])} in this workspace`, { field: 'id' }); // as the API says it
    } catch (err) {
      const e = err as PlatformError;
      res.writeHead(httpStatus(e.code, e.details), { 'content-type': 'application/json' });
      res.end(errorBody(e));
    }
  });

  it('tokens revoke nope: says ID, the usage\'s name for it, not the API\'s tokenId', async () => {
    const r = await runCli(['tokens', 'revoke', 'nope', '--url', api.url, '--token', 'fpa_test'], { env: { FP_CONFIG_DIR: api.dir }, cwd: api.dir });
    assert.equal(r.code, EXIT.API);
    assert.doesNotMatch(r.stderr, /tokenId/);
    assert.match(r.stderr, /ID "nope" is not a token id: ids look like tok_…/);
    const json = await runCli(['tokens', 'revoke', 'nope', '--url', api.url, '--token', 'fpa_test', '--json'], { env: { FP_CONFIG_DIR: api.dir }, cwd: api.dir });
    const error = (JSON.parse(json.stdout) as { error: { code: string; field: string } }).error;
    assert.deepEqual([error.code, error.field], ['INVALID_FIELD', 'ID']);
    // A well-formed id the API does not know: its own answer, unchanged.
    const unknown = await runCli(['tokens', 'revoke', 'tok_zzz', '--url', api.url, '--token', 'fpa_test'], { env: { FP_CONFIG_DIR: api.dir }, cwd: api.dir });
    // No "(field: id)": the API's word; then where to look (a typo, most often).
    assert.equal(unknown.stderr, 'error: no live token "tok_zzz" in this workspace; the `tokens` command lists the live ones (--all: revoked ones too) [TOKEN_NOT_FOUND]\n');
  });

  it('runs <name>: an unknown function is FUNCTION_NOT_FOUND, not "No runs yet"', async () => {
    const cli = api.cli;
    const typo = await cli(['runs', 'nope']);
    assert.equal(typo.code, EXIT.API);
    assert.match(typo.stderr, /no function "nope" in this workspace/);
    // A name a letter or two from one of the workspace's functions: the one meant, instead of the list.
    const near = await cli(['rollback', 'quite']);
    assert.equal(near.code, EXIT.API);
    assert.equal(near.stderr, 'error: no function named "quite"; did you mean "quiet"? [FUNCTION_NOT_FOUND]\n');
    // `env` says "deploy it first" of a name nothing is near; of a typo, the one meant only (journey round 11).
    const env = await cli(['env', 'quite']);
    assert.equal(env.stderr, 'error: no function named "quite"; did you mean "quiet"? [FUNCTION_NOT_FOUND]\n');
    // A run id's first digits that match nothing: one parenthesis saying where both lists are.
    const digits = await cli(['runs', '12345678']);
    assert.equal(digits.code, EXIT.API);
    assert.equal(digits.stderr, 'error: no function "12345678" in this workspace and no runs of one by that name, nor a recent run whose id starts so (`runs` lists the newest runs, `functions` the functions; --workspace picks another workspace) [FUNCTION_NOT_FOUND]\n');
    // The API's own FUNCTION_NOT_FOUND (field: name) through another command: without the API's field name.
    const logs = await cli(['usage', 'nope']);
    assert.equal(logs.code, EXIT.API);
    assert.doesNotMatch(logs.stderr, /field/);
    assert.match(logs.stderr, /no function named "nope"; the `functions` command lists this workspace's functions; --workspace or --profile picks another \[FUNCTION_NOT_FOUND\]/);
    const quiet = await cli(['runs', 'quiet']);
    assert.equal(quiet.code, EXIT.OK);
    assert.equal(quiet.stdout, 'No runs yet.\n');
    assert.equal((await cli(['runs', 'quiet', '--status', 'failed'])).stdout, 'No failed runs.\n');
    assert.equal(quiet.stderr, '');
    // A full page: says there are more and how to see them.
    const busy = await cli(['runs', 'busy', '-n', '2']);
    assert.match(busy.stderr, /\(the newest 2; there are more: the next page with --cursor \S+, or -n 10\)/);
  });
});
