/**
 * What a function's environment holds of the platform's (poolmgr's runtimeChildEnv): PATH, LANG,
 * the TLS trust settings that name something (a function behind a TLS-inspecting proxy needs the
 * host's CA bundle, as the same app under uvicorn has it), and the variables FP_FUNCTION_HOST_ENV
 * names; never the platform's own (FP_*, cloud keys). The function's own env wins.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deployed, py, usePlatform } from './platform-harness.js';

const CA = '/etc/ssl/certs/ca-certificates.crt';
const h = usePlatform({
  functionHostEnv: 'HTTPS_PROXY, NO_PROXY',
  runtimeEnv: {
    PATH: process.env['PATH'], LANG: 'C.UTF-8', SSL_CERT_FILE: '/etc/passwd', SSL_CERT_DIR: '/no/such/dir',
    HTTPS_PROXY: 'http://proxy.invalid:3128', NO_PROXY: 'localhost', FP_ADMIN_TOKEN: 'platform-secret', AWS_SECRET_ACCESS_KEY: 'cloud-secret',
  },
});

describe("a function's environment from the platform's", () => {
  it('holds the trust settings that exist and the variables named, not the platform\'s own; its own env wins', async () => {
    const show = py('import os', 'def handler(event, context):', '    return {k: os.environ.get(k) for k in ("SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "NO_PROXY", "FP_ADMIN_TOKEN", "AWS_SECRET_ACCESS_KEY")}');
    await deployed(h.api, "envplain", { "main.py": show });
    const plain = "envplain";
    const res = await fetch(`${h.url}/fn/${plain}/`);
    assert.deepEqual(await res.json(), {
      SSL_CERT_FILE: '/etc/passwd', SSL_CERT_DIR: null, HTTPS_PROXY: 'http://proxy.invalid:3128', NO_PROXY: 'localhost', FP_ADMIN_TOKEN: null, AWS_SECRET_ACCESS_KEY: null,
    });
    await deployed(h.api, "envown", { "main.py": show }, { env: { SSL_CERT_FILE: CA, HTTPS_PROXY: "" } });
    const own = "envown";
    const mine = (await (await fetch(`${h.url}/fn/${own}/`)).json()) as Record<string, string | null>;
    assert.equal(mine['SSL_CERT_FILE'], CA);
    assert.equal(mine['HTTPS_PROXY'], '');
  });
});
