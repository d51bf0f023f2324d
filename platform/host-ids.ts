/**
 * Root mode gives every function a uid (and the same gid) of `FP_SANDBOX_UIDS`, and dependency
 * builds `FP_DEPS_BUILDER_UID` (docs/security.md, "What a function sees"; ADR 0160). Those ids must
 * be no one else's on the host: a local user whose subordinate ids (`/etc/subuid`, `/etc/subgid`:
 * rootless containers, `unshare --map-users`) or account holds one runs processes as it, and the
 * kernel lets a process signal any other of its uid: it killed or stopped every instance of the
 * function given that uid, whatever its workspace, and counted in its per-uid limits (red team round
 * 27: Debian's `useradd` gives its eighth user 558752-624287, inside the default 600000-699999).
 * Checked once at start (`idsNoOneHolds`): ids the operator set are refused with BAD_CONFIG naming
 * the holders and a range no one holds; the defaults, which a new user never chose, are moved there
 * instead, and the start says so (the quickstart must start on a host with many users).
 */
import { readFileSync } from 'node:fs';
import { resolveSandbox } from '../poolmgr/index.js';
import { PlatformError } from '../protocol/index.js';
import { DEFAULT_DEPS_BUILDER_UID, DEFAULT_SANDBOX_UIDS, type PlatformConfig } from './config.js';

/** An id range someone on the host holds, and where it was read. */
export interface HeldIds {
  file: string;
  name: string;
  first: number;
  last: number;
}

/** The files read, as [path, kind]: a subordinate-id file (`name:first:count`) or an account file (`name:x:id:…`). */
export const HOST_ID_FILES: readonly (readonly [string, 'sub' | 'account'])[] = [
  ['/etc/subuid', 'sub'],
  ['/etc/subgid', 'sub'],
  ['/etc/passwd', 'account'],
  ['/etc/group', 'account'],
];

/** The ranges of `text` (one file's), by its kind; malformed lines are skipped. */
export function heldIdsOf(file: string, kind: 'sub' | 'account', text: string): HeldIds[] {
  const out: HeldIds[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(':');
    if (fields.length < 3 || fields[0] === '' || fields[0]!.startsWith('#')) continue;
    const first = Number(kind === 'sub' ? fields[1] : fields[2]);
    const count = kind === 'sub' ? Number(fields[2]) : 1;
    if (!Number.isSafeInteger(first) || first < 0 || !Number.isSafeInteger(count) || count < 1) continue;
    out.push({ file, name: fields[0]!, first, last: first + count - 1 });
  }
  return out;
}

/** Every range the host's account and subordinate-id files hold (a missing or unreadable file holds none). */
export function hostHeldIds(files: readonly (readonly [string, 'sub' | 'account'])[] = HOST_ID_FILES): HeldIds[] {
  return files.flatMap(([file, kind]) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return [];
    }
    return heldIdsOf(file, kind, text);
  });
}

/** Where `useradd` stops giving subordinate ids when /etc/login.defs does not say (shadow's SUB_UID_MAX and SUB_GID_MAX). */
export const DEFAULT_SUBORDINATE_MAX = 600_100_000;

/**
 * The highest id `useradd` gives as a subordinate id, from /etc/login.defs' text (SUB_UID_MAX,
 * SUB_GID_MAX; shadow's default where it says nothing). It gives each new user the lowest free
 * range from SUB_UID_MIN up: a range moved to the lowest free ids past the holders (the next ones
 * free) was exactly the next user's (red team round 28: Debian's eighth user held 558752-624287, the
 * start moved the functions to 624288-724287 and the builder to 724288, and the ninth and tenth users
 * `useradd` made after it got 624288-689823 and 689824-755359).
 */
export function subordinateMax(loginDefs: string | null): number {
  let max = -1;
  for (const key of ['SUB_UID_MAX', 'SUB_GID_MAX']) {
    const m = loginDefs === null ? null : new RegExp(`^[ \\t]*${key}[ \\t]+(\\d+)[ \\t]*$`, 'm').exec(loginDefs);
    const value = m === null ? DEFAULT_SUBORDINATE_MAX : Number(m[1]);
    max = Math.max(max, Number.isSafeInteger(value) ? value : DEFAULT_SUBORDINATE_MAX);
  }
  return max;
}

