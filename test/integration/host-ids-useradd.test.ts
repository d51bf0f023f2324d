/**
 * Red team round 28: the start moved the default function uids (ADR 0160) to the lowest range past
 * the ids the host's users held, which is where `useradd` gives its next user's subordinate ids: it
 * gives each new user the lowest free range from SUB_UID_MIN up to SUB_UID_MAX (/etc/login.defs).
 * With Debian's eight users the functions moved to 624288-724287 and the builder to 724288; the
 * ninth user `useradd` made after the start got 624288-689823 and the tenth 689824-755359: each
 * could signal the instances and builds on those uids, as the eighth could before the move. Moved
 * ranges now start past SUB_UID_MAX and SUB_GID_MAX (ADR 0164).
 *
 * Real `useradd` (shadow) on a copy of the host's account files (`--prefix`): the host's own are
 * never touched. Root only.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseOptions } from '../../platform/config.js';
import { heldIdsOf, hostHeldIds, hostSubordinateMax, idsNoOneHolds } from '../../platform/host-ids.js';

const root = mkdtempSync(join(tmpdir(), 'fp-useradd-'));
after(() => rmSync(root, { recursive: true, force: true }));

function skipReason(): string | false {
  if (process.geteuid?.() !== 0) return 'useradd --prefix needs root';
  try {
    execFileSync('useradd', ['--help'], { stdio: 'ignore' });
  } catch {
    return 'no useradd here';
  }
  return false;
}

/** `useradd --prefix root name`; returns the subordinate uid range it gave, as [first, last]. */
function useradd(name: string): [number, number] {
  execFileSync('useradd', ['--prefix', root, name], { stdio: 'ignore' });
  const held = heldIdsOf('/etc/subuid', 'sub', readFileSync(join(root, 'etc', 'subuid'), 'utf8')).find((h) => h.name === name);
  assert.ok(held !== undefined, `useradd gave ${name} no subordinate ids`);
  return [held.first, held.last];
}

describe('ids moved at start are not the ones useradd gives next (red team round 28)', { skip: skipReason() }, () => {
  it('with eight users, neither the functions\' range nor the builder uid is given to the users made after the start', () => {
    mkdirSync(join(root, 'etc'));
    for (const file of ['passwd', 'group', 'shadow', 'gshadow', 'login.defs']) copyFileSync(join('/etc', file), join(root, 'etc', file));
    // Shadow's defaults, whatever this host's login.defs says of subordinate ids.
    const defs = readFileSync(join(root, 'etc', 'login.defs'), 'utf8').replace(/^[ \t]*SUB_[UG]ID_(MIN|MAX|COUNT)\b.*$/gm, '');
    writeFileSync(join(root, 'etc', 'login.defs'), `${defs}\nSUB_UID_MIN 100000\nSUB_UID_MAX 600100000\nSUB_UID_COUNT 65536\nSUB_GID_MIN 100000\nSUB_GID_MAX 600100000\nSUB_GID_COUNT 65536\n`);
    writeFileSync(join(root, 'etc', 'subuid'), '');
    writeFileSync(join(root, 'etc', 'subgid'), '');
    for (let i = 1; i <= 8; i++) useradd(`fpu${i}`);
    const files = (['subuid', 'subgid', 'passwd', 'group'] as const).map((f) => [join(root, 'etc', f), f.startsWith('sub') ? 'sub' : 'account'] as const);
    const logs: string[] = [];
    const config = idsNoOneHolds(parseOptions({ sandbox: 'root' }), (line) => logs.push(line), hostHeldIds(files), hostSubordinateMax(join(root, 'etc', 'login.defs')));
    assert.match(logs.join('\n'), /meet ids of other users of this host/, 'the eighth user holds part of the default range: the start moves it');
    const [first, last] = config.sandboxUids.split('-').map(Number) as [number, number];
    for (const name of ['fpu9', 'fpu10', 'fpu11']) {
      const [a, b] = useradd(name);
      assert.ok(b < first || a > last, `${name}, made after the start, got ${a}-${b}: inside the functions' ${first}-${last}`);
      assert.ok(config.depsBuilderUid < a || config.depsBuilderUid > b, `${name}, made after the start, got ${a}-${b}: the builder's uid ${config.depsBuilderUid}`);
    }
  });
});
