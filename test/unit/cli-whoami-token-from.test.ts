/**
 * `whoami` says where the token in use came from (new-user round 6): with FP_TOKEN set it printed
 * "(profile default)", a profile whose token was not the one sent.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { runCli } from '../helpers/cli-harness.js';
import { stubApi } from '../helpers/stub-api.js';

describe('cli: whoami names where its token came from', () => {
  const api = stubApi('fp-cli-whoami-', (req, res) => {
    const auth = req.headers.authorization ?? '';
    const who = auth === 'Bearer fpw_bob'
      ? { tokenId: 'tok_bob', label: 'bob', kind: 'workspace', role: 'viewer', workspace: 'team2', expiresAt: null }
      : { tokenId: 'tok_adm', label: 'admin', kind: 'admin', role: 'root', workspace: 'default', expiresAt: null };
    res.writeHead(200, { 'content-type': 'application/json', 'fp-api': '1' });
    res.end(JSON.stringify(who));
  });
  const run = (argv: string[], env: Record<string, string> = {}) => {
    // The default profile holds the admin token for this URL, as `up` saves it.
    writeFileSync(join(api.dir, 'credentials.json'), JSON.stringify({ url: api.url, token: 'fpa_saved' }), { mode: 0o600 });
    return runCli(argv, { env: { FP_CONFIG_DIR: api.dir, ...env }, cwd: api.dir });
  };

  it('FP_TOKEN, --token, or the profile: the line and tokenFrom say which', async () => {
    const env = await run(['whoami'], { FP_TOKEN: 'fpw_bob' });
    assert.equal(env.code, EXIT.OK, env.stderr);
    assert.match(env.stdout, /bob {2}\(workspace token, viewer\)\nworkspace {2}team2\nplatform {3}\S+ {2}\(token from FP_TOKEN\)\n/);
    const flag = await run(['whoami', '--token', 'fpw_bob', '--json']);
    assert.deepEqual([JSON.parse(flag.stdout).tokenFrom, JSON.parse(flag.stdout).role], ['flag', 'viewer']);
    const saved = await run(['whoami']);
    assert.match(saved.stdout, /\(profile default\)\n/);
    assert.equal(JSON.parse((await run(['whoami', '--json'])).stdout).tokenFrom, 'profile');
  });
});
