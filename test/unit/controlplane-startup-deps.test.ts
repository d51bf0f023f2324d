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
