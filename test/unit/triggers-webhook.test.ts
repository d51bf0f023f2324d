/** Webhook signature checks (GitHub and Stripe style), secret rotation and replay refusal (the guard in a temporary SQLite file). */
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  checkReplay,
  HookRefusals,
  openSqliteReplayGuard,
  parseStripeHeader,
  replayKey,
  verifyGithubSignature,
  verifyStripeSignature,
  verifyWebhook,
  type WebhookSecrets,
} from '../../controlplane/async/index.js';

const hex = (secret: string, ...parts: (string | Uint8Array)[]): string => {
  const h = createHmac('sha256', secret);
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const secrets: WebhookSecrets = { current: 'whsec_new' };

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The embedded replay guard in a fresh state directory (or `dir`, reopened as after a restart). */
function guardIn(now: () => number = Date.now, dir?: string): ReturnType<typeof openSqliteReplayGuard> & { dir: string } {
  const stateDir = dir ?? mkdtempSync(join(tmpdir(), 'fp-replay-'));
  if (dir === undefined) dirs.push(stateDir);
  return Object.assign(openSqliteReplayGuard({ stateDir, now }), { dir: stateDir });
}
// Every byte value, and bytes that are not valid UTF-8: the check must use the raw bytes.
const body = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3]), randomBytes(64), Buffer.from('{"a":1}\r\n')]);
const NOW = 1_800_000_000_000;
const T = NOW / 1000;
const stripe = (secret: string, t: number, b: Uint8Array = body): string => `t=${t},v1=${hex(secret, `${t}.`, b)}`;

