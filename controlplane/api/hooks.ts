/** /functions/{name}/triggers/{triggerId}/secret/rotate (docs/api.md, "Webhook secrets"). */
import { z } from 'zod';
import { DURATION_PATTERN, parseDurationMs, PlatformError, WEBHOOK_TRIGGER_ID } from '../../protocol/index.js';
import { getFunction } from '../service/functions.js';
import { DEFAULT_HOOK_GRACE_MS, rotateHookSecret } from '../async/index.js';
import { hookSecretAnswer } from './answers.js';
import { json } from './http.js';
import { operation } from './router.js';
import { audit } from './audit-log.js';
import { functionParam } from './validate.js';

const MAX_GRACE_MS = 7 * 24 * 3_600_000;

/** `grace`: how long the previous secret keeps working (a duration, `0s` ends it at once; default 1h, at most 7 days). */
const rotateBody = z.strictObject({
  grace: z
    .string()
    .meta({ pattern: DURATION_PATTERN.source })
    .transform((text, ctx) => {
      if (Number(DURATION_PATTERN.exec(text)?.[1]) === 0) return 0;
      try {
        const ms = parseDurationMs(text);
        if (ms <= MAX_GRACE_MS) return ms;
        ctx.addIssue({ code: 'custom', message: 'at most 168h' });
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
      return z.NEVER;
    })
    .optional(),
});

export const rotateSecret = operation(
  {
    id: 'rotateWebhookSecret', tag: 'tokens', role: 'deployer', summary: "A new signing secret for a webhook trigger of the active version, shown only in this answer",
    body: rotateBody,
    answers: { 200: { description: 'The new secret', schema: hookSecretAnswer } },
    errors: ['TRIGGER_NOT_FOUND', 'REVISION_CONFLICT'],
  },
  async (call, input) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const triggerId = call.params[1]!;
    const body = await input.body();
    await getFunction(call.ctx, key);
    if (!WEBHOOK_TRIGGER_ID.test(triggerId)) {
      throw new PlatformError('TRIGGER_NOT_FOUND', `function "${name}" has no webhook trigger ${JSON.stringify(triggerId.slice(0, 128))}`, { function: name, triggerId: triggerId.slice(0, 128) });
    }
    const graceMs = body.grace ?? DEFAULT_HOOK_GRACE_MS;
    const secret = await rotateHookSecret(call.ctx.store, key, triggerId, graceMs);
    await audit(call, 'hook-secret.rotate', name, { triggerId, graceMs });
    return json(200, { secret });
  },
);