/** subordinateMax of this host's /etc/login.defs. */
export function hostSubordinateMax(path = '/etc/login.defs'): number {
  try {
    return subordinateMax(readFileSync(path, 'utf8'));
  } catch {
    return subordinateMax(null);
  }
}

/**
 * The lowest range of `size` ids no one holds above the ids `useradd` gives (`ceiling`:
 * subordinateMax), so a user made after the start does not get them; from `from` up when there is
 * none there (a ceiling near the top of the id space).
 */
export function freeRangeUnallocated(held: readonly HeldIds[], from: number, size: number, ceiling: number, avoid: readonly number[] = []): [number, number] | null {
  return freeRange(held, Math.max(from, ceiling + 1), size, avoid) ?? freeRange(held, from, size, avoid);
}

/** The lowest range of `size` ids from `from` up that none of `held` meets; null: none below 2^32 - 1. */
export function freeRange(held: readonly HeldIds[], from: number, size: number, avoid: readonly number[] = []): [number, number] | null {
  let first = from;
  for (;;) {
    const last = first + size - 1;
    if (last > 4_294_967_294) return null;
    const met = held.find((h) => h.first <= last && h.last >= first);
    const id = avoid.find((a) => a >= first && a <= last);
    if (met === undefined && id === undefined) return [first, last];
    first = Math.max(met !== undefined ? met.last + 1 : first, id !== undefined ? id + 1 : first);
  }
}

/** The holders of one kind, each named once (a user's subuid and subgid ranges are usually the same). */
function describe(held: readonly HeldIds[]): string {
  const byHolder = new Map<string, string[]>();
  for (const h of held) {
    const ids = h.first === h.last ? `${h.first}` : `${h.first}-${h.last}`;
    const account = h.file.endsWith('/passwd') || h.file.endsWith('/group');
    const who = account ? `${h.name} (id ${ids}` : `${h.name}'s subordinate ids ${ids} (`;
    byHolder.set(who, [...(byHolder.get(who) ?? []), h.file]);
  }
  const named = [...byHolder].map(([who, files]) => `${who}${who.endsWith('(') ? '' : ', '}${files.join(', ')})`);
  return named.slice(0, 5).join('; ') + (named.length > 5 ? `; and ${named.length - 5} more` : '');
}

/**
 * BAD_CONFIG when the function uid range or the builder uid is held by anyone on the host (above);
 * nothing otherwise. `held`: the host's ranges (hostHeldIds).
 */
export function checkIdsUnheld(uids: readonly [number, number], builderUid: number, held: readonly HeldIds[], ceiling = hostSubordinateMax()): void {
  const [first, last] = uids;
  const inRange = held.filter((h) => h.first <= last && h.last >= first);
  const onBuilder = held.filter((h) => h.first <= builderUid && h.last >= builderUid);
  if (inRange.length === 0 && onBuilder.length === 0) return;
  // Suggestions that fit together: the functions' range first, the builder's uid past it.
  const fns = inRange.length > 0 ? freeRangeUnallocated(held, first, last - first + 1, ceiling, onBuilder.length > 0 ? [] : [builderUid]) : [first, last] as [number, number];
  const builder = onBuilder.length > 0 ? freeRangeUnallocated(held, (fns ?? uids)[1] + 1, 1, ceiling) : null;
  const problems: string[] = [];
  if (inRange.length > 0) {
    problems.push(
      `FP_SANDBOX_UIDS ${first}-${last} holds ids of other users of this host: ${describe(inRange)}. ` +
        'Their processes can run as a function\'s uid and signal (kill, stop) its instances. ' +
        (fns !== null ? `Give the functions a range no one holds, e.g. FP_SANDBOX_UIDS=${fns[0]}-${fns[1]}.` : 'Give the functions a range no one holds (FP_SANDBOX_UIDS).'),
    );
  }
  if (onBuilder.length > 0) {
    problems.push(
      `FP_DEPS_BUILDER_UID ${builderUid} is held by ${describe(onBuilder)}: their processes can signal dependency builds. ` +
        (builder !== null ? `Choose one no one holds, e.g. FP_DEPS_BUILDER_UID=${builder[0]}.` : 'Choose one no one holds.'),
    );
  }
  throw new PlatformError('BAD_CONFIG', `${problems.join('\n')}\n(docs/security.md, "What a function sees"; ADR 0160)`, { field: inRange.length > 0 ? 'sandboxUids' : 'depsBuilderUid' });
}

