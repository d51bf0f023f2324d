/**
 * A tag per whole setting of a function (env, limits, retry, auth, preset, invocation): a hash of
 * the value as answers show it. `GET /functions/{name}` answers them (`settingTags`), and
 * `PATCH /functions/{name}` takes `ifMatch: {setting: tag}`: when that setting's value now has
 * another tag, nothing is changed and the answer is 409 SETTING_CONFLICT with the current value.
 * A tag of the value, not a counter: a pause, a secret or another setting's change does not move
 * it, and it needs nothing stored (both stores, functions written before it).
 * Secrets get none: they are merged by name on the server (no read is needed to change one), and
 * a hash of their values would let a viewer test guesses of them offline.
 * Decision record: docs/adr/0159-a-precondition-per-setting.md.
 */
import { createHash } from 'node:crypto';
import { PlatformError } from '../../protocol/index.js';
import type { FunctionRecord } from '../store/index.js';
import { limitsOf, retryOf } from './present-values.js';

export const TAGGED_SETTINGS = ['env', 'limits', 'retry', 'auth', 'preset', 'invocation'] as const;
export type TaggedSetting = (typeof TAGGED_SETTINGS)[number];
export type SettingTags = Record<TaggedSetting, string>;

/** The same value whatever the order of its objects' keys (a merged `limits` is built anew). */
export function canonicalJson(value: unknown): string {
  const canonical = (v: unknown): unknown => (typeof v === 'object' && v !== null && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, x]) => [k, canonical(x)]))
    : Array.isArray(v) ? v.map(canonical) : v);
  return JSON.stringify(canonical(value));
}

/** A setting's value as answers show it (limits and retry in ms). */
export function settingValue(r: FunctionRecord, setting: TaggedSetting): unknown {
  switch (setting) {
    case 'env': return { ...r.env };
    case 'limits': return limitsOf(r.limits);
    case 'retry': return retryOf(r);
    default: return r[setting];
  }
}

/** 16 hex digits of the sha256 of the value's canonical JSON. */
function tagOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}

export function settingTagsOf(r: FunctionRecord): SettingTags {
  return Object.fromEntries(TAGGED_SETTINGS.map((s) => [s, tagOf(settingValue(r, s))])) as SettingTags;
}

/**
 * Refuses a change made from a stale read: every setting named in `ifMatch` must still have the
 * tag given. Checked against the record the change is applied to, inside the function's lock,
 * and the store's write is conditional on that record's revision (a change by another process in
 * between is REVISION_CONFLICT): nothing lands between this check and the write.
 */
export function checkIfMatch(r: FunctionRecord, ifMatch: Partial<Record<TaggedSetting, string>> | undefined): void {
  if (ifMatch === undefined) return;
  const tags = settingTagsOf(r);
  const stale = TAGGED_SETTINGS.filter((s) => ifMatch[s] !== undefined && ifMatch[s] !== tags[s]);
  if (stale.length === 0) return;
  throw new PlatformError('SETTING_CONFLICT', `${stale.join(', ')} changed since it was read (another tab, client or deploy); nothing was changed: read it again (details.current) and apply the change to it`, {
    settings: stale,
    current: Object.fromEntries(stale.map((s) => [s, settingValue(r, s)])),
    tags: Object.fromEntries(stale.map((s) => [s, tags[s]])),
  });
}
