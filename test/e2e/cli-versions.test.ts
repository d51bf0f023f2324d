/**
 * `versions` as a user runs it (docs/cli.md; docs/adr/0098-deleting-versions.md), each a separate
 * `node bin/fastapi-platform.js` process against a real embedded platform keeping 2 versions
 * (FP_KEEP_VERSIONS): a deploy says which versions retention deleted, `versions` lists those kept,
 * `versions delete` refuses the active one (VERSION_ACTIVE, exit 4), asks without --yes, and
 * deletes with it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jsonOf as json, spawnCli, type CliResult } from '../helpers/cli-harness.js';
import { createFunction, fnName, handlerReturning, py, upload, usePlatform } from './platform-harness.js';

const EXIT = { OK: 0, USAGE: 2, API: 4 };

describe('cli: versions list and delete, retention on deploy', { timeout: 120_000 }, () => {
  const h = usePlatform({ poolSize: 1, keepVersions: 2 });
  const name = fnName('cliv');
  let work = '';
  let env: Record<string, string> = {};
  const cli = (argv: string[]): Promise<CliResult> => spawnCli([...argv, '--url', h.url, '--token', h.api.token!], { env });

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'fp-cli-versions-'));
    env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work };
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('a deploy past FP_KEEP_VERSIONS says which versions it deleted; versions lists those kept', async () => {
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'platform.yaml'), `kind: function\nname: ${name}\n`);
    for (const n of [1, 2, 3]) {
      writeFileSync(join(app, 'main.py'), `def handler(event, context):\n    return {"n": ${n}}\n`);
      const deployed = await cli(['deploy', app]);
      assert.equal(deployed.code, EXIT.OK, deployed.stdout + deployed.stderr);
      if (n === 3) assert.match(deployed.stdout, /Deleted older version 1 \(the platform keeps the last FP_KEEP_VERSIONS/);
      else assert.doesNotMatch(deployed.stdout, /Deleted older version/);
    }
    const listed = await cli(['versions', name, '--json']);
    assert.equal(listed.code, EXIT.OK, listed.stderr);
    assert.deepEqual(json(listed).items.map((v: { version: number }) => v.version), [3, 2]);
    assert.equal(json(listed).activeVersion, 3);
    const table = await cli(['versions', 'list', name]);
    assert.match(table.stdout, /^3\s+active\s/m);
  });

  it('versions says which version did not start at its last deploy, with the code and message (ADR 0252)', async () => {
    const other = fnName('clis');
    await createFunction(h.api, other);
    const good = await upload(h.api, other, handlerReturning('one'));
    assert.equal((await h.api.call('POST', `/functions/${other}/deploy`, { version: good })).status, 200);
    const broken = await upload(h.api, other, { 'main.py': py('import not_a_module_here', 'def handler(event, context):', '    return 2') });
    assert.equal((await h.api.call('POST', `/functions/${other}/deploy`, { version: broken })).status, 422);
    const table = await cli(['versions', other]);
    assert.equal(table.code, EXIT.OK, table.stderr);
    assert.match(table.stdout, /^VERSION\s+STARTED\s+CREATED/m);
    assert.match(table.stdout, new RegExp(`^${broken}\\s+failed DEPLOY_START_FAILED\\s`, 'm'));
    assert.match(table.stdout, new RegExp(`^${good}\\s+active\\s+ok\\s`, 'm'));
    assert.match(table.stdout, new RegExp(`^Version ${broken} did not start at its last deploy \\(DEPLOY_START_FAILED, .* UTC\\): version ${broken} did not start: ModuleNotFoundError`, 'm'));
    // functions show's versions say the same.
    const shown = await cli(['functions', 'show', other]);
    assert.match(shown.stdout, new RegExp(`^\\s+${broken}\\s+failed DEPLOY_START_FAILED\\s`, 'm'));
    assert.match(shown.stdout, new RegExp(`^\\s+${good}\\s+active\\s+ok\\s`, 'm'));
    const listed = json(await cli(['versions', other, '--json']));
    assert.equal(listed.items[0].startCheck.code, 'DEPLOY_START_FAILED');
  });

  it('versions delete refuses the active version, asks without --yes, deletes with it', async () => {
    const active = await cli(['versions', 'delete', name, '3', '--yes', '--json']);
    assert.equal(active.code, EXIT.API, active.stdout + active.stderr);
    assert.equal(json(active).error.code, 'VERSION_ACTIVE');
    // Refused before the question (new-user round 3: the active version was asked about, then refused).
    const activeUnasked = await cli(['versions', 'delete', name, '3']);
    assert.equal(activeUnasked.code, EXIT.API, activeUnasked.stderr);
    assert.match(activeUnasked.stderr, /version 3 is the one .* serves: deploy or roll back to another first .*nothing was deleted \[VERSION_ACTIVE\]/);
    assert.doesNotMatch(activeUnasked.stderr, /pass --yes/);
    const unknown = await cli(['versions', 'delete', `${name}-none`, '1']);
    assert.match(unknown.stderr, /\[FUNCTION_NOT_FOUND\]/);
    assert.doesNotMatch(unknown.stderr, /pass --yes/);
    const unasked = await cli(['versions', 'delete', name, '2']);
    assert.notEqual(unasked.code, EXIT.OK);
    assert.match(unasked.stderr, /pass --yes/);
    const bad = await cli(['versions', 'delete', name, 'two', '--yes']);
    assert.equal(bad.code, EXIT.USAGE);
    const deleted = await cli(['versions', 'delete', name, '2', '--yes', '--json']);
    assert.equal(deleted.code, EXIT.OK, deleted.stdout + deleted.stderr);
    assert.deepEqual(json(deleted).deleted, [2]);
    assert.deepEqual(json(await cli(['versions', name, '--json'])).items.map((v: { version: number }) => v.version), [3]);
    const rollback = await cli(['rollback', name, '--json']);
    assert.equal(json(rollback).error.code, 'NO_PREVIOUS_VERSION');
  });

  it('--help names the command, its refusals and retention', async () => {
    const help = await spawnCli(['versions', '--help'], { env });
    assert.equal(help.code, EXIT.OK);
    assert.match(help.stdout, /versions delete <name> <version>/);
    assert.match(help.stdout, /VERSION_ACTIVE/);
    assert.match(help.stdout, /FP_KEEP_VERSIONS/);
    const top = await spawnCli(['--help'], { env });
    assert.match(top.stdout, /^\s+versions\s+list a function's versions/m);
  });
});
