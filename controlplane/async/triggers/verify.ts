/**
 * One call for the `/hooks/<function>/<triggerId>` route: picks the trigger's header and style,
 * checks the signature over the raw body, then (Stripe style) refuses a replay. The route answers
 * 401 with the verdict's code and creates no run unless the verdict is ok.
 */
import { checkReplay } from './replay.js';
import type { ReplayGuard, WebhookTrigger, WebhookVerdict } from './types.js';
import { GITHUB_SIGNATURE_HEADER, STRIPE_SIGNATURE_HEADER, verifyGithubSignature, verifyStripeSignature, type HeaderValue } from './webhook.js';

/** Request headers with lower-case names, as Node and the uWS adapter hand them over. */
export type LowerCaseHeaders = Readonly<Record<string, HeaderValue>>;

/** The header a trigger's style reads. */
export const signatureHeader = (trigger: Pick<WebhookTrigger, 'style'>): string =>
  trigger.style === 'github' ? GITHUB_SIGNATURE_HEADER : STRIPE_SIGNATURE_HEADER;

/** Throws TRIGGER_UNAVAILABLE only when the replay guard cannot answer (answer 503, no run). */
export async function verifyWebhook(
  trigger: WebhookTrigger,
  headers: LowerCaseHeaders,
  rawBody: Uint8Array,
  guard: ReplayGuard,
  nowMs: number = Date.now(),
): Promise<WebhookVerdict> {
  const header = headers[signatureHeader(trigger)];
  if (trigger.style === 'github') return verifyGithubSignature(header, rawBody, trigger.secrets, nowMs);
  const options = { nowMs, ...(trigger.toleranceMs !== undefined ? { toleranceMs: trigger.toleranceMs } : {}) };
  return checkReplay(guard, trigger, verifyStripeSignature(header, rawBody, trigger.secrets, options), options);
}
