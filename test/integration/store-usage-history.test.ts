/** Hourly usage rollups (UsageHistory): one conformance suite against SQLite (embedded) and MongoDB (FerretDB). */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { openMongoStore } from '../../controlplane/store/production/index.js';
import { openSqliteStore } from '../../controlplane/store/sqlite/index.js';
import { usageHistoryConformance } from '../conformance/usage-history-suite.js';
import { serverSkip, startFerret, type ServerProcess } from '../helpers/servers.js';
import { testKeyring } from '../helpers/keyring.js';

const ring = testKeyring();

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

usageHistoryConformance('sqlite', async (now) => {
  const dir = await mkdtemp(join(tmpdir(), 'fp-history-'));
  dirs.push(dir);
  return openSqliteStore({ keyring: ring, stateDir: dir, now });
});

const skip = serverSkip('ferretdb');
let ferret: ServerProcess | null = null;
if (!skip) {
  ferret = await startFerret();
  after(() => ferret?.destroy());
}

describe('usage history on FerretDB', { skip }, () => {
  usageHistoryConformance('production (MongoDB wire, FerretDB)', (now) => openMongoStore({ keyring: ring, url: ferret!.url, database: `fp_hist_${randomBytes(5).toString('hex')}`, now }));
});
