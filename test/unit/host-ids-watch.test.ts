/**
 * A running platform told when someone on the host comes to hold its function or builder ids after
 * its start (platform/host-ids.ts `heldNow`, `watchHostIds`; ADR 0164): a user added later with
 * `useradd` gets subordinate ids inside the default range, and running functions cannot move.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../platform/config.js';
import { heldIdsOf, heldNow, watchHostIds, type HeldIds } from '../../platform/host-ids.js';

const root = loadConfig({ FP_SANDBOX: 'root', FP_SECRETS_KEY_FILE: '/nonexistent/key' });
const mallory = heldIdsOf('/etc/subuid', 'sub', 'mallory:558752:65536\n');
const alice = heldIdsOf('/etc/subuid', 'sub', 'alice:100000:65536\n');

describe('ids held after the start', () => {
  it('heldNow names whoever holds the function range or the builder uid now, and nothing else', () => {
    assert.equal(heldNow(root, alice), null);
    const line = heldNow(root, [...alice, ...mallory]);
    assert.ok(line !== null);
    assert.match(line, /^platform: error: function uids 600000-699999 or builder uid 599999 are now also held by mallory's subordinate ids 558752-624287/);
    assert.doesNotMatch(line, /alice/);
  });

  it('watchHostIds logs once per new set of holders, again after they went and came back, and stops', async () => {
    let held: HeldIds[] = alice;
    let reads = 0;
    const lines: string[] = [];
    const stop = watchHostIds(root, (l) => lines.push(l), 5, () => { reads++; return held; });
    const readsPast = async (n: number): Promise<void> => {
      const until = reads + n;
      while (reads < until) await new Promise((r) => setTimeout(r, 5));
    };
    await readsPast(3);
    assert.deepEqual(lines, [], 'nobody holds them');
    held = [...alice, ...mallory];
    await readsPast(4);
    assert.equal(lines.length, 1, 'said once, not at every read');
    held = alice;
    await readsPast(2);
    held = mallory;
    await readsPast(2);
    assert.equal(lines.length, 2, 'said again once they came back');
    stop();
    const after = reads;
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(reads, after, 'no read after the stop');
  });

  it('does nothing outside root mode', async () => {
    const userns = loadConfig({ FP_SANDBOX: 'userns', FP_SECRETS_KEY_FILE: '/nonexistent/key' });
    let reads = 0;
    const stop = watchHostIds(userns, () => {}, 5, () => { reads++; return mallory; });
    await new Promise((r) => setTimeout(r, 40));
    stop();
    assert.equal(reads, 0);
  });
});
