/**
 * A refusal for the token's role says who can give the role it needs (new-user round 6): a second
 * developer's viewer token read "this call needs the role deployer or above; the token has viewer"
 * and nothing more, and `workspaces create` with a workspace token the same of "root".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { errorBody, httpStatus, PlatformError } from '../../protocol/index.js';
import { stubApi } from '../helpers/stub-api.js';

describe('cli: ROLE_FORBIDDEN names the next step', () => {
  const api = stubApi('fp-cli-role-', (req, res) => {
    // The API's own words (controlplane/api/index.ts): what the call needs and what the token has.
    const e = req.url?.startsWith('/api/v1/workspaces') === true
      ? new PlatformError('ROLE_FORBIDDEN', 'this call needs the role root (the admin token); the token has deployer', { required: 'root', role: 'deployer' })
      : req.url?.startsWith('/api/v1/tokens') === true
        ? new PlatformError('ROLE_FORBIDDEN', 'this call needs the role owner or above; the token has deployer', { required: 'owner', role: 'deployer' })
        : new PlatformError('ROLE_FORBIDDEN', 'this call needs the role deployer or above; the token has viewer', { required: 'deployer', role: 'viewer' });
    res.writeHead(httpStatus(e.code, e.details), { 'content-type': 'application/json', 'fp-api': '1' });
    res.end(errorBody(e));
  });

  it('a role below the one needed: a token of that role, from an owner, with the command that makes one', async () => {
    const r = await api.cli(['env', 'set', 'orders', 'A=1']);
    assert.equal(r.code, EXIT.API);
    assert.match(r.stderr, /the token has viewer; an owner of the workspace \(or the admin token, with -w <workspace>\) creates a deployer token with `[^`]*fastapi-platform(\.js)? tokens create --role deployer`; `whoami` shows the token in use \[ROLE_FORBIDDEN\]/);
    const json = await api.cli(['env', 'set', 'orders', 'A=1', '--json']);
    const error = (JSON.parse(json.stdout) as { error: { code: string; required: string; message: string } }).error;
    assert.deepEqual([error.code, error.required], ['ROLE_FORBIDDEN', 'deployer']);
    assert.match(error.message, /tokens create --role deployer/);
  });

  it('an owner\'s call: "an owner token"', async () => {
    const r = await api.cli(['tokens']);
    assert.match(r.stderr, /the token has deployer; an owner of the workspace \(or the admin token, with -w <workspace>\) creates an owner token with `[^`]*tokens create --role owner`/);
  });

  it('the admin token\'s own calls: the admin token, and where it was given', async () => {
    const r = await api.cli(['workspaces', 'create', 'team2']);
    assert.equal(r.code, EXIT.API);
    assert.match(r.stderr, /the token has deployer; only the admin token may \(the platform printed it at its first start, or wrote it to the file FP_ADMIN_TOKEN_FILE names, \/etc\/fastapi-platform\/admin-token under the systemd unit, and `up` saved it as the default profile; lost: `node dist\/platform\/main\.js --rotate-admin-token` on the platform's host, docs\/platform\.md\): pass it with --token or FP_TOKEN, or --profile its profile/);
  });
});
