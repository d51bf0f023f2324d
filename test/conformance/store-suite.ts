/**
 * The store conformance suite: every Store adapter (embedded SQLite now, Redis + MongoDB later)
 * must pass all of it. An adapter's test file calls `storeConformance` at top level:
 *
 *   storeConformance('sqlite', () => openSqliteStore({ stateDir: freshTempDir(), keyring }), { rawBytes, keyring, masterKey, reopen });
 *
 * `open` must return a fresh, empty, isolated store each call; each test closes what it opened.
 * Assertions are on error codes, never messages.
 */
import { describe } from 'node:test';
import type { ConformanceHooks, OpenStore } from './fixtures.js';
import { functionTests } from './store-functions.js';
import { runTests } from './store-runs.js';
import { secretsAtRestTests } from './store-keys.js';
import { blobTests, lifecycleTests, tokenTests } from './store-secrets.js';
import { workbenchTests } from './store-workbench.js';
import { tenancyTests } from './store-tenancy.js';
import { versionDeleteTests } from './store-versions.js';
import { versionStartCheckTests } from './store-version-starts.js';
import { deleteFaultTests } from './store-deletes.js';

export type { ConformanceHooks, OpenStore } from './fixtures.js';

export function storeConformance(name: string, open: OpenStore, hooks: ConformanceHooks): void {
  describe(`store conformance: ${name}`, () => {
    functionTests(open);
    runTests(open);
    tokenTests(open, hooks);
    secretsAtRestTests(open, hooks);
    blobTests(open);
    workbenchTests(open);
    tenancyTests(open);
    versionDeleteTests(open);
    versionStartCheckTests(open);
    lifecycleTests(open);
    deleteFaultTests(open, hooks);
  });
}
