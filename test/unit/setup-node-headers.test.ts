/**
 * scripts/setup.sh gives `npm ci` this Node's installed headers (`npm_config_nodedir`) where they are
 * this very version's, so node-gyp compiles better-sqlite3 without downloading them (new-user round
 * 7: a non-root user with no `nodedir` in an .npmrc, on a machine that could not reach the download,
 * got `gyp ERR! … network connectivity` and no platform). scripts/node-headers.mjs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/cli-harness.js';

type Finder = (execPath: string, version: string, env: Record<string, string | undefined>) => string | null;
const SCRIPT = join(ROOT, 'scripts', 'node-headers.mjs');
const { nodeHeadersDir } = (await import(pathToFileURL(SCRIPT).href)) as { nodeHeadersDir: Finder };

describe('setup: the Node headers node-gyp compiles against', () => {
  const prefix = mkdtempSync(join(tmpdir(), 'fp-node-headers-'));
  after(() => rmSync(prefix, { recursive: true, force: true }));
  mkdirSync(join(prefix, 'bin'));
  mkdirSync(join(prefix, 'include', 'node'), { recursive: true });
  writeFileSync(join(prefix, 'include', 'node', 'node_version.h'), '#define NODE_MAJOR_VERSION 20\n#define NODE_MINOR_VERSION 19\n#define NODE_PATCH_VERSION 4\n');
  const node = join(prefix, 'bin', 'node');

  it("names the prefix whose include/node holds this Node version's headers", () => {
    assert.equal(nodeHeadersDir(node, '20.19.4', {}), prefix);
  });

  it('names none for headers of another version, none installed, or a nodedir already given', () => {
    assert.equal(nodeHeadersDir(node, '20.19.5', {}), null);
    assert.equal(nodeHeadersDir(join(tmpdir(), 'nowhere', 'bin', 'node'), '20.19.4', {}), null);
    assert.equal(nodeHeadersDir(node, '20.19.4', { npm_config_nodedir: '/opt/node' }), null);
  });

  it('prints what it found when run, and setup.sh exports it to npm ci', () => {
    const printed = execFileSync(process.execPath, [SCRIPT], { encoding: 'utf8', env: { PATH: process.env.PATH } }).trim();
    assert.equal(printed, nodeHeadersDir(process.execPath, process.versions.node, {}) ?? '');
    const setup = readFileSync(join(ROOT, 'scripts', 'setup.sh'), 'utf8');
    const at = setup.indexOf('export npm_config_nodedir="$nodedir"');
    assert.ok(at > 0 && at < setup.indexOf('npm ci --loglevel'), 'setup.sh sets npm_config_nodedir before npm ci');
  });
});
