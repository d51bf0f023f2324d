/**
 * A function's triggers (`GET /functions/{name}/triggers`: HTTP, webhooks with their URL, cron
 * with the next fire times) and webhook secret rotation (docs/api.md, "Triggers", "Webhook secrets").
 */
import { PlatformError, WEBHOOK_TRIGGER_ID } from '../../protocol/index.js';
import { getFunction } from '../service/functions.js';
import { cronTriggersOf, DEFAULT_HOOK_GRACE_MS, parseSchedule, rotateHookSecret, webhookSpecsOf } from '../async/index.js';
import { hookSecretAnswer } from './answers.js';
import { triggerList } from './answers-console.js';
import { urls } from './present.js';
import { json } from './http.js';
import { operation } from './router.js';
import { audit } from './audit-log.js';
import { functionParam } from './validate.js';
import { graceBody } from './schemas.js';



export const rotateSecret = operation(
  {
    id: 'rotateWebhookSecret', tag: 'tokens', role: 'deployer', summary: "A new signing secret for a webhook trigger of the active version, shown only in this answer",
    body: graceBody,
    answers: { 200: { description: 'The new secret', schema: hookSecretAnswer } },
    errors: ['TRIGGER_NOT_FOUND', 'REVISION_CONFLICT', 'EXPIRING_TOKEN_FORBIDDEN'],
  },
  async (call, input) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const triggerId = call.params[1]!;
    const body = await input.body();
    await getFunction(call.ctx, key);
    // A secret has no expiry: a token that has one may not make one it would hold after its end (ADR 0074).
    const { expiresAt } = call.scope.principal;
    if (expiresAt !== null) {
      throw new PlatformError('EXPIRING_TOKEN_FORBIDDEN', `this token expires at ${new Date(expiresAt).toISOString()}, and a webhook secret does not: rotate it with a token without an expiry`, { function: name, expiresAt });
    }
    if (!WEBHOOK_TRIGGER_ID.test(triggerId)) {
      throw new PlatformError('TRIGGER_NOT_FOUND', `function "${name}" has no webhook trigger ${JSON.stringify(triggerId.slice(0, 128))}`, { function: name, triggerId: triggerId.slice(0, 128) });
    }
    const graceMs = body.grace ?? DEFAULT_HOOK_GRACE_MS;
    const secret = await rotateHookSecret(call.ctx.store, key, triggerId, graceMs);
    await audit(call, 'hook-secret.rotate', name, { triggerId, graceMs });
    return json(200, { secret });
  },
);

/** Next fire times shown per cron trigger. */
const NEXT_FIRES = 5;
/** The listing asks for no fire after one this far ahead (29 February comes every 4 years). */
const FIRES_HORIZON_MS = 4 * 366 * 24 * 3_600_000;
/** A fire found in more than this (the cron library's walk, asked near a clock change until loose ends round 2; now a bound) lets other work run before the next. */
const YIELD_AFTER_MS = 2;

export const listTriggers = operation(
  {
    id: 'listTriggers', tag: 'triggers', role: 'viewer', summary: "The function's triggers: HTTP, the active version's webhooks (URL, style, secret grace) and cron schedules (next fire times, missed ticks)",
    answers: { 200: { description: 'The triggers', schema: triggerList } },
    errors: [],
  },
  async (call) => {
    const { key } = functionParam(call.params[0]!, call.scope);
    const record = await getFunction(call.ctx, key);
    const { invokeUrl, asyncUrl } = urls(record, call.ctx.settings);
    const version = record.activeVersion === null ? null : await call.ctx.store.versions.get(key, record.activeVersion);
    const manifest = version?.manifest ?? null;
    const base = call.ctx.settings.publicUrl();
    const now = Date.now();
    const items: unknown[] = [{ type: 'http', invokeUrl, ...(asyncUrl !== undefined ? { asyncUrl } : {}), auth: record.auth, invocation: record.invocation }];
    for (const hook of webhookSpecsOf(manifest)) {
      const secret = record.hookSecrets?.[hook.id];
      items.push({
        type: 'webhook', id: hook.id, style: hook.style, sync: hook.sync, path: hook.path, url: `${base}/hooks/${key}/${hook.id}`,
        previousSecretValidUntil: secret?.previous !== undefined && (secret.previousValidUntil ?? 0) > now ? secret.previousValidUntil! : null,
        refused: call.ctx.hookRefusals?.of(key, hook.id) ?? null,
      });
    }
    for (const cron of cronTriggersOf(key, manifest)) {
      const schedule = parseSchedule(cron, now);
      const nextFires: number[] = [];
      let at = now;
      try {
        // Not from past 4 years ahead: the next fire may be past the cron library's horizon (8
        // years from today), found by walking the calendar only to fail (29 February's third).
        for (let i = 0; i < NEXT_FIRES && at < now + FIRES_HORIZON_MS; i++) {
          const asked = performance.now();
          nextFires.push((at = schedule.next(at)));
          // A fire near a clock change was the cron library's walk (5-40 ms, ADR 0104; the calendar
          // answers those too now, and this stays a bound): the next one waits a turn of the event loop, as arming a trigger does (red team round 37: 32
          // triggers `N 2 25-31 3,10 *` in Europe/Berlin held every tenant's calls 0.6-1.6 s per listing).
          if (performance.now() - asked > YIELD_AFTER_MS) await new Promise<void>((resolve) => setImmediate(resolve));
        }
      } catch {
        // Past the library's horizon all the same: the fires within it are listed; it answered 500 (red team round 35).
      }
      items.push({ type: 'cron', id: cron.triggerId, schedule: cron.expression, timezone: schedule.trigger.timezone, method: cron.at?.method ?? 'POST', path: cron.at?.path ?? '/', active: record.status === 'active', nextFires,
        missed: await call.ctx.cron?.missedOf(cron) ?? null });
    }
    return json(200, { items });
  },
);
