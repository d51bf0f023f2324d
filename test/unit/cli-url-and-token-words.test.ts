/**
 * What a new user copies by mistake is named as such, before any request (new-user round 3): a
 * `--url`/`FP_URL` that is one of the platform's pages (the banner's `API: …/api/v1/`) answered
 * ROUTE_NOT_FOUND for `/api/v1/api/v1/functions`, and a token holding a line break (`tokens create
 * … | login`: the whole message) or a character past ASCII was reported as "cannot reach the
 * platform … Is it running?" (UNREACHABLE, ERR_INVALID_CHAR).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { main } from '../../cli/main.js';
import { EXIT } from '../../cli/errors.js';

/** Runs the CLI against a port nothing listens on: any request made would be UNREACHABLE (exit 5). */
async function run(argv: string[], env: Record<string, string> = {}, stdin = ''): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const code = await main(argv, {
    io: { stdout: () => undefined, stderr: (t) => { stderr += t; }, readStdin: async () => Buffer.from(stdin), stdinKind: stdin === '' ? 'tty' : 'pipe' },
    env: { FP_CONFIG_DIR: '/nonexistent-fp-config', ...env },
    cwd: '/',
    waitForSignal: () => new Promise(() => undefined),
  });
  return { code, stderr };
}

describe('a URL or token copied with too much', () => {
  it('--url and FP_URL naming one of the platform\'s pages: a usage error naming the address to use', async () => {
    const api = await run(['functions', '--url', 'http://127.0.0.1:9/api/v1/']);
    assert.equal(api.code, EXIT.USAGE, api.stderr);
    assert.match(api.stderr, /--url is the platform's address, not one of its pages \(\/api\/v1\/\): use http:\/\/127\.0\.0\.1:9\n/);
    const consolePage = await run(['functions'], { FP_URL: 'http://console.localhost:9/console/' });
    assert.equal(consolePage.code, EXIT.USAGE, consolePage.stderr);
    assert.match(consolePage.stderr, /FP_URL is the platform's address, not one of its pages \(\/console\/\): use http:\/\/localhost:9\n/);
    const fn = await run(['runs', '--url', 'https://fp.example.com/platform/fn/hello/']);
    assert.match(fn.stderr, /use https:\/\/fp\.example\.com\/platform\n/);
    // A platform behind a proxy's prefix is an address like any other: the request is made.
    assert.equal((await run(['functions', '--url', 'http://127.0.0.1:9/functions-platform'])).code, EXIT.UNREACHABLE);
  });

  it('a token holding a line break or a character past ASCII: a usage error saying so, not UNREACHABLE', async () => {
    const piped = await run(['login', 'http://127.0.0.1:9'], {}, 'Created owner token tok_1 of workspace acme.\nThe token (shown once):\n  fpw_abc\n');
    assert.equal(piped.code, EXIT.USAGE, piped.stderr);
    assert.match(piped.stderr, /the token holds a line break, so it was not sent: a token is one word .*--json has it as "secret"/);
    assert.doesNotMatch(piped.stderr, /cannot reach|UNREACHABLE/);
    const ellipsis = await run(['functions', '--url', 'http://127.0.0.1:9'], { FP_TOKEN: 'fpa_abc…' });
    assert.equal(ellipsis.code, EXIT.USAGE, ellipsis.stderr);
    assert.match(ellipsis.stderr, /the token holds the character "…"/);
    const header = await run(['invoke', 'f', '--url', 'http://127.0.0.1:9', '-H', 'x-a: a\u0001b']);
    assert.equal(header.code, EXIT.USAGE, header.stderr);
    assert.match(header.stderr, /the header x-a holds a control character \(U\+0001\)/);
  });
});
