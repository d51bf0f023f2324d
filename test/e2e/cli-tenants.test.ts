/**
 * The tenants commands of the CLI as a user runs them (docs/cli.md, docs/adr/0011-tenants.md),
 * each a separate `node bin/fastapi-platform.js` process against a real embedded platform:
 * login (profiles, credentials file 0600), whoami, workspaces, tokens create|list|revoke, deploy
 * with a deployer token, functions show with the contract card (rate limit, quotas and their use),
 * audit, a refused workspace delete, logout. Refusals are checked by their codes and exit status.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jsonOf as json, spawnCli, type CliResult } from '../helpers/cli-harness.js';
import { usePlatform } from './platform-harness.js';

const EXIT = { OK: 0, USAGE: 2, API: 4 };

describe('cli: workspaces, tokens, profiles, audit', { timeout: 120_000 }, () => {
  const h = usePlatform({ poolSize: 1 });
  const workspace = `cli-${randomBytes(3).toString('hex')}`;
  let work = '';
  let env: Record<string, string> = {};
  const cli = (argv: string[]): Promise<CliResult> => spawnCli(argv, { env });
  /** Ids and secrets made along the way, in test order. */
  const made = { owner: '', ownerId: '', deployer: '', deployerId: '' };

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'fp-cli-tenants-'));
    // HOME too, so nothing can reach the real ~/.config.
    env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work };
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('login checks the admin token and saves it (0600); a wrong token saves nothing', async () => {
    const bad = await cli(['login', h.url, '--token', 'fp_not-a-token', '--json']);
    assert.equal(bad.code, EXIT.API);
    assert.equal(json(bad).error.code, 'ADMIN_TOKEN_INVALID');
    // Said as a refusal of this login, not "log in again (login)".
    assert.match(json(bad).error.message, /refused this token \(ADMIN_TOKEN_INVALID\); nothing was saved\. Check it: a token is shown once/);
    assert.doesNotMatch(json(bad).error.message, /log in again/);
    const ok = await cli(['login', h.url, '--token', h.api.token!, '--json']);
    assert.equal(ok.code, EXIT.OK, ok.stderr);
    assert.deepEqual([json(ok).kind, json(ok).role, json(ok).workspace, json(ok).profile], ['admin', 'root', 'default', 'default']);
    const file = join(env.FP_CONFIG_DIR!, 'credentials.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).token, h.api.token);
  });

  it('login without --token reads the token from stdin, never from a command line every local user reads (red team round 27)', async () => {
    // `ps -eo args` shows every user of the host a process's command line: `login … --token <the
    // admin token>` (the README's way) handed it to anyone polling the process list.
    const piped = await spawnCli(['login', h.url, '--profile', 'from-stdin', '--json'], { env, stdin: `${h.api.token!}\n` });
    assert.equal(piped.code, EXIT.OK, piped.stderr);
    assert.deepEqual([json(piped).kind, json(piped).profile], ['admin', 'from-stdin']);
    const saved = JSON.parse(readFileSync(join(env.FP_CONFIG_DIR!, 'credentials.json'), 'utf8'));
    assert.equal(saved.profiles['from-stdin'].token, h.api.token);
    const empty = await spawnCli(['login', h.url, '--profile', 'nothing'], { env, stdin: '' });
    assert.equal(empty.code, EXIT.USAGE);
    assert.match(empty.stderr, /login needs a token: type it at the prompt .* or give it on stdin/);
    assert.equal((await spawnCli(['logout', '--profile', 'from-stdin'], { env })).code, EXIT.OK); // the later tests count the profiles
  });

  it('workspaces create (with a quota), list and show', async () => {
    const created = await cli(['workspaces', 'create', workspace, '--functions', '2', '--json']);
    assert.equal(created.code, EXIT.OK, created.stdout + created.stderr);
    const listed = json(await cli(['workspaces', '--json']));
    assert.deepEqual(listed.items.map((w: { name: string }) => w.name).filter((n: string) => n === 'default' || n === workspace).sort(), ['default', workspace].sort());
    const shown = await cli(['workspaces', 'show', workspace]);
    assert.equal(shown.code, EXIT.OK);
    assert.match(shown.stdout, /functions/);
    assert.deepEqual(json(await cli(['workspaces', 'show', workspace, '--json'])).usage.functions, { limit: 2, used: 0 });
  });

  it('tokens create (admin token, --workspace) and login --profile with the owner token; whoami reads the profile', async () => {
    const owner = json(await cli(['tokens', 'create', '--role', 'owner', '--label', 'cli-owner', '-w', workspace, '--json']));
    assert.equal(owner.token.workspace, workspace);
    made.owner = owner.secret;
    made.ownerId = owner.token.id;
    const saved = await cli(['login', h.url, '--token', made.owner, '--profile', 'acme', '--json']);
    assert.equal(saved.code, EXIT.OK, saved.stderr);
    const who = json(await cli(['whoami', '--profile', 'acme', '--json']));
    assert.deepEqual([who.kind, who.role, who.workspace, who.profile, who.tokenId], ['workspace', 'owner', workspace, 'acme', made.ownerId]);
    assert.deepEqual(who.profiles, ['default', 'acme']);
    const text = await cli(['whoami', '--profile', 'acme']);
    assert.match(text.stdout, new RegExp(`workspace\\s+${workspace}`));
  });

  it('tokens create piped on: stdout is the secret alone (the sentence on stderr), so `tokens create … | login` works (ADR 0188)', async () => {
    // Before (dx round 4): stdout was the whole message, and login read it as a token: a usage error.
    // In default: the audit test below counts this workspace's entries.
    const made = await cli(['tokens', 'create', '--role', 'viewer', '--label', 'piped', '-w', 'default']);
    assert.equal(made.code, EXIT.OK, made.stderr);
    assert.match(made.stdout, /^fpw_[A-Za-z0-9_-]+\n$/, JSON.stringify(made.stdout));
    assert.match(made.stderr, /Created viewer token tok_\S+ of workspace default\. Its secret \(shown once\) is on stdout\./);
    const login = await spawnCli(['login', h.url, '--profile', 'piped', '--json'], { env, stdin: made.stdout });
    assert.equal(login.code, EXIT.OK, login.stderr);
    assert.deepEqual([json(login).role, json(login).workspace], ['viewer', 'default']);
  });

  it('an owner creates a deployer token that expires; a deployer cannot create tokens (ROLE_FORBIDDEN, exit 4)', async () => {
    const deployer = json(await cli(['tokens', 'create', '--role', 'deployer', '--expires', '30d', '--profile', 'acme', '--json']));
    assert.ok(deployer.token.expiresAt > Date.now());
    made.deployer = deployer.secret;
    made.deployerId = deployer.token.id;
    const refused = await cli(['tokens', 'create', '--role', 'viewer', '--url', h.url, '--token', made.deployer, '--json']);
    assert.equal(refused.code, EXIT.API);
    assert.deepEqual([json(refused).error.code, json(refused).error.required], ['ROLE_FORBIDDEN', 'owner']);
    const bad = await cli(['tokens', 'create', '--role', 'king', '--profile', 'acme']);
    assert.equal(bad.code, EXIT.USAGE);
  });

  it('login with an expired token says it expired and when, and saves nothing', async () => {
    // In default: the audit test below counts this workspace's entries.
    const short = json(await cli(['tokens', 'create', '--role', 'viewer', '--expires', '1s', '-w', 'default', '--json']));
    // Waits for the platform's own answer, not a clock: until whoami is refused as expired.
    for (;;) {
      const who = await cli(['whoami', '--url', h.url, '--token', short.secret, '--json']);
      if (who.code !== EXIT.OK) {
        assert.equal(json(who).error.code, 'TOKEN_EXPIRED');
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const refused = await cli(['login', h.url, '--token', short.secret, '--profile', 'late', '--json']);
    assert.equal(refused.code, EXIT.API);
    assert.equal(json(refused).error.code, 'TOKEN_EXPIRED');
    // Not "check it: a token is shown once" (it is the right token, too late).
    assert.match(json(refused).error.message, new RegExp(`refused this token: it expired at ${new Date(short.token.expiresAt).toISOString()} \\(TOKEN_EXPIRED\\); nothing was saved\\. Ask the workspace's owner for a new one`));
    assert.doesNotMatch(json(refused).error.message, /Check it/);
    assert.ok(!readFileSync(join(env.FP_CONFIG_DIR!, 'credentials.json'), 'utf8').includes('"late"'), 'no profile saved');
  });

  it('deploy with the deployer token; functions show prints the rate limit and the quotas with their use', async () => {
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'platform.yaml'), 'kind: function\nname: shop\nlimits:\n  rate: 100/s\n  burst: 20\n');
    writeFileSync(join(app, 'main.py'), 'def handler(event, context):\n    return {"ok": True}\n');
    const deployed = await spawnCli(['deploy', app, '--url', h.url, '--token', made.deployer, '--json'], { env });
    assert.equal(deployed.code, EXIT.OK, deployed.stdout + deployed.stderr);
    assert.equal(json(deployed).invokeUrl, `${h.url}/fn/shop.${workspace}/`);
    const shown = json(await cli(['functions', 'show', 'shop', '--profile', 'acme', '--json']));
    assert.equal(shown.function.workspace, workspace);
    assert.deepEqual(shown.contract.rateLimit, { requests: 100, periodMs: 1000, burst: 20 });
    assert.deepEqual(shown.contract.quotas.functions, { limit: 2, used: 1 });
    const text = await cli(['functions', 'show', 'shop', '--profile', 'acme']);
    assert.equal(text.code, EXIT.OK);
    assert.match(text.stdout, /rate 100\/s \(burst 20\)/);
    assert.match(text.stdout, /functions 1 of 2/);
    // The admin token's default profile acts in default: there is no shop there.
    const elsewhere = await cli(['functions', 'show', 'shop', '--json']);
    assert.equal(json(elsewhere).error.code, 'FUNCTION_NOT_FOUND');
  });

  it('tokens list shows last use; revoke stops a token at once', async () => {
    const listed = json(await cli(['tokens', 'list', '--profile', 'acme', '--json']));
    const deployer = listed.items.find((t: { id: string }) => t.id === made.deployerId);
    assert.equal(deployer.role, 'deployer');
    assert.ok(listed.items.every((t: { workspace: string }) => t.workspace === workspace));
    const revoked = await cli(['tokens', 'revoke', made.deployerId, '--profile', 'acme', '--json']);
    assert.equal(revoked.code, EXIT.OK, revoked.stdout);
    const after = await cli(['whoami', '--url', h.url, '--token', made.deployer, '--json']);
    assert.deepEqual([after.code, json(after).error.code], [EXIT.API, 'ADMIN_TOKEN_INVALID']);
    const all = json(await cli(['tokens', 'list', '--all', '--profile', 'acme', '--json']));
    assert.ok(all.items.find((t: { id: string }) => t.id === made.deployerId).revokedAt !== null);
  });

  it('tokens rotate replaces a leaked token (same role, label, expiry; the old one stops at once), says what its holder does, and its holder is told to ask an owner (new-user round 16)', async () => {
    const leaked = json(await cli(['tokens', 'create', '--role', 'viewer', '--label', 'dev-ana', '--expires', '7d', '--profile', 'acme', '--json']));
    const rotated = await cli(['tokens', 'rotate', leaked.token.id, '--profile', 'acme']);
    assert.equal(rotated.code, EXIT.OK, rotated.stderr);
    assert.match(rotated.stdout, /^fpw_[A-Za-z0-9_-]+\n$/, 'piped: the new secret alone on stdout');
    assert.match(rotated.stderr, new RegExp(`Rotated token ${leaked.token.id} \\(viewer, dev-ana\\) of workspace ${workspace}: it stopped working now; the new one is tok_\\S+, expiring `));
    assert.match(rotated.stderr, new RegExp(`Its holder saves it with \`.*login ${h.url} --profile <name>\``));
    const old = await cli(['whoami', '--url', h.url, '--token', leaked.secret, '--json']);
    assert.deepEqual([old.code, json(old).error.code], [EXIT.API, 'ADMIN_TOKEN_INVALID']);
    // A revoked workspace token's holder learns who gives the next one, not only "log in again".
    assert.match(json(old).error.message, /A workspace token stops working when an owner of its workspace \(or the admin\) revokes or rotates it .*ask them for the new one/);
    const relogin = await spawnCli(['login', h.url, '--profile', 'old-ana', '--json'], { env, stdin: `${leaked.secret}\n` });
    assert.equal(relogin.code, EXIT.API);
    assert.match(json(relogin).error.message, /nothing was saved\. .*a workspace token stops working when an owner of its workspace .*ask them for the new one/);
    const fresh = json(await cli(['whoami', '--url', h.url, '--token', rotated.stdout.trim(), '--json']));
    assert.deepEqual([fresh.role, fresh.label, fresh.workspace], ['viewer', 'dev-ana', workspace]);
    assert.ok(Math.abs(fresh.expiresAt - leaked.token.expiresAt) < 5_000, 'the same end, to the clock of one request');
    // The token making the call cannot rotate itself: revoked first, it could make no successor.
    const self = await cli(['tokens', 'rotate', made.ownerId, '--profile', 'acme', '--json']);
    assert.deepEqual([self.code, json(self).error.code], [EXIT.API, 'INVALID_FIELD']);
    const gone = await cli(['tokens', 'rotate', leaked.token.id, '--profile', 'acme', '--json']);
    assert.deepEqual([gone.code, json(gone).error.code], [EXIT.API, 'TOKEN_NOT_FOUND']);
    // Clean up for the audit test below, which counts this workspace's entries: revoke the new one.
    assert.equal((await cli(['tokens', 'revoke', fresh.tokenId, '--profile', 'acme'])).code, EXIT.OK);
  });

  it('audit shows every change of the workspace with who made it; filters by action', async () => {
    const page = json(await cli(['audit', '--profile', 'acme', '--json']));
    const actions = [...page.items].reverse().map((e: { action: string }) => e.action);
    assert.deepEqual(actions, ['workspace.create', 'token.create', 'token.create', 'function.create', 'version.upload', 'deploy', 'token.revoke', 'token.create', 'token.revoke', 'token.create', 'token.revoke']);
    // The rotation is its two steps, revoke then create, under the owner who rotated.
    const rotation = page.items.filter((e: { action: string; detail: { label?: string } }) => e.detail.label === 'dev-ana').reverse().map((e: { action: string }) => e.action);
    assert.deepEqual(rotation, ['token.create', 'token.revoke', 'token.create', 'token.revoke']);
    const deploy = page.items.find((e: { action: string }) => e.action === 'deploy');
    assert.equal(deploy.actor.tokenId, made.deployerId);
    const only = json(await cli(['audit', '--action', 'token.create', '--profile', 'acme', '--json']));
    assert.equal(only.items.length, 4);
    const text = await cli(['audit', '--profile', 'acme']);
    assert.equal(text.code, EXIT.OK);
    assert.match(text.stdout, /token\.revoke/);
  });

  it('workspaces delete with functions in it is refused (WORKSPACE_NOT_EMPTY) and changes nothing', async () => {
    const refused = await cli(['workspaces', 'delete', workspace, '--json']);
    assert.deepEqual([refused.code, json(refused).error.code], [EXIT.API, 'WORKSPACE_NOT_EMPTY']);
    assert.equal(json(await cli(['functions', 'show', 'shop', '--profile', 'acme', '--json'])).function.name, 'shop');
  });

  it('logout forgets a profile; the token still works on the platform', async () => {
    const out = json(await cli(['logout', '--profile', 'acme', '--json']));
    assert.equal(out.removed, true);
    const gone = await cli(['whoami', '--profile', 'acme', '--json']);
    assert.deepEqual([gone.code, json(gone).error.code], [EXIT.USAGE, 'PROFILE_NOT_FOUND']);
    const still = await cli(['whoami', '--url', h.url, '--token', made.owner, '--json']);
    assert.equal(still.code, EXIT.OK);
  });
});
