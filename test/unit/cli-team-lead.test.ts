/**
 * What a team lead setting the platform up for developers meets in the CLI's texts (new-user
 * round 16), through main() with captured output (no network: each is said before a request).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { runCli } from '../helpers/cli-harness.js';

describe('cli: a team lead', () => {
  it('`functions move <name> <workspace>` says no command moves one, and how to (it was an unexpected argument)', async () => {
    for (const verb of ['move', 'transfer']) {
      const r = await runCli(['functions', verb, 'orders', 'team-b']);
      assert.equal(r.code, EXIT.USAGE, r.stderr);
      assert.match(r.stderr, /no command moves a function to another workspace .*`deploy --profile <other>`.*`env pull <name>` here, `env push <name> --profile <other>`.*then `functions delete <name>` here/);
    }
  });

  it('tokens --help names rotate, what to send a token\'s holder, and how a leaving developer is removed', async () => {
    const r = await runCli(['tokens', '--help']);
    assert.equal(r.code, EXIT.OK);
    assert.match(r.stdout, /tokens rotate ID/);
    assert.match(r.stdout, /holder saves it with `fastapi-platform login URL --profile NAME`/);
    assert.match(r.stdout, /send them the platform URL and the token, privately/);
    assert.match(r.stdout, /A developer who leaves: `tokens revoke ID` for each/);
    const w = await runCli(['workspaces', '--help']);
    assert.match(w.stdout, /A function stays in its workspace \(no command moves one/);
  });

  it('tokens rotate without an id is a usage error; an unknown verb lists rotate', async () => {
    const env = { FP_URL: 'http://127.0.0.1:9', FP_TOKEN: 'fpa_x' };
    const bare = await runCli(['tokens', 'rotate'], { env });
    assert.equal(bare.code, EXIT.USAGE, bare.stderr);
    assert.match(bare.stderr, /tokens rotate needs a token id/);
    const typo = await runCli(['tokens', 'rotat'], { env });
    assert.equal(typo.code, EXIT.USAGE);
    assert.match(typo.stderr, /did you mean "rotate"\?; tokens create\|list\|revoke\|rotate/);
  });
});
