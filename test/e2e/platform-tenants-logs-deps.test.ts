/**
 * The dependency and log routes under tenants (docs/adr/0011-tenants.md): a version's dependency
 * state and its build, a function's stored and live logs are scoped to the caller's workspace like
 * every function route (another workspace's function is 404, the same short name in two
 * workspaces never mixes), with roles (reading: viewer; a build: deployer, audited `deps.build`);
 * and the CLI's `logs [--follow]` and `env pull|push` work with a workspace token (a saved profile)
 * and with the admin token's `--workspace`. Real runtimes, real HTTP, the CLI as a user runs it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnCli, type CliResult } from '../helpers/cli-harness.js';
import { RawStream, Tail } from './logs-harness.js';
import { runsWritten, usePlatform } from './platform-harness.js';
import { deployAs, echoFunction, functionKey, invoke, makeTenant, type Platform, type Tenant } from './tenants-harness.js';

const EXIT_API = 4;

const h = usePlatform({ poolSize: 2 });
const platform = (): Platform => ({ urls: [h.url], rootToken: h.api.token! });

describe('dependency and log routes per workspace', () => {
  let a: Tenant;
  let b: Tenant;
  const work = mkdtempSync(join(tmpdir(), 'fp-ten-logs-'));
  const configDir = mkdtempSync(join(tmpdir(), 'fp-ten-logs-cfg-'));
  const tails: Tail[] = [];
  const cli = (...args: string[]): Promise<CliResult> => spawnCli(args, { cwd: work, env: { FP_CONFIG_DIR: configDir, HOME: work } });
  const stream = (caller: { token: string }, name: string): Promise<RawStream> =>
    RawStream.open(`${h.url}/api/v1/functions/${name}/logs/stream`, { authorization: `Bearer ${caller.token}` });

  before(async () => {
    a = await makeTenant(platform());
    b = await makeTenant(platform());
    // The same short name in both; one name only B has.
    await deployAs(a.deployer, 'shop', echoFunction('a'));
    await deployAs(b.deployer, 'shop', echoFunction('b'));
    await deployAs(b.deployer, 'only-b', echoFunction('b-only'));
  });
  after(() => {
    for (const t of tails) t.kill();
    rmSync(work, { recursive: true, force: true });
    rmSync(configDir, { recursive: true, force: true });
  });

  it('reads dependencies as viewer, builds them as deployer (audited deps.build); another workspace\'s are 404', async () => {
    assert.deepEqual(await a.viewer.refused('GET', '/functions/only-b/versions/1/deps'), [404, 'FUNCTION_NOT_FOUND']);
    assert.deepEqual(await a.deployer.refused('POST', '/functions/only-b/versions/1/deps', {}), [404, 'FUNCTION_NOT_FOUND']);
    assert.deepEqual(await a.viewer.refused('GET', '/functions/only-b/versions/1'), [404, 'FUNCTION_NOT_FOUND']);
    const read = await b.viewer.expect(200, 'GET', '/functions/only-b/versions/1/deps');
    assert.equal(read.body.deps, null, 'the version declares no dependencies');
    const refused = await b.viewer.call('POST', '/functions/only-b/versions/1/deps', {});
    assert.deepEqual([refused.status, refused.body.error.code, refused.body.error.required], [403, 'ROLE_FORBIDDEN', 'deployer']);
    await b.deployer.expect(200, 'POST', '/functions/only-b/versions/1/deps', {});
    const audit = await b.owner.expect(200, 'GET', '/audit?action=deps.build');
    assert.equal(audit.body.items.length, 1);
    const [entry] = audit.body.items;
    assert.deepEqual([entry.action, entry.target, entry.workspace, entry.detail.version, entry.actor.role], ['deps.build', 'only-b', b.name, 1, 'deployer']);
    assert.deepEqual((await a.owner.expect(200, 'GET', '/audit?action=deps.build')).body.items, []);
  });

  it('keeps stored logs apart: the same short name in two workspaces, another workspace\'s function 404', async () => {
    for (const [ws, name] of [[b.name, 'shop'], [a.name, 'shop'], [b.name, 'only-b']] as const) {
      assert.equal((await invoke(platform(), `/fn/${functionKey(name, ws)}/`)).status, 200);
    }
    await runsWritten(h.url);
    const mine = await a.viewer.expect(200, 'GET', '/functions/shop/logs');
    assert.equal(mine.body.function, 'shop');
    const messages = mine.body.lines.map((l: { msg: string }) => l.msg);
    assert.ok(messages.includes('served by a'), JSON.stringify(messages));
    assert.ok(!messages.includes('served by b'), JSON.stringify(messages));
    assert.deepEqual(await a.viewer.refused('GET', '/functions/only-b/logs'), [404, 'FUNCTION_NOT_FOUND']);
    const theirs = await b.viewer.expect(200, 'GET', '/functions/only-b/logs');
    assert.ok(theirs.body.lines.some((l: { msg: string }) => l.msg === 'served by b-only'));
  });

  it('streams live lines to a viewer of the workspace only, naming the function by its short name', async () => {
    const refused = await stream(a.viewer, 'only-b');
    assert.equal(refused.status, 404);
    assert.equal((JSON.parse(refused.text) as { error: { code: string } }).error.code, 'FUNCTION_NOT_FOUND');

    const live = await stream(a.viewer, 'shop');
    try {
      const ready = await live.waitFor((e) => e.type === 'ready', 'ready');
      assert.equal((JSON.parse(ready.data) as { function: string }).function, 'shop');
      // B's shop first (its lines must never reach A's stream), then A's.
      assert.equal((await invoke(platform(), `/fn/${functionKey('shop', b.name)}/`)).status, 200);
      assert.equal((await invoke(platform(), `/fn/${functionKey('shop', a.name)}/`)).status, 200);
      const event = await live.waitFor((e) => e.type === 'logs' && e.data.includes('served by a'), "A's line");
      assert.equal((JSON.parse(event.data) as { function: string }).function, 'shop');
      const end = await live.waitFor((e) => e.type === 'end', "the end of A's run");
      assert.equal((JSON.parse(end.data) as { function: string }).function, 'shop');
      assert.deepEqual(live.messages(), ['served by a']);
    } finally {
      await live.close();
    }
  });

  it('logs --follow with a workspace token, and with the admin token and --workspace', async () => {
    for (const [token, extra] of [[b.viewer.token, []], [h.api.token!, ['--workspace', b.name]]] as const) {
      const tail = new Tail(h.url, token, ['only-b', '-n', '0', ...extra], { FP_CONFIG_DIR: configDir });
      tails.push(tail);
      await tail.waitFor((e) => e.type === 'ready', 'ready');
      const from = tail.events.length;
      assert.equal((await invoke(platform(), `/fn/${functionKey('only-b', b.name)}/`)).status, 200);
      await tail.line('served by b-only', from);
      assert.equal(await tail.stop(), 0);
    }
    // Stored lines too; and a token of another workspace is told the function does not exist.
    const stored = await cli('logs', 'only-b', '--json', '--url', h.url, '--token', b.viewer.token);
    assert.equal(stored.code, 0, stored.stderr);
    assert.ok((JSON.parse(stored.stdout) as { lines: { msg: string }[] }).lines.some((l) => l.msg === 'served by b-only'));
    const other = await cli('logs', 'only-b', '--url', h.url, '--token', a.viewer.token);
    assert.equal(other.code, EXIT_API);
    assert.match(other.stderr, /FUNCTION_NOT_FOUND/);
  });

  it('env push and pull with a saved workspace profile, and with the admin token and --workspace', async () => {
    const login = await cli('login', h.url, '--token', b.deployer.token, '--profile', 'b-deployer');
    assert.equal(login.code, 0, login.stderr);
    writeFileSync(join(work, '.env'), 'GREETING=from-profile\n');
    const pushed = await cli('env', 'push', 'only-b', '--yes', '--profile', 'b-deployer');
    assert.equal(pushed.code, 0, pushed.stderr);
    const fn = await b.viewer.expect(200, 'GET', '/functions/only-b');
    assert.equal(fn.body.function.env.GREETING, 'from-profile');
    // A's function of the same short name is untouched.
    assert.equal((await a.viewer.expect(200, 'GET', '/functions/shop')).body.function.env.GREETING, undefined);

    const pulled = await cli('env', 'pull', 'only-b', '--file', '-', '--url', h.url, '--token', h.api.token!, '--workspace', b.name);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.match(pulled.stdout, /^GREETING=/m);
    assert.match(pulled.stdout, /from-profile/);
    // A viewer may pull but not push (ROLE_FORBIDDEN); another workspace's token finds nothing.
    writeFileSync(join(work, '.env'), 'GREETING=from-a-viewer\n');
    const byViewer = await cli('env', 'push', 'only-b', '--yes', '--url', h.url, '--token', b.viewer.token);
    assert.equal(byViewer.code, EXIT_API);
    assert.match(byViewer.stderr, /ROLE_FORBIDDEN/);
    const byOther = await cli('env', 'pull', 'only-b', '--file', '-', '--url', h.url, '--token', a.deployer.token);
    assert.equal(byOther.code, EXIT_API);
    assert.match(byOther.stderr, /FUNCTION_NOT_FOUND/);
  });
});
