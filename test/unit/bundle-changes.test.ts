/** What changed between two versions' file lists. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffFiles } from '../../controlplane/bundles/index.js';

const f = (path: string, sha: string) => ({ path, sha256: sha.repeat(64).slice(0, 64), size: 1 });

describe('bundle changes', () => {
  it('makes every file added for a first version', () => {
    assert.deepEqual(diffFiles(null, [f('b.py', 'b'), f('a.py', 'a')]), { added: ['a.py', 'b.py'], modified: [], removed: [] });
  });

  it('sorts added, modified and removed paths', () => {
    const before = [f('main.py', '1'), f('lib/util.py', '2'), f('old.txt', '3'), f('same.py', '4')];
    const after = [f('main.py', '9'), f('lib/util.py', '2'), f('same.py', '4'), f('z.py', '5'), f('new/a.py', '6')];
    assert.deepEqual(diffFiles(before, after), { added: ['new/a.py', 'z.py'], modified: ['main.py'], removed: ['old.txt'] });
  });

  it('reports nothing for identical lists in any order, and everything removed for an empty one', () => {
    const files = [f('a', '1'), f('b', '2')];
    assert.deepEqual(diffFiles(files, [...files].reverse()), { added: [], modified: [], removed: [] });
    assert.deepEqual(diffFiles(files, []), { added: [], modified: [], removed: ['a', 'b'] });
  });

  it('treats a rename as one removal and one addition', () => {
    assert.deepEqual(diffFiles([f('old.py', '1')], [f('new.py', '1')]), { added: ['new.py'], modified: [], removed: ['old.py'] });
  });

  it('counts a file whose executable flag changed as modified (it is deployed with another mode)', () => {
    const plain = f('bin/tool.sh', '1');
    const exec = { ...plain, executable: true };
    assert.deepEqual(diffFiles([plain], [exec]), { added: [], modified: ['bin/tool.sh'], removed: [] });
    assert.deepEqual(diffFiles([exec], [plain]), { added: [], modified: ['bin/tool.sh'], removed: [] });
    assert.deepEqual(diffFiles([exec], [{ ...exec }]), { added: [], modified: [], removed: [] });
  });
});
