/**
 * consoleElsewhere (gateway/console-origin.ts): `/console/` on the platform's host sends a browser to
 * the console's own origin, except where that origin is `console.localhost` and the browser is on
 * another machine (it asked for the platform by address or name): then a page says how to reach it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { consoleElsewhere } from '../../gateway/console-origin.js';

describe('consoleElsewhere', () => {
  test('a browser on the platform\'s machine, or any host under another base domain: 302 to the console\'s origin', () => {
    for (const host of ['127.0.0.1:8080', 'localhost:8080', 'localhost', 'api.localhost:9000', 'fn.team.localhost:8080', '[::1]:8080']) {
      const res = consoleElsewhere('localhost', [['host', host]], '/console/');
      assert.equal(res.status, 302, host);
      assert.equal(res.headers.find(([k]) => k === 'location')?.[1], `//console.localhost${/:\d+$/.exec(host)?.[0] ?? ''}/console/`, host);
    }
    const other = consoleElsewhere('platform.example.com', [['host', '10.0.0.5:8080']], '/console/#/x');
    assert.deepEqual([other.status, other.headers.find(([k]) => k === 'location')?.[1]], [302, '//console.platform.example.com:8080/console/#/x']);
  });

  test('another machine with the default base domain: a page naming the tunnel, FP_BASE_DOMAIN and none, not a redirect to its own localhost', () => {
    for (const host of ['192.168.1.10:8080', 'homelab:8080', 'homelab.lan', 'evil<script>:8080']) {
      const res = consoleElsewhere('localhost', [['host', host]], '/console/');
      assert.equal(res.status, 200, host);
      assert.equal(res.headers.find(([k]) => k === 'location'), undefined);
      const page = String(res.body);
      assert.match(page, /ssh -L/);
      assert.match(page, /FP_BASE_DOMAIN=none/);
      assert.ok(!page.includes('<script'), 'the Host is never written into the page');
      assert.equal(res.headers.find(([k]) => k === 'content-security-policy')?.[1], "default-src 'none'");
    }
    assert.match(String(consoleElsewhere('localhost', [['host', '192.168.1.10:9000']], '/console/').body), /ssh -L 9000:127\.0\.0\.1:9000 .*http:\/\/console\.localhost:9000\/console\//s);
  });
});
