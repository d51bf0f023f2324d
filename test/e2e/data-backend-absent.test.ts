/**
 * A platform without a database server for data bindings (no FerretDB found, FP_DATA=off): a deploy
 * of a function that binds one is refused, and the message says what the operator does, to the
 * end: with FerretDB installed, the platform finds it only at its next start (new-user round 4: the
 * message named the install only, and the platform that was running went on refusing), and says why
 * it has none: under FP_DATA=off (`dev`'s own too) it said to install the FerretDB that was installed
 * (new-user round 6; the other reasons: unit/platform-data-off-reason).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPlatform, type StartedPlatform } from '../../platform/start.js';
import { spawnCli } from '../helpers/cli-harness.js';
import { TEST_SECRETS_KEY } from './platform-harness.js';

describe('a deploy binding a database, on a platform without a database server', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-no-data-'));
  let platform: StartedPlatform;
  let token = '';
  before(async () => {
    platform = await startPlatform({ stateDir: join(dir, 'state'), port: 0, poolSize: 1, shutdownGraceMs: 1000, secretsKey: TEST_SECRETS_KEY, data: 'off', log: () => {} });
    token = platform.takeAdminToken()!;
  });
  after(async () => {
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is refused DATA_BACKEND_NOT_CONFIGURED, saying FP_DATA=off turned bindings off and to start again without it', async () => {
    const fn = join(dir, 'orders');
    mkdirSync(fn);
    writeFileSync(join(fn, 'main.py'), 'def handler(event, context):\n    return {"n": context.db.orders.count_documents({})}\n');
    writeFileSync(join(fn, 'platform.yaml'), 'kind: function\nname: orders\nentrypoint: main:handler\ndata:\n  mongo:\n    database: app\n');
    const r = await spawnCli(['deploy', fn], { env: { FP_URL: platform.url, FP_TOKEN: token, FP_CONFIG_DIR: join(dir, 'config') } });
    assert.equal(r.code, 4, r.stdout + r.stderr);
    assert.match(r.stderr, /no database server for data\.mongo bindings: FP_DATA=off turned them off at its start: start it again without FP_DATA=off .*\[DATA_BACKEND_NOT_CONFIGURED\]/s, r.stderr);
    assert.doesNotMatch(r.stderr, /installs FerretDB/, r.stderr);
  });
});
