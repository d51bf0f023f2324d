/**
 * `logs -f` against a platform it never reached (not running, a mistyped --url) ends with exit 5
 * and UNREACHABLE, as `logs` without -f does: it said "unreachable; retrying" once and then
 * retried in silence until Ctrl-C (new-user round 15). An outage after it followed is still waited
 * out (test/e2e/platform-logs.test.ts, the restart).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { createServer } from 'node:net';
import { spawnCli } from '../helpers/cli-harness.js';

/** A loopback port nothing listens on: one just freed (port 9 is refused by fetch itself, "bad port"). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('cli: logs --follow, platform not reached', () => {
  it('exits 5 with UNREACHABLE, with and without stored lines first', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const env = { FP_CONFIG_DIR: '/nonexistent-fp-config', FP_URL: url, FP_TOKEN: 'fpa_test' };
    for (const extra of [[], ['-n', '0'], ['-n', '0', '--json']]) {
      const r = await spawnCli(['logs', 'shop', '--follow', ...extra], { env, timeoutMs: 15_000 });
      assert.equal(r.code, EXIT.UNREACHABLE, `${extra.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.ok((r.stdout + r.stderr).includes(`cannot reach the platform at ${url} (ECONNREFUSED)`), r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /UNREACHABLE/);
      assert.doesNotMatch(r.stderr, /retrying/);
    }
  });
});
