/**
 * Webhook signature checks, pure (no I/O): GitHub style (`X-Hub-Signature-256: sha256=<hex>`, an
 * HMAC-SHA256 of the raw body) and Stripe style (`Stripe-Signature: t=<unix s>,v1=<hex>[,v1=…]`,
 * an HMAC-SHA256 of `<t>.<raw body>`, with a tolerance window). Digests are compared with
 * crypto.timingSafeEqual on equal-length buffers; a malformed header is refused before any
 * comparison. Secrets rotate: the previous one is accepted until its grace period ends.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhookSecrets, WebhookVerdict } from './types.js';

export const GITHUB_SIGNATURE_HEADER = 'x-hub-signature-256';
export const STRIPE_SIGNATURE_HEADER = 'stripe-signature';
export const DEFAULT_TOLERANCE_MS = 300_000;

const HEX_SHA256 = /^[0-9a-f]{64}$/i;
const DIGITS = /^[0-9]{1,12}$/;

type Named = { name: 'current' | 'previous'; secret: string | Uint8Array };

/** The secrets accepted at `nowMs`: current first, then previous while its grace period lasts. */
export function secretsInForce(secrets: WebhookSecrets, nowMs: number): Named[] {
  const list: Named[] = [{ name: 'current', secret: secrets.current }];
  if (secrets.previous !== undefined && secrets.previousValidUntil !== undefined && nowMs <= secrets.previousValidUntil) {
    list.push({ name: 'previous', secret: secrets.previous });
  }
  return list;
}

function hmac(secret: string | Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('sha256', secret);
  for (const part of parts) h.update(part);
  return h.digest();
}

/**
 * What the replay guard keys an accepted Stripe-style delivery on: the SHA-256 of the signed bytes
 * (`<t>.` and the body), the same whichever secret or v1 verified it. It was the delivery's
 * signature under the current secret: a delivery signed with both secrets during a rotation was
 * taken twice when replayed with the other v1 alone (red team round 7), and after a rotation with
 * a grace period (the default, 1 h) every delivery accepted in the 5 minutes before it was taken
 * once more, verified by the previous secret and keyed under the new one (red team round 44).
 */
function deliveryDigest(prefix: Uint8Array, rawBody: Uint8Array): string {
  return createHash('sha256').update(prefix).update(rawBody).digest('hex');
}

/** Constant-time equality of a digest and a candidate of the right shape (64 hex digits). */
function sameDigest(digest: Buffer, hex: string): boolean {
  if (!HEX_SHA256.test(hex)) return false;
  const candidate = Buffer.from(hex, 'hex');
  return candidate.length === digest.length && timingSafeEqual(candidate, digest);
}

/** A header value as Node gives it (a repeated header arrives as an array: refused as ambiguous). */
export type HeaderValue = string | string[] | undefined;

/** The one value of a header: null when absent or blank, false when repeated. */
function single(value: HeaderValue): string | null | false {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  if (list.length > 1) return false;
  const one = list[0]?.trim() ?? '';
  return one === '' ? null : one;
}

/** GitHub style. `rawBody` must be the bytes as received, before any parsing. */
export function verifyGithubSignature(header: HeaderValue, rawBody: Uint8Array, secrets: WebhookSecrets, nowMs: number = Date.now()): WebhookVerdict {
  const value = single(header);
  if (value === null) return { ok: false, code: 'WEBHOOK_SIGNATURE_MISSING' };
  if (value === false) return { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID', detail: 'repeated' };
  const match = /^sha256=(.*)$/.exec(value);
  if (!match || !HEX_SHA256.test(match[1]!)) return { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID', detail: 'malformed' };
  for (const { name, secret } of secretsInForce(secrets, nowMs)) {
    if (sameDigest(hmac(secret, rawBody), match[1]!)) return { ok: true, secret: name };
  }
  return { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID' };
}

/** The parts of a Stripe-style header, or null when it is malformed. */
export function parseStripeHeader(value: string): { timestamp: number; v1: string[] } | null {
  let timestamp: number | null = null;
  const v1: string[] = [];
  for (const item of value.split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) return null;
    const key = item.slice(0, eq).trim();
    const val = item.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== null || !DIGITS.test(val)) return null;
      timestamp = Number(val);
    } else if (key === 'v1') {
      v1.push(val);
    } // other schemes (v0, …) are ignored, as Stripe does
  }
  return timestamp === null || v1.length === 0 ? null : { timestamp, v1 };
}

export interface StripeOptions {
  nowMs?: number;
  /** How far `t` may be from now, either way (default 300 000 = 5 min). */
  toleranceMs?: number;
}

/**
 * Stripe style. The signature is checked before the time, so an attacker learns nothing about the
 * window from a forged request; a valid but old (or future) one is WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE.
 * Replays within the window are the caller's check (`checkReplay`, ./replay.ts).
 */
export function verifyStripeSignature(header: HeaderValue, rawBody: Uint8Array, secrets: WebhookSecrets, options: StripeOptions = {}): WebhookVerdict {
  const nowMs = options.nowMs ?? Date.now();
  const toleranceMs = options.toleranceMs ?? DEFAULT_TOLERANCE_MS;
  const value = single(header);
  if (value === null) return { ok: false, code: 'WEBHOOK_SIGNATURE_MISSING' };
  if (value === false) return { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID', detail: 'repeated' };
  const parsed = parseStripeHeader(value);
  if (!parsed) return { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID', detail: 'malformed' };
  const prefix = Buffer.from(`${parsed.timestamp}.`);
  for (const { name, secret } of secretsInForce(secrets, nowMs)) {
    const digest = hmac(secret, prefix, rawBody);
    const signature = parsed.v1.find((hex) => sameDigest(digest, hex));
    if (signature === undefined) continue;
    if (Math.abs(nowMs - parsed.timestamp * 1000) > toleranceMs) return { ok: false, code: 'WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE' };
    return { ok: true, secret: name, timestamp: parsed.timestamp, delivery: deliveryDigest(prefix, rawBody) };
  }
  return { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID' };
}
