/**
 * PROXY protocol headers (HAProxy's `send-proxy`, a cloud load balancer's "proxy protocol") at the
 * start of a connection (docs/adr/0255-proxy-protocol-headers-are-refused.md): the gateway takes
 * no client address from them. A v2 header naming a client is answered 400
 * PROXY_PROTOCOL_REFUSED and the connection closed (the pinned uWS build parsed it and dropped it
 * silently, so the app saw the proxy as its client); a v1 header is the parser's 505; a v2 `LOCAL`
 * header (a proxy's own health check, naming no client) is served as from its peer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fnName, py, useGateway } from './gateway-harness.js';
import { assertNativeAnswer } from './native-refusal.js';
import { rawExchange } from './raw-exchange.js';

const OK = fnName('ok');
const h = useGateway({
  [OK]: { files: { 'main.py': py('def handler(event, context):', '    return {"ip": event["requestContext"]["http"]["sourceIp"]}') } },
});

const GET = `GET /fn/${OK}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
const SIGNATURE = Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1');

/** A PROXY v2 header: `command` 0x21 (PROXY) or 0x20 (LOCAL), `family` 0x11 (TCP over IPv4), 0x21 (IPv6) or 0x00. */
function v2(command: number, family: number, address: number[]): Buffer {
  return Buffer.concat([SIGNATURE, Buffer.from([command, family, address.length >> 8, address.length & 0xff, ...address])]);
}
const V4 = [203, 0, 113, 7, 127, 0, 0, 1, 0xd4, 0x31, 0x00, 0x50]; // 203.0.113.7:54321 → 127.0.0.1:80
const V6 = [...Array(15).fill(0), 1, ...Array(15).fill(0), 1, 0xd4, 0x31, 0x00, 0x50];

describe('PROXY protocol headers', () => {
  for (const [what, head] of [['v2 over IPv4', v2(0x21, 0x11, V4)], ['v2 over IPv6', v2(0x21, 0x21, V6)]] as const) {
    it(`a ${what} naming a client: 400 PROXY_PROTOCOL_REFUSED, the connection closed`, async () => {
      const answer = await rawExchange(h.gateway.port, [Buffer.concat([head, Buffer.from(GET)])], { waitMs: 5000 });
      assert.match(answer.text, /^HTTP\/1\.1 400 /, answer.text.slice(0, 200));
      const body = JSON.parse(answer.text.slice(answer.text.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
      assert.equal(body.error.code, 'PROXY_PROTOCOL_REFUSED');
      assert.match(answer.text, /\r\nconnection: close\r\n/i);
      assert.ok(answer.closed);
    });
  }
  it('a v1 header: the parser\'s 505, as any other request line that is not HTTP', async () => {
    const answer = await rawExchange(h.gateway.port, [`PROXY TCP4 203.0.113.7 127.0.0.1 54321 80\r\n${GET}`], { waitMs: 5000 });
    assertNativeAnswer(answer, 505);
  });
  it('a v2 LOCAL header (a health check of the proxy itself, no client named): served as from its peer', async () => {
    const answer = await rawExchange(h.gateway.port, [Buffer.concat([v2(0x20, 0x00, []), Buffer.from(GET)])], { waitMs: 5000 });
    assert.match(answer.text, /^HTTP\/1\.1 200 /, answer.text.slice(0, 200));
    assert.match(answer.text, /"ip": ?"127\.0\.0\.1"/);
  });
});
