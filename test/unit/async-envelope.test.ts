/** The async run envelope: msgpack (v2) round trip with raw bytes and the call's origin, and v1 (JSON + base64) still read. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEnvelope, encodeCall } from '../../controlplane/async/runs/envelope.js';

describe('async envelope', () => {
  const body = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256));
  const call = { method: 'POST', path: '/items/x', rawQuery: 'a=1&a=2', headers: [['content-type', 'application/octet-stream'], ['x-a', '1'], ['x-a', '2']] as [string, string][], body };

  it('round-trips a call with a binary body, repeated headers and its trigger, body as raw bytes', () => {
    for (const trigger of ['async', 'cron', 'webhook'] as const) {
      const payload = encodeCall(call, trigger);
      const back = decodeEnvelope(payload);
      assert.equal(back.trigger, trigger);
      assert.deepEqual({ ...back.call, body: Buffer.from(back.call.body) }, call);
      // No base64: the payload is the body plus a small header, not 4/3 of it.
      assert.ok(payload.length < body.length + 200, `${payload.length} bytes for a ${body.length}-byte body`);
    }
  });

  it("keeps the call's origin (client, scheme, prefix as the edge saw them at acceptance); an older job has none", () => {
    const origin = { client: ['203.0.113.7', 0] as [string, number], scheme: 'https' as const, prefix: '/edge' };
    assert.deepEqual(decodeEnvelope(encodeCall({ ...call, origin }, 'webhook')).call.origin, origin);
    assert.equal('origin' in decodeEnvelope(encodeCall(call)).call, false);
  });

  it("keeps an HTTP/1.0 request's version (ADR 0260); an HTTP/1.1 call's envelope, and an older job's, have none (1.1)", () => {
    assert.equal(decodeEnvelope(encodeCall({ ...call, httpVersion: '1.0' }, 'webhook')).call.httpVersion, '1.0');
    assert.equal('httpVersion' in decodeEnvelope(encodeCall(call)).call, false);
  });

  it('reads a version 1 envelope (JSON, body in base64) queued by an older platform', () => {
    const v1 = Buffer.from(JSON.stringify({ v: 1, method: 'GET', path: '/', rawQuery: '', headers: [['a', 'b']], bodyBase64: Buffer.from('hi').toString('base64'), trigger: 'cron' }));
    const back = decodeEnvelope(v1);
    assert.equal(back.trigger, 'cron');
    assert.equal(Buffer.from(back.call.body).toString(), 'hi');
    assert.deepEqual(back.call.headers, [['a', 'b']]);
  });

  it('refuses what is not an envelope', () => {
    assert.throws(() => decodeEnvelope(Buffer.from('{"v": 3}')));
    assert.throws(() => decodeEnvelope(Buffer.from([0x81, 0xa1, 0x76, 0x09])));
  });
});
