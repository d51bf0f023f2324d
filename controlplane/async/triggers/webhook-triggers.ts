/**
 * Webhook triggers wired to the functions (docs/triggers.md): the triggers are those of the active
 * version's manifest, their secrets live in the function's settings (`hookSecrets`, sealed at rest
 * by the store; the HMAC needs the clear value, so the store opens it on each read: no cache here,
 * the hooks route reads the function per request). A secret is generated when a version declaring
 * the trigger is deployed, and a rotation answers the new one once, keeping the old one for a grace
 * period; with no grace the old one is dropped at once (docs/secrets.md).
 */
import { randomBytes } from 'node:crypto';
import { MAX_TRIGGERS, PlatformError, triggersSchema, type WebhookTriggerSpec } from '../../../protocol/index.js';
import type { FunctionRecord, HookSecret, Store } from '../../store/index.js';
import { isStoreError } from '../../store/index.js';
import type { AsyncCall, Webhooks } from '../../../protocol/index.js';
import { isTriggerError, replayKey, verifyWebhook, type ReplayGuard, type WebhookMetrics, type WebhookTrigger } from './index.js';
import type { HookRefusals } from './refusals.js';

/** How long the previous secret keeps working after a rotation (default 1 h). */
export const DEFAULT_HOOK_GRACE_MS = 3_600_000;

const newSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

/** The webhook triggers of a stored (raw) manifest; [] when it has none or they do not parse. */
export function webhookSpecsOf(manifest: unknown): WebhookTriggerSpec[] {
  const raw = typeof manifest === 'object' && manifest !== null ? (manifest as { triggers?: unknown }).triggers : undefined;
  if (raw === undefined) return [];
  const parsed = triggersSchema.safeParse(raw);
  return parsed.success ? parsed.data.flatMap((t) => (t.type === 'webhook' ? [t] : [])) : [];
}

/** Changes a function's secrets, re-reading on a revision conflict (another writer got there first). */
async function changeSecrets(
  store: Store,
  name: string,
  change: (current: Record<string, HookSecret>) => Record<string, HookSecret> | null,
): Promise<FunctionRecord | null> {
  for (let attempt = 0; ; attempt++) {
    const record = await store.functions.get(name);
    if (record === null) return null;
    const next = change({ ...(record.hookSecrets ?? {}) });
    if (next === null) return record;
    try {
      return await store.functions.update(name, record.revision, { hookSecrets: next });
    } catch (err) {
      if (attempt >= 5 || !isStoreError(err) || err.code !== 'REVISION_CONFLICT') throw err;
    }
  }
}

/** After a deploy: every webhook trigger of `manifest` without a secret gets one. Returns the record as stored. */
export function ensureHookSecrets(store: Store, name: string, manifest: unknown): Promise<FunctionRecord | null> {
  return ensureIds(store, name, webhookSpecsOf(manifest).map((t) => t.id));
}

/**
 * Signing secrets kept per function: those of the triggers the version being deployed declares,
 * and, for a rollback to come back to the same secret, those of earlier versions' triggers, the
 * oldest dropped first past this many. Without a bound they piled up, one per trigger id ever
 * declared (red team of 2026-12-04: 76 000 on one function, each read at every delivery).
 */
const MAX_HOOK_SECRETS = 2 * MAX_TRIGGERS;

function ensureIds(store: Store, name: string, ids: string[]): Promise<FunctionRecord | null> {
  return changeSecrets(store, name, (current) => {
    const missing = ids.filter((id) => current[id] === undefined);
    const keys = Object.keys(current);
    if (missing.length === 0 && keys.length <= MAX_HOOK_SECRETS) return null;
    for (const id of missing) current[id] = { current: newSecret() };
    // Insertion order is age order: the oldest secrets of triggers the version does not declare go first.
    let excess = Object.keys(current).length - MAX_HOOK_SECRETS;
    for (const id of keys) {
      if (excess <= 0) break;
      if (ids.includes(id)) continue;
      delete current[id];
      excess--;
    }
    return current;
  });
}

/** The trigger as the active version declares it, or TRIGGER_NOT_FOUND / FUNCTION_NOT_FOUND. */
async function declared(store: Store, name: string, triggerId: string): Promise<{ record: FunctionRecord; spec: WebhookTriggerSpec; ids: string[] }> {
  const record = await store.functions.get(name);
  if (record === null) throw new PlatformError('FUNCTION_NOT_FOUND', `no function named "${name}"`, { function: name });
  const version = record.activeVersion === null ? null : await store.versions.get(name, record.activeVersion);
  const specs = version === null ? [] : webhookSpecsOf(version.manifest);
  const spec = specs.find((t) => t.id === triggerId);
  if (spec === undefined) {
    throw new PlatformError('TRIGGER_NOT_FOUND', `function "${name}" has no webhook trigger "${triggerId}" in its active version`, { function: name, triggerId });
  }
  return { record, spec, ids: specs.map((t) => t.id) };
}

