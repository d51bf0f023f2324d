/** The secrets keyring (controlplane/secrets/keyring.ts): envelopes, key ids, token digests. Pure, no I/O. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { envelopeKeyId, generateKey, isEnvelope, keyIdOf, Keyring, keyringFromText } from '../../controlplane/secrets/index.js';

function throwsCode(fn: () => unknown, code: string, check?: (details: Record<string, unknown>, message: string) => void): void {
  assert.throws(fn, (err: unknown) => {
    const e = err as { code?: string; details?: Record<string, unknown>; message: string };
    assert.equal(e.code, code);
    check?.(e.details ?? {}, e.message);
    return true;
  });
}

describe('secrets keyring', () => {
  const a = generateKey();
  const b = generateKey();

  it('seals and opens (round trip), with a fresh IV each time and the key id in the envelope', () => {
    const ring = new Keyring([a]);
    for (const value of ['hunter2', '', 'ünïcödé ☃ \n multi-line', 'x'.repeat(70_000)]) {
      const sealed = ring.seal(value, 'fn/a/secret/P');
      assert.equal(ring.open(sealed, 'fn/a/secret/P'), value);
      assert.equal(sealed.includes(value) && value.length > 0, false);
    }
    const one = ring.seal('same', 'ctx');
    const two = ring.seal('same', 'ctx');
    assert.notEqual(one, two);
    assert.match(one, /^fpenc:v1:k_[0-9a-f]{12}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/);
    assert.equal(envelopeKeyId(one), ring.currentId);
    assert.equal(isEnvelope(one), true);
    assert.equal(isEnvelope('hunter2'), false);
  });

  it('derives a stable key id from the key; the first key is current unless named', () => {
    assert.equal(keyIdOf(a), keyIdOf(Buffer.from(a)));
    assert.notEqual(keyIdOf(a), keyIdOf(b));
    assert.equal(new Keyring([a, b]).currentId, keyIdOf(a));
    assert.equal(new Keyring([a, b], keyIdOf(b)).currentId, keyIdOf(b));
    assert.deepEqual(new Keyring([a, b], keyIdOf(b)).ids, [keyIdOf(b), keyIdOf(a)]);
    throwsCode(() => new Keyring([a], keyIdOf(b)), 'SECRETS_KEY_INVALID');
    throwsCode(() => new Keyring([Buffer.alloc(16)]), 'SECRETS_KEY_INVALID');
    throwsCode(() => new Keyring([]), 'SECRETS_KEY_INVALID');
  });

  it('fails with SECRETS_KEY_UNKNOWN naming the key id when the ring lacks the key (never silently)', () => {
    const sealed = new Keyring([a]).seal('value-1', 'fn/x/secret/V');
    throwsCode(() => new Keyring([b]).open(sealed, 'fn/x/secret/V'), 'SECRETS_KEY_UNKNOWN', (details, message) => {
      assert.equal(details['keyId'], keyIdOf(a));
      assert.equal(details['context'], 'fn/x/secret/V');
      assert.equal(message.includes('value-1'), false);
    });
    assert.equal(new Keyring([b, a]).open(sealed, 'fn/x/secret/V'), 'value-1', 'an older key in the ring still opens');
  });

  it('refuses an envelope moved to another place, altered, or a clear value (SECRET_DECRYPT_FAILED)', () => {
    const ring = new Keyring([a]);
    const sealed = ring.seal('s3cr3t', 'fn/a/secret/DB_PASSWORD');
    throwsCode(() => ring.open(sealed, 'fn/b/secret/DB_PASSWORD'), 'SECRET_DECRYPT_FAILED', (details) => assert.equal(details['reason'], 'authentication'));
    const body = sealed.slice(sealed.lastIndexOf(':') + 1);
    const flipped = Buffer.from(body, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    throwsCode(() => ring.open(sealed.slice(0, sealed.lastIndexOf(':') + 1) + flipped.toString('base64url'), 'fn/a/secret/DB_PASSWORD'), 'SECRET_DECRYPT_FAILED');
    for (const bad of ['s3cr3t', 'fpenc:v1:', `fpenc:v1:${ring.currentId}:AAAA:AAAA`, 'fpenc:v1:nope:x:y']) {
      throwsCode(() => ring.open(bad, 'ctx'), 'SECRET_DECRYPT_FAILED');
    }
  });

  it('re-seals under the current key, and leaves a current envelope as it is', () => {
    const old = new Keyring([a]).seal('v', 'c');
    const ring = new Keyring([b, a]);
    const again = ring.reseal(old, 'c');
    assert.equal(envelopeKeyId(again), keyIdOf(b));
    assert.equal(ring.open(again, 'c'), 'v');
    assert.equal(ring.reseal(again, 'c'), again);
  });

  it('keys token digests: another key gives another digest; the digest of a stored sha256 is the same', () => {
    const secret = 'fpa_example';
    const ring = new Keyring([a, b]);
    const plain = createHash('sha256').update(secret).digest('hex');
    assert.match(ring.tokenDigest(secret), /^[0-9a-f]{64}$/);
    assert.notEqual(ring.tokenDigest(secret), plain);
    assert.notEqual(ring.tokenDigest(secret, keyIdOf(a)), ring.tokenDigest(secret, keyIdOf(b)));
    assert.equal(ring.tokenDigestFromSha256(plain), ring.tokenDigest(secret));
    throwsCode(() => new Keyring([b]).tokenDigest(secret, keyIdOf(a)), 'SECRETS_KEY_UNKNOWN');
  });

  it('reads FP_SECRETS_KEY: base64 keys separated by commas, the first current', () => {
    const ring = keyringFromText(` ${b.toString('base64')} ,${a.toString('base64')}`);
    assert.deepEqual(ring.ids, [keyIdOf(b), keyIdOf(a)]);
    for (const bad of ['', 'short', Buffer.alloc(31).toString('base64'), `${a.toString('base64')},nope`]) {
      throwsCode(() => keyringFromText(bad), 'SECRETS_KEY_INVALID', (_d, message) => assert.equal(message.includes('nope'), false));
    }
  });
});
