/**
 * A start whose active version's dependencies cannot be installed (the index out of reach after the
 * FP_DEPS_* settings changed, so every requirements.txt is resolved again): the function is not
 * served, and the log says why in those words. It said "cannot write shop version 1 to disk (the
 * package index could not be reached …); not serving it until it is deployed again", sending the
 * operator to the disk, though the next start with the index in reach serves it (new-user round 4).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadFunctions } from '../../controlplane/service/startup.js';
import { PlatformError } from '../../protocol/index.js';

describe('a start that cannot install an active version\'s dependencies', () => {
  it('serves the others and says the dependencies, not the disk, are why', async () => {
    const functions = [{ name: 'shop', activeVersion: 1 }, { name: 'hello', activeVersion: 1 }];
    const store = {
      functions: { list: async () => functions },
      versions: { get: async (name: string, version: number) => ({ function: name, version, entrypoint: 'main:handler', manifest: {} }) },
    };
    const served = new Map<string, number | null>();
    const registry = { set: (record: { name: string; activeVersion: number | null }) => served.set(record.name, record.activeVersion) };
    const code = {
      prune: async () => {},
      ensure: async (version: { function: string }) => {
        if (version.function === 'shop') throw new PlatformError('DEPS_INDEX_UNREACHABLE', 'the package index could not be reached: ProxyError');
      },
    };
    const lines: string[] = [];
    const count = await loadFunctions(store as never, registry as never, code as never, (line) => lines.push(line));
    assert.equal(count, 2);
    assert.equal(served.get('hello'), 1);
    assert.equal(served.get('shop'), null);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /^controlplane: not serving shop version 1: its dependencies could not be installed \(DEPS_INDEX_UNREACHABLE: the package index could not be reached: ProxyError\); a start does not build a failed one again: `deploy --force` in its folder builds and serves a new version$/);
    assert.doesNotMatch(lines[0]!, /to disk/);
  });
});

/**
 * Red team round 33: a package's build (sdists allowed) writes what it likes into pip's output, and
 * so into the build's error message: this one is pip's own message (runtime/fp_deps/build.py
 * pip_message) for an sdist whose setup.py printed a terminal title sequence, a line erase, a
 * carriage return and a line posing as the platform's. The start logged the whole message: a
 * forged `controlplane:` line in the text log, and the escapes in the operator's terminal.
 */
const HOSTILE_BUILD_MESSAGE = '  × Preparing metadata (pyproject.toml) did not run successfully.\n  │ exit code: 1\n  ╰─> [2 lines of output]\n      ERROR: \x1b]0;pwned\x07\x1b[2K\r\ncontrolplane: admin token rotated: fp_admin_FAKE\n\t[end of output]\nerror: metadata-generation-failed';

describe('a start whose dependency build said something hostile (red team round 33)', () => {
  for (const code of ['DEPS_BUILD_FAILED', 'INTERNAL_ERROR'] as const) {
    it(`logs one line with the build's words escaped (${code})`, async () => {
      const store = {
        functions: { list: async () => [{ name: 'shop', activeVersion: 1 }] },
        versions: { get: async (name: string, version: number) => ({ function: name, version, entrypoint: 'main:handler', manifest: {} }) },
      };
      const registry = { set: () => {} };
      const code_ = { prune: async () => {}, ensure: async () => { throw new PlatformError(code, HOSTILE_BUILD_MESSAGE); } };
      const lines: string[] = [];
      await loadFunctions(store as never, registry as never, code_ as never, (line) => lines.push(line));
      assert.equal(lines.length, 1);
      const line = lines[0]!;
      assert.doesNotMatch(line, /[\n\r\t\x07\x1b]/, JSON.stringify(line));
      assert.match(line, /ERROR: \\x1b\]0;pwned\\x07\\x1b\[2K\\x0d controlplane: admin token rotated/);
      assert.match(line, /^controlplane: (not serving shop version 1|cannot write shop version 1)/);
    });
  }
});
