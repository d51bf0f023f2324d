/**
 * `env unset` of a name that is not set exits 0 (nothing to remove): a slip (`GRETING`) left the
 * value in place with only "Not set", so the report names the one set nearby (new-user round 15).
 * A name that is a property of every JS object (`constructor`) is not set either: it was reported
 * removed, and sent as a change.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { answerJson, stubApi } from '../helpers/stub-api.js';

describe('cli: env unset of a name not set', () => {
  const patches: string[] = [];
  const api = stubApi('fp-cli-env-unset-', (req, res) => {
    if (req.method === 'GET' && req.url === '/api/v1/functions/shop') {
      return answerJson(res, 200, { function: { name: 'shop', env: { GREETING: 'hi' }, secrets: ['DB_PASSWORD'] }, invokeUrl: 'http://x/fn/shop/' });
    }
    if (req.method === 'PATCH') {
      patches.push(req.url ?? '');
      return answerJson(res, 200, { function: { name: 'shop', env: {}, secrets: [] } });
    }
    answerJson(res, 404, { error: { code: 'NOT_FOUND', message: 'no route', component: 'controlplane' } });
  });

  it('names the set one a slip is near; nothing is sent, exit 0', async () => {
    const r = await api.cli(['env', 'unset', 'shop', 'GRETING', 'DB_PASWORD', 'ZZZZZZ', '--no-check']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.match(r.stdout, /Not set on "shop": GRETING \(did you mean "GREETING"\?\), DB_PASWORD \(did you mean "DB_PASSWORD"\?\), ZZZZZZ\./, r.stdout);
    assert.deepEqual(patches, []);
  });

  it('`constructor` is not set: not reported removed, not sent', async () => {
    const r = await api.cli(['env', 'unset', 'shop', 'constructor', '--json', '--no-check']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { ok: true, function: 'shop', removed: [], notSet: ['constructor'] });
    assert.deepEqual(patches, []);
  });
});
