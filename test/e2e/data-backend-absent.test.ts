/**
 * A platform without a database server for data bindings (no FerretDB found, FP_DATA=off): a deploy
 * of a function that binds one is refused, and the message says what the operator does, to the
 * end: with FerretDB installed, the platform finds it only at its next start (new-user round 4: the
 * message named the install only, and the platform that was running went on refusing).
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

  it('is refused DATA_BACKEND_NOT_CONFIGURED, saying to install FerretDB and start the platform again', async () => {
    const fn = join(dir, 'orders');
    mkdirSync(fn);
    writeFileSync(join(fn, 'main.py'), 'def handler(event, context):\n    return {"n": context.db.orders.count_documents({})}\n');
    writeFileSync(join(fn, 'platform.yaml'), 'kind: function\nname: orders\nentrypoint: main:handler\ndata:\n  mongo:\n    database: app\n');
    const r = await spawnCli(['deploy', fn], { env: { FP_URL: platform.url, FP_TOKEN: token, FP_CONFIG_DIR: join(dir, 'config') } });
    assert.equal(r.code, 4, r.stdout + r.stderr);
    assert.match(r.stderr, /no database server for data\.mongo bindings: its operator sets FP_DATA_MONGO_URL .*, or installs FerretDB for the embedded store \(bash scripts\/services\.sh\) and starts the platform again, which finds it.*\[DATA_BACKEND_NOT_CONFIGURED\]/s, r.stderr);
  });
});
