/**
 * The subordinate ids a non-root platform's boxes run as (poolmgr/host/subids.ts, red team round
 * 17: docs/adr/0141-per-user-kernel-limits-in-user-namespace-mode.md): the platform user's first
 * range in /etc/subuid and /etc/subgid, by name or by uid, as newuidmap reads them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { builderIdMap, firstSubordinate, functionUidRange, platformIdMap, subordinateRange } from '../../poolmgr/host/subids.js';

describe('subordinate ids (user-namespace mode)', () => {
  it('takes the first range of the user, named or by uid; none for another user or a malformed line', () => {
    const text = 'alice:100000:65536\n# comment\nbob:x:1\n1001:300000:65536\nbob:200000:65536\nbob:400000:65536\n';
    assert.equal(firstSubordinate(text, 'alice', 1000), 100000);
    assert.equal(firstSubordinate(text, 'bob', 1002), 200000, 'a malformed line is skipped');
    assert.equal(firstSubordinate(text, 'carol', 1001), 300000, 'by uid');
    assert.equal(firstSubordinate(text, 'dave', 1003), null);
    assert.equal(firstSubordinate('eve:0:65536\neve:500000:0\n', 'eve', 5), null, 'never uid 0, never an empty range');
  });

  it('reads both files; says why when the user has no range', () => {
    const etc = mkdtempSync(join(tmpdir(), 'fp-subids-'));
    try {
      const me = userInfo();
      writeFileSync(join(etc, 'subuid'), `${me.username}:700000:65536\n`);
      assert.match(platformIdMap(etc).reason, /no subordinate uid and gid/, 'no subgid: no map');
      writeFileSync(join(etc, 'subgid'), `${me.uid === 0 ? 'root' : me.username}:800000:65536\n`);
      const found = platformIdMap(etc);
      if (found.map === null) assert.match(found.reason, /newuidmap/);
      else assert.deepEqual([found.map.uid, found.map.gid], [700000, 800000]);
    } finally {
      rmSync(etc, { recursive: true, force: true });
    }
  });

  it('gives dependency builds the range\'s second id where it has one (ADR 0147), else the first', () => {
    assert.deepEqual(subordinateRange('fp:165536:65536\n', 'fp', 1000), { first: 165536, count: 65536 });
    const map = { uid: 165536, gid: 200000, newuidmap: '/usr/bin/newuidmap', newgidmap: '/usr/bin/newgidmap', count: 65536 };
    // The build's box maps that one id only: none of the functions' (ADR 0146).
    assert.deepEqual(builderIdMap(map), { ...map, uid: 165537, gid: 200001, count: 1 });
    assert.deepEqual(builderIdMap({ ...map, count: 1 }), { ...map, count: 1 });
    assert.equal(builderIdMap(null), null);
  });

  it('gives functions the inner uids from the range\'s third id on, one each (ADR 0146); none below three ids', () => {
    const map = { uid: 165536, gid: 200000, newuidmap: '/usr/bin/newuidmap', newgidmap: '/usr/bin/newgidmap', count: 65536 };
    assert.deepEqual(functionUidRange(map), [1002, 66535]);
    assert.deepEqual(functionUidRange({ ...map, count: 3 }), [1002, 1002]);
    assert.equal(functionUidRange({ ...map, count: 2 }), null);
    assert.equal(functionUidRange(null), null);
  });
});
