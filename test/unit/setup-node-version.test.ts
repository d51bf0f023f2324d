/**
 * scripts/setup.sh (and so `npm start`) refuses a Node.js older than package.json's `engines.node`
 * first, naming the version and how to get a newer one: npm ci only warns (EBADENGINE), and on
 * Debian 12, whose own nodejs is 18, the install went on to fail later without naming it
 * (new-user round 7). scripts/node-version.mjs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/cli-harness.js';

const { nodeTooOld } = (await import(pathToFileURL(join(ROOT, 'scripts', 'node-version.mjs')).href)) as { nodeTooOld: (version: string, range: string) => string | null };

describe('setup: the Node.js version', () => {
  it('names an older version, the range and where a newer one comes from', () => {
    const why = nodeTooOld('18.19.0', '>=20.19');
    assert.ok(why !== null);
    assert.match(why, /this is Node\.js 18\.19\.0; fastapi-platform needs Node\.js >=20\.19/);
    assert.match(why, /install Node\.js 20\.19\.0 or later/);
    assert.match(nodeTooOld('20.18.3', '>=20.19') ?? '', /20\.18\.3/);
  });

  it('takes the range and anything newer', () => {
    for (const v of ['20.19.0', '20.20.2', 'v20.19.1', '22.1.0', '24.0.0']) assert.equal(nodeTooOld(v, '>=20.19'), null, v);
  });

  it("stops setup.sh before it installs anything, on a Node older than package.json's engines", () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-setup-node-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'scripts'));
    mkdirSync(join(dir, 'bin'));
    for (const file of ['setup.sh', 'node-version.mjs', 'node-headers.mjs']) copyFileSync(join(ROOT, 'scripts', file), join(dir, 'scripts', file));
    copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    // A Node that says it is 18.19.0, and an npm and python3 that only say they ran.
    writeFileSync(join(dir, 'old.cjs'), "Object.defineProperty(process.versions, 'node', { value: '18.19.0' });\n");
    writeFileSync(join(dir, 'bin', 'node'), `#!/bin/sh\nexec '${process.execPath}' --require '${join(dir, 'old.cjs')}' "$@"\n`);
    for (const tool of ['npm', 'python3']) writeFileSync(join(dir, 'bin', tool), `#!/bin/sh\necho "${tool} ran" >&2\nexit 1\n`);
    for (const tool of ['node', 'npm', 'python3']) chmodSync(join(dir, 'bin', tool), 0o755);
    const run = spawnSync('bash', ['scripts/setup.sh', '--start'], { cwd: dir, encoding: 'utf8', env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, HOME: dir } });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /^setup: this is Node\.js 18\.19\.0; fastapi-platform needs Node\.js >=20\.19/m, run.stderr);
    assert.doesNotMatch(`${run.stdout}${run.stderr}`, /installing|npm ran|python3 ran/);
    assert.equal(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node, '>=20.19', 'the range this test spells');
  });
});
