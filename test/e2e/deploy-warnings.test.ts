/**
 * A deploy through the API hears the warnings `validate` gives (new-user round 10): `POST
 * …/versions` answers the warnings `POST /validate` finds in the same files (one rule,
 * controlplane/service/version-warnings.ts), a cron step past its range and an undeclared
 * third-party import among them; before, only the CLI's own preflight said them, and the console,
 * a script or CI calling the API heard nothing. The CLI's deploy says each warning once, its
 * preflight's and the platform's together.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jsonOf, spawnCli } from '../helpers/cli-harness.js';
import { createFunction, filesOf, fnName, py, usePlatform } from './platform-harness.js';

const h = usePlatform({ poolSize: 1 });

const CODE = py('import requests', '', 'def handler(event, context):', '    return {"ok": True}');
const manifestOf = (name: string): string => `kind: function\nname: ${name}\ninvocation: async\ntriggers:\n  - type: cron\n    schedule: "*/90 * * * *"\n`;

describe('deploy warnings: the API\'s upload answers what POST /validate finds', { timeout: 120_000 }, () => {
  let work = '';
  before(() => { work = mkdtempSync(join(tmpdir(), 'fp-deploy-warn-')); });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('an upload answers the warnings of POST /validate for the same files; a clean one answers none', async () => {
    const name = fnName('warn');
    await createFunction(h.api, name, { invocation: 'async' });
    const files = { 'main.py': CODE, 'platform.yaml': manifestOf(name) };
    const checked = await h.api.call('POST', '/validate', { files: Object.entries(files).map(([path, content]) => ({ path, content })) });
    assert.equal(checked.status, 200);
    assert.equal(checked.body.warnings.length, 2, JSON.stringify(checked.body.warnings));
    const up = await h.api.call('POST', `/functions/${name}/versions`, { entrypoint: 'main:handler', manifest: null, files: filesOf(files) });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    // Before: no `warnings` in the answer at all.
    assert.deepEqual(up.body.warnings, checked.body.warnings);
    assert.deepEqual(up.body.warnings.map((w: { kind: string; file: string }) => [w.kind, w.file]), [['python', 'main.py'], ['manifest', 'platform.yaml']]);

    const clean = await h.api.call('POST', `/functions/${name}/versions`, { entrypoint: 'main:handler', files: filesOf({ 'main.py': py('def handler(event, context):', '    return 1') }) });
    assert.equal(clean.status, 201);
    assert.deepEqual(clean.body.warnings, []);
  });

  it('the check at upload never runs the code it checks', async () => {
    const name = fnName('warnrun');
    await createFunction(h.api, name);
    const marker = join(work, 'ran');
    const up = await h.api.call('POST', `/functions/${name}/versions`, { entrypoint: 'main:handler', files: filesOf({ 'main.py': py(`open(${JSON.stringify(marker)}, "w").write("ran")`, 'def handler(event, context):', '    return 1') }) });
    assert.equal(up.status, 201);
    assert.deepEqual(up.body.warnings, []);
    assert.equal(existsSync(marker), false);
  });

  it('the CLI\'s deploy says each warning once, and --json holds the platform\'s', async () => {
    const name = fnName('warncli');
    const dir = join(work, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'main.py'), CODE);
    writeFileSync(join(dir, 'platform.yaml'), manifestOf(name));
    const env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work };
    const as = ['--url', h.url, '--token', h.api.token!];
    const first = await spawnCli(['deploy', dir, ...as], { env, timeoutMs: 60_000 });
    assert.equal(first.code, 0, first.stderr);
    const said = (re: RegExp): number => first.stderr.split('\n').filter((l) => re.test(l)).length;
    // Said by the preflight; the platform's same warnings are not said again.
    assert.equal(said(/^warning: main\.py:1: imports 'requests'/), 1, first.stderr);
    assert.equal(said(/^warning: platform\.yaml: triggers\.0\.schedule: "\*\/90"/), 1, first.stderr);

    writeFileSync(join(dir, 'main.py'), `${CODE}# changed\n`);
    const second = jsonOf(await spawnCli(['deploy', dir, ...as, '--json'], { env, timeoutMs: 60_000 }));
    assert.deepEqual(second.platformWarnings.map((w: { file: string; line: number | null }) => [w.file, w.line]), [['main.py', 1], ['platform.yaml', null]]);
  });
});
