/** platform/console-url.ts: the console's URL the banner and `up` print (new-user round 5). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consoleUrlOf } from '../../platform/console-url.js';

describe('the console URL in the banner', () => {
  it('is console.<base domain> on the listening port without a public URL', () => {
    assert.equal(consoleUrlOf('localhost', undefined, 'http://127.0.0.1:8080', 8080), 'http://console.localhost:8080/console/');
  });
  it('takes the public URL\'s scheme and port behind a proxy (FP_PUBLIC_URL), not the listening port', () => {
    assert.equal(consoleUrlOf('fp.example.com', 'https://fp.example.com/', 'http://127.0.0.1:8080', 8080), 'https://console.fp.example.com/console/');
    assert.equal(consoleUrlOf('fp.example.com', 'http://fp.example.com:8443', 'http://127.0.0.1:8080', 8080), 'http://console.fp.example.com:8443/console/');
  });
  it('is /console/ of the public URL, else of the listening one, with host routing off', () => {
    assert.equal(consoleUrlOf(null, 'https://example.com/platform/', 'http://127.0.0.1:8080', 8080), 'https://example.com/platform/console/');
    assert.equal(consoleUrlOf(null, undefined, 'http://127.0.0.1:8080', 8080), 'http://127.0.0.1:8080/console/');
  });
});
