/**
 * runtime/fp_sandbox/install.py RESERVED is the one list of the paths a box keeps for itself, which
 * a platform may not be installed at (ADR 0112): every mount point the boxes make, wherever it is
 * written (the runtime's box, the dependency builder's binds, the code check's folder, the data
 * sockets), must be in it, or a platform installed there would start and its boxes fail.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { BOX_DATA_DIR } from '../../controlplane/data/index.js';
import { BOX_CA, BOX_SITE, BOX_WHEELS, BOX_WORK } from '../../controlplane/deps/builder.js';
import { BOX_DIR } from '../../controlplane/service/check-zygote.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

/** The quoted paths of `NAME = (...)` in a Python file. */
function pythonTuple(text: string, name: string): string[] {
  const body = new RegExp(`^${name} = \\(([^)]*)\\)`, 'm').exec(text)?.[1];
  assert.ok(body !== undefined, `${name} not found`);
  return [...body.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
}

describe('the paths a box keeps for itself', () => {
  const reserved = pythonTuple(read('runtime/fp_sandbox/install.py'), 'RESERVED');

  it('lists the builder\'s binds, the code check\'s folder and the data sockets\' directory', () => {
    for (const path of [BOX_SITE, BOX_WORK, BOX_WHEELS, BOX_CA, BOX_DIR, BOX_DATA_DIR]) assert.ok(reserved.includes(path), `${path} is not in install.py RESERVED`);
  });

  it('lists the mount points specialize binds (enter.py) and the box root makes (view.py)', () => {
    const enter = read('runtime/fp_sandbox/enter.py');
    for (const name of ['CODE', 'DEPS', 'DATA', 'TEMPLATE']) {
      const path = new RegExp(`^${name} = "([^"]+)"`, 'm').exec(enter)?.[1];
      assert.ok(path !== undefined && reserved.includes(path), `enter.py ${name} (${path}) is not in install.py RESERVED`);
    }
    const view = read('runtime/fp_sandbox/view.py');
    const made = [...view.matchAll(/(?:makedirs|_tmpfs|bind)\([^)]*f"\{root\}(\/[^"/{]+(?:\/[^"{]+)?)"/g)].map((m) => m[1]!);
    assert.ok(made.includes('/code') && made.includes('/proc'), `view.py's mount points not found: ${made.join(' ')}`);
    // /etc, /tmp and /var make room for a platform installed there (view.py); /usr is the host's own.
    const roomy = new Set(['/etc', '/tmp', '/var', '/usr', '/dev/shm']);
    for (const path of made) {
      const covered = reserved.some((r) => path === r || path.startsWith(`${r}/`));
      assert.ok(covered || roomy.has(path), `view.py makes ${path}, which install.py RESERVED does not cover`);
    }
  });
});
