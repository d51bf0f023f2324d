/**
 * User-namespace mode (the platform not root): the subordinate uid and gid that boxes run as, so
 * that their processes are not the platform's host uid (docs/adr/0141-per-user-kernel-limits-in-user-namespace-mode.md).
 * The kernel counts some resources per host uid, whatever the namespace: one function took every
 * epoll watch of the platform's uid and libuv aborted the platform. With the platform user's first
 * subordinate ids (`/etc/subuid`, `/etc/subgid`, as rootless containers use them) and the setuid
 * `newuidmap` / `newgidmap` (package uidmap), each box maps its uid 1000 to that host uid instead
 * (runtime/fp_sandbox/keeper.py `_unshare_mapped`). Every box shares it: functions are kept apart
 * from the platform this way, not from each other.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

/** What the keeper needs to map a box: the host ids and the two setuid programs. */
export interface IdMap {
  uid: number;
  gid: number;
  newuidmap: string;
  newgidmap: string;
}

const TOOL_DIRS = ['/usr/bin', '/bin', '/usr/local/bin'];

/** The first id of `name`'s (or `id`'s) range in a subordinate-id file's text (`name:start:count` lines); null: none. */
export function firstSubordinate(text: string, name: string, id: number): number | null {
  for (const line of text.split('\n')) {
    const [owner, start, count] = line.trim().split(':');
    if (owner !== name && owner !== String(id)) continue;
    const first = Number(start);
    if (Number.isSafeInteger(first) && first > 0 && Number(count) >= 1) return first;
  }
  return null;
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
  const uid = firstSubordinate(read('subuid'), me.username, me.uid);
  const gid = firstSubordinate(read('subgid'), me.username, me.gid);
  if (uid === null || gid === null) return { map: null, reason: `no subordinate uid and gid for ${me.username} in ${etc}/subuid and ${etc}/subgid` };
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
  return { map: { uid, gid, newuidmap, newgidmap }, reason: '' };
}
