/**
 * `env push` of a .env with mistakes lists each, with its line (new-user round 9): it named the
 * first and "(and 1 more)", so the second was found by pushing again. Nothing is pushed.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { answerJson, stubApi } from '../helpers/stub-api.js';

describe('cli: env push of a .env with mistakes', () => {
  const patches: string[] = [];
  const api = stubApi('fp-cli-env-push-problems-', (req, res) => {
    if (req.method === 'PATCH') patches.push(req.url ?? '');
    answerJson(res, 200, { function: { name: 'shop', env: {}, secrets: [] }, invokeUrl: 'http://x/fn/shop/' });
  });

  it('names every line with a problem, and that nothing was pushed', async () => {
    writeFileSync(join(api.dir, '.env'), 'A=1\nB C=2\nexport D="unterminated\n');
    const r = await api.cli(['env', 'push', 'shop', '--yes']);
    assert.equal(r.code, EXIT.FAILURE, r.stderr);
    assert.match(r.stderr, /error: \.env:2: .*\n\.env:3: the double quote is never closed\nnothing was pushed; fix them and push again \[ENV_FILE_INVALID\]/);
    assert.deepEqual(patches, []);
  });
});
