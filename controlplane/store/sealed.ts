/**
 * How both adapters seal a function's secret fields before writing them and open them after
 * reading (docs/secrets.md): `secrets` values and webhook secrets become Keyring envelopes bound
 * to where they live (function, field, name), so a ciphertext copied into another function's
 * record does not open there. One place decides the contexts; the adapters only store strings.
 */
import { envelopeKeyId, isEnvelope, type Keyring } from '../secrets/index.js';
import type { HookSecret, KeyUsage } from './types.js';

/** A webhook trigger's secrets as stored: `current`/`previous` are envelopes. */
export type SealedHookSecret = HookSecret;

export function secretContext(fn: string, name: string): string {
  return `fn/${fn}/secret/${name}`;
}

export function hookContext(fn: string, triggerId: string, which: 'current' | 'previous'): string {
  return `fn/${fn}/hook/${triggerId}/${which}`;
}

export function sealSecrets(ring: Keyring, fn: string, secrets: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(secrets)) out[name] = ring.seal(value, secretContext(fn, name));
  return out;
}

export function openSecrets(ring: Keyring, fn: string, sealed: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(sealed ?? {})) out[name] = ring.open(value, secretContext(fn, name));
  return out;
}

export function sealHooks(ring: Keyring, fn: string, hooks: Readonly<Record<string, HookSecret>>): Record<string, SealedHookSecret> {
  return mapHooks(hooks, (value, id, which) => ring.seal(value, hookContext(fn, id, which)));
}

export function openHooks(ring: Keyring, fn: string, sealed: Readonly<Record<string, SealedHookSecret>>): Record<string, HookSecret> {
  return mapHooks(sealed, (value, id, which) => ring.open(value, hookContext(fn, id, which)));
}

/**
 * Stored secret fields again under the ring's current key. `changed` counts the values re-sealed
 * (0: leave the stored record alone).
 */
export function resealFields(
  ring: Keyring,
  fn: string,
  fields: { secrets?: Readonly<Record<string, string>> | undefined; hookSecrets?: Readonly<Record<string, SealedHookSecret>> | undefined },
): { secrets?: Record<string, string>; hookSecrets?: Record<string, SealedHookSecret>; changed: number } {
  let changed = 0;
  const again = (value: string, context: string): string => {
    const next = ring.reseal(value, context);
    if (next !== value) changed++;
    return next;
  };
  const secrets = fields.secrets === undefined ? undefined : Object.fromEntries(Object.entries(fields.secrets).map(([name, v]) => [name, again(v, secretContext(fn, name))]));
  const hookSecrets = fields.hookSecrets === undefined ? undefined : mapHooks(fields.hookSecrets, (v, id, which) => again(v, hookContext(fn, id, which)));
  return { ...(secrets !== undefined ? { secrets } : {}), ...(hookSecrets !== undefined ? { hookSecrets } : {}), changed };
}

/**
 * The one-time upgrade of webhook secrets written in clear by platforms before sealing: clear
 * values are sealed, envelopes kept. Only migrations call it: at any other time a value that is
 * not an envelope is refused (SECRET_DECRYPT_FAILED), never taken as clear.
 */
export function sealLegacyHooks(ring: Keyring, fn: string, stored: Readonly<Record<string, HookSecret>>): { hookSecrets: Record<string, SealedHookSecret>; changed: number } {
  let changed = 0;
  const hookSecrets = mapHooks(stored, (value, id, which) => {
    if (isEnvelope(value)) return value;
    changed++;
    return ring.seal(value, hookContext(fn, id, which));
  });
  return { hookSecrets, changed };
}

/** Adds the key ids of the sealed values of one record to `counts`. */
export function countSealed(
  counts: Map<string | null, number>,
  fields: { secrets?: Readonly<Record<string, string>> | undefined; hookSecrets?: Readonly<Record<string, SealedHookSecret>> | undefined },
): void {
  const values = [...Object.values(fields.secrets ?? {})];
  for (const hook of Object.values(fields.hookSecrets ?? {})) {
    values.push(String(hook.current));
    if (hook.previous !== undefined) values.push(String(hook.previous));
  }
  for (const value of values) {
    const id = envelopeKeyId(value);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
}

function mapHooks(
  hooks: Readonly<Record<string, HookSecret>>,
  f: (value: string, triggerId: string, which: 'current' | 'previous') => string,
): Record<string, HookSecret> {
  const out: Record<string, HookSecret> = {};
  for (const [id, hook] of Object.entries(hooks)) {
    out[id] = {
      current: f(hook.current, id, 'current'),
      ...(hook.previous !== undefined ? { previous: f(hook.previous, id, 'previous') } : {}),
      ...(hook.previousValidUntil !== undefined ? { previousValidUntil: hook.previousValidUntil } : {}),
    };
  }
  return out;
}

/** Per key id counts of sealed fields and live token digests → KeyUsage rows, by key id. */
export function keyUsage(fields: ReadonlyMap<string | null, number>, tokens: ReadonlyMap<string | null, number>): KeyUsage[] {
  const ids = new Set([...fields.keys(), ...tokens.keys()]);
  return [...ids]
    .sort((a, b) => String(a).localeCompare(String(b)))
    .map((keyId) => ({ keyId, fields: fields.get(keyId) ?? 0, tokens: tokens.get(keyId) ?? 0 }));
}
