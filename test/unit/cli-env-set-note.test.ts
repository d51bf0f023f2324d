/**
 * `env set` of a plain value says what the next deploy does to it, for a name platform.yaml's env
 * has as for one it lacks (new-user round 6: "use --secret for values that are not in platform.yaml"
 * was all it said, after `env set GREETING=…` of a name platform.yaml sets).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { stubApi } from '../helpers/stub-api.js';

describe('cli: env set, plain', () => {
  const api = stubApi('fp-cli-env-note-', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'fp-api': '1' });
    res.end(JSON.stringify({ function: { name: 'orders', env: {}, secrets: [] } }));
  });

  it('says the next deploy sets it back or removes it, and how to keep it', async () => {
    const r = await api.cli(['env', 'set', 'orders', 'GREETING=hi']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.match(r.stderr, /note: the next `[^`]*fastapi-platform\S* deploy` sets plain env from platform\.yaml again: a name its env has gets that value back, one it lacks is removed; to keep a value, put it in platform\.yaml, or set it with --secret\./);
    const secret = await api.cli(['env', 'set', 'orders', 'TOKEN=x', '--secret']);
    assert.doesNotMatch(secret.stderr, /note:/);
  });
});