/** A new current secret, answered once; the old one stays accepted for `graceMs`. */
export async function rotateHookSecret(store: Store, name: string, triggerId: string, graceMs: number, now: number = Date.now()): Promise<string> {
  await declared(store, name, triggerId);
  const secret = newSecret();
  await changeSecrets(store, name, (current) => {
    const old = current[triggerId];
    current[triggerId] = old === undefined || graceMs <= 0 ? { current: secret } : { current: secret, previous: old.current, previousValidUntil: now + graceMs };
    return current;
  });
  return secret;
}

/**
 * What the hooks route verifies against: the trigger of the active version with its secrets,
 * read from the store on every request (a rotation elsewhere counts at once). Null: no such
 * function or trigger. A declared trigger without a secret yet (deployed before it had one) gets one.
 */
export async function lookupWebhook(store: Store, name: string, triggerId: string): Promise<WebhookTrigger | null> {
  let found: Awaited<ReturnType<typeof declared>>;
  try {
    found = await declared(store, name, triggerId);
  } catch (err) {
    // Only "no such function or trigger" means null; anything else (a secret that does not open) is loud.
    if (err instanceof PlatformError && (err.code === 'FUNCTION_NOT_FOUND' || err.code === 'TRIGGER_NOT_FOUND')) return null;
    throw err;
  }
  let secrets = found.record.hookSecrets?.[triggerId];
  if (secrets === undefined) {
    // Every trigger the active version declares is kept: the bound drops earlier versions' secrets only.
    const record = await ensureIds(store, name, found.ids);
    secrets = record?.hookSecrets?.[triggerId];
    if (secrets === undefined) return null;
  }
  return {
    function: name,
    triggerId,
    style: found.spec.style,
    secrets,
    sync: found.spec.sync,
    path: found.spec.path,
    ...(found.spec.tolerance !== undefined ? { toleranceMs: found.spec.tolerance } : {}),
  };
}

/** The gateway's Webhooks port over the store, a replay guard and the async runs; every verdict is counted in `metrics`. */
export function storeWebhooks(
  store: Store,
  runs: { submitHook(name: string, triggerId: string, call: AsyncCall): Promise<{ runId: string }> },
  guard: ReplayGuard,
  metrics: WebhookMetrics = { verdict() {} },
  refusals?: HookRefusals,
): Webhooks {
  return {
    async find(name, triggerId) {
      const trigger = await lookupWebhook(store, name, triggerId);
      if (trigger === null) {
        metrics.verdict(name, 'TRIGGER_NOT_FOUND');
        return null;
      }
      /** The replay guard's record of this delivery, once `verify` made one (Stripe style). */
      let recorded: string | undefined;
      return {
        sync: trigger.sync ?? false,
        style: trigger.style ?? 'github',
        path: trigger.path ?? '/',
        async release() {
          const key = recorded;
          recorded = undefined;
          // A guard that cannot answer now keeps the record: the retry is then refused as a replay, as before.
          if (key !== undefined) await guard.forget(trigger, key).catch(() => undefined);
        },
        async verify(headers, body) {
          const lower: Record<string, string | string[]> = {};
          for (const [k, v] of headers) {
            const had = lower[k];
            lower[k] = had === undefined ? v : [...(Array.isArray(had) ? had : [had]), v];
          }
          try {
            const verdict = await verifyWebhook(trigger, lower, body, guard);
            recorded = replayKey(verdict);
            metrics.verdict(name, verdict.ok ? 'accepted' : verdict.code);
            if (verdict.ok) return null;
            const refusal = { code: verdict.code, ...(verdict.detail !== undefined ? { detail: verdict.detail } : {}) };
            refusals?.note(name, triggerId, { at: Date.now(), ...refusal });
            return refusal;
          } catch (err) {
            if (isTriggerError(err, 'TRIGGER_UNAVAILABLE')) {
              metrics.verdict(name, 'TRIGGER_UNAVAILABLE');
              throw new PlatformError('TRIGGER_UNAVAILABLE', err.message, { function: name, triggerId });
            }
            throw err;
          }
        },
      };
    },
    submit: (name, triggerId, call) => runs.submitHook(name, triggerId, call),
  };
}
