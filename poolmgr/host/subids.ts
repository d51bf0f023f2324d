/**
 * User-namespace mode (the platform not root): the subordinate uid and gid that boxes run as, so
 * that their processes are not the platform's host uid (docs/adr/0141-per-user-kernel-limits-in-user-namespace-mode.md).
 * The kernel counts some resources per host uid, whatever the namespace: one function took every
 * epoll watch of the platform's uid and libuv aborted the platform. With the platform user's first
 * subordinate ids (`/etc/subuid`, `/etc/subgid`, as rootless containers use them) and the setuid
 * `newuidmap` / `newgidmap` (package uidmap), each box maps its uid 1000 to that host uid instead
 * (runtime/fp_sandbox/keeper.py `_unshare_mapped`). Each box maps the whole range, and each function
 * takes one uid of it at specialize (`functionUidRange`), so functions are kept apart from each other
 * as well as from the platform (docs/adr/0146-a-subordinate-uid-per-function.md).
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

/** What the keeper needs to map a box: the host ids and the two setuid programs. */
export interface IdMap {
  uid: number;
  gid: number;
  newuidmap: string;
  newgidmap: string;
  /**
   * How many ids the box maps from `uid` and `gid` (the smaller of the two ranges): inside, 1000 is
   * `uid`, 1001 the dependency builds' (`builderIdMap`), 1002 onwards the functions' (`functionUidRange`).
   */
  count: number;
}

/** Inside a box, the uid that maps to the range's first id (runtime/fp_sandbox/keeper.py INNER_UID). */
export const INNER_UID = 1000;

const TOOL_DIRS = ['/usr/bin', '/bin', '/usr/local/bin'];

/** The first id of `name`'s (or `id`'s) range in a subordinate-id file's text (`name:start:count` lines); null: none. */
export function firstSubordinate(text: string, name: string, id: number): number | null {
  return subordinateRange(text, name, id)?.first ?? null;
}

/** `name`'s (or `id`'s) first range in a subordinate-id file's text: its first id and how many; null: none. */
export function subordinateRange(text: string, name: string, id: number): { first: number; count: number } | null {
  for (const line of text.split('\n')) {
    const [owner, start, count] = line.trim().split(':');
    if (owner !== name && owner !== String(id)) continue;
    const first = Number(start);
    const size = Number(count);
    if (Number.isSafeInteger(first) && first > 0 && Number.isSafeInteger(size) && size >= 1) return { first, count: size };
  }
  return null;
}

/**
 * The dependency builds' map: the range's second uid and gid where it has one (the first is every
 * box's), so that a hostile sdist's build script takes its per-user counters neither from the
 * platform nor from the functions (red team round 19, docs/adr/0147-what-round-17-left-open.md).
 */
export function builderIdMap(map: IdMap | null): IdMap | null {
  if (map === null) return null;
  return map.count >= 2 ? { ...map, uid: map.uid + 1, gid: map.gid + 1, count: 1 } : { ...map, count: 1 };
}

/**
 * The uids inside a box (first and last) from which each function gets one of its own at
 * specialize: the range's third id onwards (its first is the boxes' where the range is too small,
 * its second the builds'). Null for a range of fewer than three: every function then runs as its
 * first id, apart from the platform but not from each other.
 */
export function functionUidRange(map: IdMap | null): [number, number] | null {
  if (map === null || map.count < 3) return null;
  return [INNER_UID + 2, INNER_UID + map.count - 1];
}

/**
 * The platform user's id map, or why there is none (no such ranges, or no newuidmap/newgidmap):
 * read once at start. `etc` is where subuid and subgid are read (tests).
 */
export function platformIdMap(etc = '/etc'): { map: IdMap | null; reason: string } {
  let me: { username: string; uid: number; gid: number };
  try {
    me = userInfo();
  } catch {
    return { map: null, reason: 'no user name for this uid (newuidmap needs one)' };
  }
  const read = (file: string): string => {
    try {
      return readFileSync(`${etc}/${file}`, 'utf8');
    } catch {
      return '';
    }
  };
  const uids = subordinateRange(read('subuid'), me.username, me.uid);
  const gids = subordinateRange(read('subgid'), me.username, me.gid);
  if (uids === null || gids === null) return { map: null, reason: `no subordinate uid and gid for ${me.username} in ${etc}/subuid and ${etc}/subgid` };
  const tool = (name: string): string | null => {
    for (const dir of TOOL_DIRS) {
      try {
        accessSync(`${dir}/${name}`, constants.X_OK);
        return `${dir}/${name}`;
      } catch {
        // next
      }
    }
    return null;
  };
  const newuidmap = tool('newuidmap');
  const newgidmap = tool('newgidmap');
  if (newuidmap === null || newgidmap === null) return { map: null, reason: 'no newuidmap and newgidmap (package uidmap)' };
  return { map: { uid: uids.first, gid: gids.first, newuidmap, newgidmap, count: Math.min(uids.count, gids.count) }, reason: '' };
}
