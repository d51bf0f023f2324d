/**
 * A first deploy the platform refuses before its function has a version (here: the upload past the
 * workspace's codeBytes quota) takes its create back: no function stays behind holding a slot of the
 * workspace's `functions` quota (docs/adr/0170-a-refused-first-deploy-takes-its-create-back.md). A
 * deployer token, which may not delete, leaves it, and the refusal and `functions` say what to do.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiClient, type ApiFunction } from '../../cli/client.js';
import { deployFolder } from '../../cli/deploy-flow.js';
import { CliError } from '../../cli/errors.js';
import type { Preflight } from '../../cli/preflight.js';
import { parseManifest } from '../../protocol/index.js';
import { jsonOf, spawnCli } from '../helpers/cli-harness.js';
import { errorOf, filesOf, handlerReturning, usePlatform } from './platform-harness.js';

const EXIT = { OK: 0, API: 4 };

describe('cli: a first deploy refused for the codeBytes quota', { timeout: 120_000 }, () => {
  const h = usePlatform({ poolSize: 1 });
  const workspace = `fd-${randomBytes(3).toString('hex')}`;
  let work = '';
  let env: Record<string, string> = {};
  const as = (token: string) => ['--url', h.url, '--token', token];
  const tokenOf = async (role: string): Promise<string> => jsonOf(await spawnCli(['tokens', 'create', '--role', role, '-w', workspace, ...as(h.api.token!), '--json'], { env })).secret as string;
  /** A folder whose main.py alone is past the 4 KiB quota. */
  const bigApp = (name: string): string => {
    const dir = join(work, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'platform.yaml'), `kind: function\nname: ${name}\n`);
    writeFileSync(join(dir, 'main.py'), `# ${'x'.repeat(8000)}\ndef handler(event, context):\n    return 1\n`);
    return dir;
  };
  const functionsUsed = async (): Promise<number> => jsonOf(await spawnCli(['workspaces', 'show', workspace, ...as(h.api.token!), '--json'], { env })).usage.functions.used as number;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'fp-cli-first-'));
    env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work };
    const made = await spawnCli(['workspaces', 'create', workspace, '--functions', '2', '--code-bytes', '4Ki', ...as(h.api.token!)], { env });
    assert.equal(made.code, EXIT.OK, made.stderr);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('an owner token: the refusal says nothing was kept, and the function takes no slot', async () => {
    const owner = await tokenOf('owner');
    const refused = await spawnCli(['deploy', bigApp('big'), ...as(owner)], { env });
    assert.equal(refused.code, EXIT.API, refused.stderr);
    assert.match(refused.stderr, /codeBytes quota/);
    assert.match(refused.stderr, /Nothing was kept: the function "big" this deploy had created was deleted again/);
    assert.equal(await functionsUsed(), 0);
    const listed = await spawnCli(['functions', ...as(owner), '--json'], { env });
    assert.deepEqual(jsonOf(listed).items, []);
  });

  it('a deployer token (may not delete): the function stays, and the refusal and the listing say it holds a slot and who removes it', async () => {
    const deployer = await tokenOf('deployer');
    const refused = await spawnCli(['deploy', bigApp('big2'), ...as(deployer)], { env });
    assert.equal(refused.code, EXIT.API, refused.stderr);
    assert.match(refused.stderr, /The function "big2" was created and is not deployed; it counts in the workspace's functions quota until it is\. Removing it was refused \(ROLE_FORBIDDEN\): deploy again once this is fixed, or an owner removes it with `.*functions delete big2`/);
    assert.equal(await functionsUsed(), 1);
    const listed = await spawnCli(['functions', ...as(deployer)], { env });
    assert.equal(listed.code, EXIT.OK, listed.stderr);
    assert.match(listed.stdout, /^big2\s+not deployed\s+-/m);
    assert.match(listed.stdout, /Not deployed: big2 \(it counts in the workspace's functions quota\): deploy from its folder, or remove with .*functions delete <name>/);
  });

  /**
   * The undo's read (stillAsCreated) and its delete were two requests: what a teammate did to the
   * same name in between was deleted (ADR 0181). `meanwhile` runs right before the undo's delete is
   * sent, on the real platform; the delete is conditional now, so the teammate's function stays.
   */
  const racedUndo = async (name: string, meanwhile: (owner: ApiClient) => Promise<void>): Promise<{ message: string; fn: ApiFunction | null }> => {
    const token = await tokenOf('owner');
    const owner = new ApiClient(h.url, token);
    const client = new ApiClient(h.url, token);
    const real = client.deleteFunction.bind(client);
    client.deleteFunction = async (fn, expect) => {
      await meanwhile(owner);
      return real(fn, expect);
    };
    const raw = { kind: 'function', name };
    const dir = bigApp(name);
    const checked = { dir, ok: true, rawManifest: raw, manifest: parseManifest(raw), files: [{ path: 'main.py', size: statSync(join(dir, 'main.py')).size }] } as unknown as Preflight;
    const err = await deployFolder(client, checked).then(() => assert.fail('the deploy was not refused'), (e: unknown) => e);
    assert.ok(err instanceof CliError, String(err));
    assert.equal(err.code, 'QUOTA_EXCEEDED');
    return { message: err.message, fn: (await owner.getFunction(name))?.function ?? null };
  };
  const upload = (name: string): Promise<unknown> => h.api.call('POST', `/functions/${name}/versions`, { entrypoint: 'main:handler', files: filesOf(handlerReturning('theirs')) }, { 'fp-workspace': workspace });

  it("a teammate's delete and create of the name between the undo's read and its delete: their function stays", async () => {
    const { message, fn } = await racedUndo('race1', async (owner) => {
      await owner.deleteFunction('race1');
      await owner.createFunction({ name: 'race1', env: { OWNER: 'teammate' } });
    });
    await h.api.call('DELETE', '/functions/race1', undefined, { 'fp-workspace': workspace });
    assert.match(message, /The function "race1" this deploy had created was not deleted/);
    assert.equal(fn?.env['OWNER'], 'teammate', "the teammate's function was deleted");
  });

  it("a teammate's version of the name between the undo's read and its delete: kept with it", async () => {
    const { message, fn } = await racedUndo('race2', async () => {
      const made = await upload('race2') as { status: number; body: unknown };
      assert.equal(made.status, 201, JSON.stringify(made.body));
    });
    await h.api.call('DELETE', '/functions/race2', undefined, { 'fp-workspace': workspace });
    assert.match(message, /The function "race2" this deploy had created was not deleted/);
    assert.ok(fn !== null, "the teammate's version was deleted with the function");
  });

  it('DELETE with preconditions: 409 FUNCTION_CHANGED naming what differs, and the function stays; as read, 204', async () => {
    const ws = { 'fp-workspace': workspace };
    const made = await h.api.call('POST', '/functions', { name: 'cond' }, ws);
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const { revision, createdAt } = (made.body as { function: { revision: number; createdAt: number } }).function;
    assert.equal((await h.api.call('PATCH', '/functions/cond', { env: { A: '1' } }, ws)).status, 200);
    const stale = await h.api.call('DELETE', `/functions/cond?ifRevision=${revision}`, undefined, ws);
    assert.equal(stale.status, 409, JSON.stringify(stale.body));
    assert.equal(errorOf(stale).code, 'FUNCTION_CHANGED');
    assert.match(String(errorOf(stale)['message']), /at revision 2, not 1/);
    const other = await h.api.call('DELETE', `/functions/cond?ifCreatedAt=${createdAt - 1}`, undefined, ws);
    assert.equal(errorOf(other).code, 'FUNCTION_CHANGED');
    assert.equal((await upload('cond') as { status: number }).status, 201);
    const versioned = await h.api.call('DELETE', '/functions/cond?ifRevision=2&ifNoVersions=true', undefined, ws);
    assert.equal(errorOf(versioned).code, 'FUNCTION_CHANGED');
    assert.match(String(errorOf(versioned)['message']), /it has a version/);
    assert.equal((await h.api.call('GET', '/functions/cond', undefined, ws)).status, 200, 'a refused conditional delete deleted the function');
    assert.equal((await h.api.call('DELETE', `/functions/cond?ifRevision=2&ifCreatedAt=${createdAt}`, undefined, ws)).status, 204);
    assert.equal((await h.api.call('GET', '/functions/cond', undefined, ws)).status, 404);
  });
});