describe('GitHub-style signatures', () => {
  const good = `sha256=${hex('whsec_new', body)}`;

  it('accepts the HMAC of the raw bytes, in either hex case', () => {
    assert.deepEqual(verifyGithubSignature(good, body, secrets), { ok: true, secret: 'current' });
    assert.equal(verifyGithubSignature(good.toUpperCase().replace('SHA256', 'sha256'), body, secrets).ok, true);
    assert.equal(verifyGithubSignature([good], body, secrets).ok, true);
  });

  it('refuses a missing header with WEBHOOK_SIGNATURE_MISSING', () => {
    for (const h of [undefined, '', '  ', []]) assert.deepEqual(verifyGithubSignature(h, body, secrets), { ok: false, code: 'WEBHOOK_SIGNATURE_MISSING' });
  });

  it('refuses wrong, malformed or re-encoded signatures with WEBHOOK_SIGNATURE_INVALID', () => {
    const reencoded = Buffer.from(body.toString('utf8'));
    // Of the right shape, matching no secret: no detail (nothing but "no match" can be said).
    for (const h of [`sha256=${hex('wrong', body)}`, `sha256=${hex('whsec_new', reencoded)}`]) {
      assert.deepEqual(verifyGithubSignature(h, body, secrets), { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID' }, h);
    }
    // Not of the shape `sha256=<64 hex>`: said as such, before any secret is tried.
    const malformed = [`sha1=${hex('whsec_new', body)}`, good.slice(0, -2), `${good}00`, `sha256=${'zz'.repeat(32)}`, hex('whsec_new', body), `${good}, ${good}`];
    for (const h of malformed) assert.deepEqual(verifyGithubSignature(h, body, secrets), { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID', detail: 'malformed' }, h);
    assert.deepEqual(verifyGithubSignature([good, good], body, secrets), { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID', detail: 'repeated' });
    assert.deepEqual(verifyGithubSignature(good, Buffer.concat([body, Buffer.from([0])]), secrets), { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID' });
  });

  it('accepts the previous secret only during the grace period', () => {
    const rotated: WebhookSecrets = { current: 'whsec_newer', previous: 'whsec_new', previousValidUntil: NOW };
    assert.deepEqual(verifyGithubSignature(good, body, rotated, NOW), { ok: true, secret: 'previous' });
    assert.equal(verifyGithubSignature(good, body, rotated, NOW + 1).ok, false);
    assert.equal(verifyGithubSignature(good, body, { current: 'whsec_newer', previous: 'whsec_new' }, NOW).ok, false);
    assert.deepEqual(verifyGithubSignature(`sha256=${hex('whsec_newer', body)}`, body, rotated, NOW), { ok: true, secret: 'current' });
  });
});

describe('Stripe-style signatures', () => {
  const at = { nowMs: NOW };

  it('accepts t and v1 over "t.body", among several v1 and other schemes', () => {
    assert.deepEqual(verifyStripeSignature(stripe('whsec_new', T), body, secrets, at), { ok: true, secret: 'current', timestamp: T, delivery: createHash('sha256').update(`${T}.`).update(body).digest('hex') });
    const several = `t=${T},v0=abc,v1=${hex('other', `${T}.`, body)},v1=${hex('whsec_new', `${T}.`, body)}`;
    assert.equal(verifyStripeSignature(several, body, secrets, at).ok, true);
    assert.deepEqual(parseStripeHeader(' t=5 , v1=ab '), { timestamp: 5, v1: ['ab'] });
  });

  it('refuses missing, malformed and wrong signatures', () => {
    assert.deepEqual(verifyStripeSignature(undefined, body, secrets, at), { ok: false, code: 'WEBHOOK_SIGNATURE_MISSING' });
    const malformed = [
      `t=${T}`,
      `v1=${hex('whsec_new', `${T}.`, body)}`,
      `t=abc,v1=${hex('whsec_new', `abc.`, body)}`,
      `t=${T},t=${T},v1=${hex('whsec_new', `${T}.`, body)}`,
      'garbage',
    ];
    for (const h of malformed) assert.deepEqual(verifyStripeSignature(h, body, secrets, at), { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID', detail: 'malformed' }, h);
    const wrong = [
      stripe('wrong', T),
      stripe('whsec_new', T + 1).replace(`t=${T + 1}`, `t=${T}`), // timestamp swapped after signing
      stripe('whsec_new', T, Buffer.from('other body')),
    ];
    for (const h of wrong) assert.deepEqual(verifyStripeSignature(h, body, secrets, at), { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID' }, h);
    assert.deepEqual(verifyStripeSignature([stripe('whsec_new', T), stripe('whsec_new', T)], body, secrets, at), { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID', detail: 'repeated' });
  });

  it('refuses a valid signature outside the tolerance window, either way', () => {
    for (const t of [T - 301, T + 301]) {
      assert.deepEqual(verifyStripeSignature(stripe('whsec_new', t), body, secrets, at), { ok: false, code: 'WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE' });
    }
    assert.equal(verifyStripeSignature(stripe('whsec_new', T - 300), body, secrets, at).ok, true);
    assert.equal(verifyStripeSignature(stripe('whsec_new', T - 20), body, secrets, { nowMs: NOW, toleranceMs: 10_000 }).ok, false);
    // A forged signature with an old timestamp says INVALID, not out of tolerance.
    assert.equal((verifyStripeSignature(stripe('wrong', T - 1000), body, secrets, at) as { code: string }).code, 'WEBHOOK_SIGNATURE_INVALID');
  });

  it('accepts the previous secret during the grace period only', () => {
    const rotated: WebhookSecrets = { current: 'whsec_newer', previous: 'whsec_new', previousValidUntil: NOW + 60_000 };
    assert.equal(verifyStripeSignature(stripe('whsec_new', T), body, rotated, at).ok, true);
    assert.equal(verifyStripeSignature(stripe('whsec_new', T + 61), body, rotated, { nowMs: NOW + 61_000 }).ok, false);
  });

  it('refuses a replay within the window, per trigger', async () => {
    let clock = NOW;
    const guard = guardIn(() => clock);
    const ref = { function: 'pay', triggerId: 'stripe' };
    const header = stripe('whsec_new', T);
    const check = async (r = ref) => checkReplay(guard, r, verifyStripeSignature(header, body, secrets, { nowMs: clock }), { nowMs: clock });
    assert.equal((await check()).ok, true);
    assert.deepEqual(await check(), { ok: false, code: 'WEBHOOK_REPLAYED' });
    assert.equal((await check({ ...ref, triggerId: 'other' })).ok, true);
    clock = NOW + 301_000; // past the window: now refused by time, and the guard forgot it
    assert.equal((await check()).ok, false);
    assert.equal((await check() as { code: string }).code, 'WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE');
    const fresh = stripe('whsec_new', T + 301);
    assert.equal((await checkReplay(guard, ref, verifyStripeSignature(fresh, body, secrets, { nowMs: clock }), { nowMs: clock })).ok, true);
  });

  it('refuses a delivery signed with both secrets during a rotation when it comes again with either v1 alone (red team round 7)', async () => {
    const rotated: WebhookSecrets = { current: 'whsec_newer', previous: 'whsec_new', previousValidUntil: NOW + 60_000 };
    const guard = guardIn(() => NOW);
    const ref = { function: 'pay', triggerId: 'stripe' };
    const both = `${stripe('whsec_newer', T)},v1=${hex('whsec_new', `${T}.`, body)}`;
    const check = (header: string) => checkReplay(guard, ref, verifyStripeSignature(header, body, rotated, at), at);
    assert.equal((await check(both)).ok, true);
    // Before: the old secret's v1 alone was a new delivery to the guard (its key was the v1 that matched), and ran again.
    assert.deepEqual(await check(`t=${T},v1=${hex('whsec_new', `${T}.`, body)}`), { ok: false, code: 'WEBHOOK_REPLAYED' });
    assert.deepEqual(await check(stripe('whsec_newer', T)), { ok: false, code: 'WEBHOOK_REPLAYED' });
    await guard.close();
  });

  it('refuses a delivery accepted before a rotation when it comes again while the previous secret is in its grace period (red team round 44)', async () => {
    const guard = guardIn(() => NOW);
    const ref = { function: 'pay', triggerId: 'stripe' };
    const header = stripe('whsec_new', T);
    assert.equal((await checkReplay(guard, ref, verifyStripeSignature(header, body, secrets, at), at)).ok, true);
    // `triggers rotate-secret` with the default grace: the secret that signed it is now the previous one.
    const rotated: WebhookSecrets = { current: 'whsec_newer', previous: 'whsec_new', previousValidUntil: NOW + 3_600_000 };
    const later = { nowMs: NOW + 60_000 };
    const again = verifyStripeSignature(header, body, rotated, later);
    assert.equal(again.ok, true, 'the previous secret still verifies it');
    // Before: keyed by its signature under the current secret, which the rotation changed: taken (and run) again.
    assert.deepEqual(await checkReplay(guard, ref, again, later), { ok: false, code: 'WEBHOOK_REPLAYED' });
    await guard.close();
  });

  it('remembers an accepted delivery across a restart (the guard reopened on the same state directory)', async () => {
    const ref = { function: 'pay', triggerId: 'stripe' };
    const verdict = verifyStripeSignature(stripe('whsec_new', T), body, secrets, { nowMs: NOW });
    const first = guardIn(() => NOW);
    assert.equal((await checkReplay(first, ref, verdict, { nowMs: NOW })).ok, true);
    await first.close();
    // In memory, the restarted platform accepted it again and the handler ran twice (reliability round).
    const restarted = guardIn(() => NOW + 1000, first.dir);
    assert.deepEqual(await checkReplay(restarted, ref, verdict, { nowMs: NOW + 1000 }), { ok: false, code: 'WEBHOOK_REPLAYED' });
    await restarted.close();
  });

  it('forgets a recorded delivery that was not accepted after all (its retry is no replay), and only that one', async () => {
    const guard = guardIn(() => NOW);
    const ref = { function: 'pay', triggerId: 'stripe' };
    const verdict = verifyStripeSignature(stripe('whsec_new', T), body, secrets, { nowMs: NOW });
    const other = verifyStripeSignature(stripe('whsec_new', T - 1), body, secrets, { nowMs: NOW });
    assert.equal((await checkReplay(guard, ref, verdict, { nowMs: NOW })).ok, true);
    assert.equal((await checkReplay(guard, ref, other, { nowMs: NOW })).ok, true);
    await guard.forget(ref, replayKey(verdict)!);
    assert.equal((await checkReplay(guard, ref, verdict, { nowMs: NOW })).ok, true);
    assert.deepEqual(await checkReplay(guard, ref, other, { nowMs: NOW }), { ok: false, code: 'WEBHOOK_REPLAYED' });
    assert.equal(replayKey(verifyGithubSignature(`sha256=${hex('whsec_new', body)}`, body, secrets)), undefined);
    await guard.close();
  });

  it('passes refusals and GitHub verdicts through the replay check untouched', async () => {
    const guard = guardIn();
    const ref = { function: 'f', triggerId: 'g' };
    const gh = verifyGithubSignature(`sha256=${hex('whsec_new', body)}`, body, secrets);
    assert.deepEqual(await checkReplay(guard, ref, gh), gh);
    assert.deepEqual(await checkReplay(guard, ref, gh), gh);
    const refused = { ok: false as const, code: 'WEBHOOK_SIGNATURE_MISSING' as const };
    assert.deepEqual(await checkReplay(guard, ref, refused), refused);
  });
});

describe('verifyWebhook (what the hooks route calls)', () => {
  it('reads the header of the trigger style and refuses replays of Stripe deliveries', async () => {
    const guard = guardIn(() => NOW);
    const gh = { function: 'f', triggerId: 'gh', style: 'github' as const, secrets };
    const st = { function: 'f', triggerId: 'st', style: 'stripe' as const, secrets, toleranceMs: 60_000 };
    const ghHeaders = { 'x-hub-signature-256': `sha256=${hex('whsec_new', body)}` };
    assert.equal((await verifyWebhook(gh, ghHeaders, body, guard, NOW)).ok, true);
    assert.deepEqual(await verifyWebhook(st, ghHeaders, body, guard, NOW), { ok: false, code: 'WEBHOOK_SIGNATURE_MISSING' });
    const stHeaders = { 'stripe-signature': stripe('whsec_new', T - 30) };
    assert.equal((await verifyWebhook(st, stHeaders, body, guard, NOW)).ok, true);
    assert.deepEqual(await verifyWebhook(st, stHeaders, body, guard, NOW), { ok: false, code: 'WEBHOOK_REPLAYED' });
    const old = { 'stripe-signature': stripe('whsec_new', T - 61) };
    assert.deepEqual(await verifyWebhook(st, old, body, guard, NOW), { ok: false, code: 'WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE' });
  });
});

describe('HookRefusals (what a webhook refused, for its owner)', () => {
  it('counts per trigger, keeps the last refusal, forgets a deleted function, and holds at most its bound', () => {
    const tallies = new HookRefusals(3);
    tallies.note('fn', 'github', { at: 1, code: 'WEBHOOK_SIGNATURE_MISSING' });
    tallies.note('fn', 'github', { at: 2, code: 'WEBHOOK_SIGNATURE_INVALID', detail: 'malformed' });
    tallies.note('fn', 'stripe', { at: 3, code: 'WEBHOOK_REPLAYED' });
    tallies.note('fn2', 'github', { at: 4, code: 'WEBHOOK_SIGNATURE_INVALID' });
    assert.deepEqual(tallies.of('fn', 'github'), { count: 2, last: { at: 2, code: 'WEBHOOK_SIGNATURE_INVALID', detail: 'malformed' } });
    assert.equal(tallies.of('fn', 'stripe')?.count, 1);
    assert.equal(tallies.of('fn', 'other'), undefined);
    // "fn" as a prefix of another function's name is not that function.
    tallies.note('fn.team', 'github', { at: 5, code: 'WEBHOOK_SIGNATURE_MISSING' });
    // Past the bound, the least recently refused goes: fn/github (refused at 2), not fn2.
    assert.equal(tallies.of('fn', 'github'), undefined);
    assert.equal(tallies.of('fn2', 'github')?.count, 1);
    tallies.forget('fn');
    assert.equal(tallies.of('fn', 'stripe'), undefined);
    assert.equal(tallies.of('fn.team', 'github')?.count, 1);
    assert.equal(tallies.of('fn2', 'github')?.count, 1);
  });
});
