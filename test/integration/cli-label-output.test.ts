/**
 * A token's label is chosen by a workspace owner and printed by other people's CLIs (`login`,
 * `whoami`, `tokens revoke`): a C1 control in it (8-bit CSI, OSC: some terminals take them in
 * UTF-8) must not reach their terminal raw (red team round 9). The API refuses such labels now;
 * labels stored before are still printed escaped.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { stubApi } from '../helpers/stub-api.js';

const LABEL = 'ci \u009b2J\u009d0;PWNED\u009c \u202eevil';
const TOKEN = { id: 'tok_x', kind: 'workspace', role: 'deployer', label: LABEL, workspace: 'acme', expiresAt: null, createdAt: 1, lastUsedAt: null, revokedAt: 2, createdBy: 'o' };

describe('cli: a token label with controls', () => {
  const api = stubApi('fp-cli-label-', (req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/api/v1/whoami') return res.end(JSON.stringify({ tokenId: 'tok_x', label: LABEL, kind: 'workspace', role: 'deployer', workspace: 'acme', expiresAt: null }));
    if (req.url === '/api/v1/tokens/tok_x' && req.method === 'DELETE') return res.end(JSON.stringify({ token: TOKEN }));
    res.statusCode = 404;
    res.end(JSON.stringify({ error: { code: 'ROUTE_NOT_FOUND', message: 'no', component: 'request' } }));
  });

  it('whoami and tokens revoke print it escaped', async () => {
    for (const argv of [['whoami'], ['tokens', 'revoke', 'tok_x']]) {
      const r = await api.cli(argv);
      assert.equal(r.code, EXIT.OK, r.stderr);
      // Before: the label's \u009b and \u009d went out raw.
      assert.doesNotMatch(r.stdout, /[\u0080-\u009f\u202e]/, `${argv.join(' ')}: ${JSON.stringify(r.stdout)}`);
      assert.match(r.stdout, /ci \\x9b2J\\x9d0;PWNED\\x9c \\u202eevil/);
    }
  });
});