/**
 * `config` with function and builder ids no one else on the host holds (root mode; others as they
 * are). Both at their defaults: ids someone holds are moved to the lowest range of the same size
 * that no one holds past the ids `useradd` gives (subordinateMax; ADR 0164), the builder's uid past
 * it, and `log` says so. Set by the
 * operator (either): checked, BAD_CONFIG when someone holds them (checkIdsUnheld).
 */
export function idsNoOneHolds(config: PlatformConfig, log: (line: string) => void, held: readonly HeldIds[] = hostHeldIds(), ceiling = hostSubordinateMax()): PlatformConfig {
  if (!rootMode(config)) return config;
  const [first, last] = config.sandboxUids.split('-').map(Number) as [number, number];
  const defaults = config.sandboxUids === DEFAULT_SANDBOX_UIDS && config.depsBuilderUid === DEFAULT_DEPS_BUILDER_UID;
  if (!defaults || holdersOf(config, held).length === 0) {
    checkIdsUnheld([first, last], config.depsBuilderUid, held, ceiling);
    return config;
  }
  const fns = freeRangeUnallocated(held, first, last - first + 1, ceiling);
  const builder = fns === null ? null : freeRangeUnallocated(held, fns[1] + 1, 1, ceiling);
  if (fns === null || builder === null) {
    checkIdsUnheld([first, last], config.depsBuilderUid, held, ceiling); // throws: no free range to move to
    return config;
  }
  const moved = { ...config, sandboxUids: `${fns[0]}-${fns[1]}`, depsBuilderUid: builder[0] };
  log(`platform: the default function uids ${config.sandboxUids} and builder uid ${config.depsBuilderUid} meet ids of other users of this host ` +
    `(${describe(holdersOf(config, held))}): functions run as ${moved.sandboxUids} and builds as ` +
    `${moved.depsBuilderUid} instead. Set FP_SANDBOX_UIDS and FP_DEPS_BUILDER_UID to keep them fixed (ADR 0160).`);
  return moved;
}

function rootMode(config: PlatformConfig): boolean {
  return config.runtimeHost !== 'kubernetes' && resolveSandbox(config.unsafeNoSandbox ? 'off' : config.sandbox) === 'root';
}

/** The ranges of `held` that meet the function uids or the builder uid of `config`, each once. */
function holdersOf(config: PlatformConfig, held: readonly HeldIds[]): HeldIds[] {
  const [first, last] = config.sandboxUids.split('-').map(Number) as [number, number];
  const builder = config.depsBuilderUid;
  return held.filter((h) => (h.first <= last && h.last >= first) || (h.first <= builder && h.last >= builder));
}

/** How often a running platform reads the host's id files again (ids given after its start). */
export const HOST_IDS_RECHECK_MS = 10 * 60_000;

/**
 * What a running platform says when someone on the host holds its ids now (a user added after its
 * start: ADR 0164 leaves the defaults inside `useradd`'s range): an error line naming them, or null.
 * Running functions cannot change ids; the next start moves the defaults past them, or refuses ids
 * the operator set.
 */
export function heldNow(config: PlatformConfig, held: readonly HeldIds[]): string | null {
  const holders = holdersOf(config, held);
  if (holders.length === 0) return null;
  return `platform: error: function uids ${config.sandboxUids} or builder uid ${config.depsBuilderUid} are now also held by ${describe(holders)}: ` +
    'their processes can signal (kill, stop) this platform\'s instances. Restart the platform (default ids move past them) or set FP_SANDBOX_UIDS ' +
    'and FP_DEPS_BUILDER_UID to ids no one holds (ADR 0160, 0164).';
}

/**
 * In root mode, reads the host's id files every `intervalMs` and logs `heldNow`'s line whenever it
 * changes (once per new set of holders, not at every read); returns the stop. Elsewhere nothing.
 */
export function watchHostIds(config: PlatformConfig, log: (line: string) => void, intervalMs = HOST_IDS_RECHECK_MS, read: () => HeldIds[] = hostHeldIds): () => void {
  if (!rootMode(config)) return () => {};
  let said: string | null = null;
  const timer = setInterval(() => {
    const line = heldNow(config, read());
    if (line !== null && line !== said) log(line);
    said = line;
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
