/**
 * A first deploy the platform refuses before its function has a version (here: the upload past the
 * workspace's codeBytes quota) takes its create back: no function stays behind holding a slot of the
 * workspace's `functions` quota (docs/adr/0170-a-refused-first-deploy-takes-its-create-back.md). A
 * deployer token, which may not delete, leaves it, and the refusal and `functions` say what to do.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jsonOf, spawnCli } from '../helpers/cli-harness.js';
import { usePlatform } from './platform-harness.js';

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
});
