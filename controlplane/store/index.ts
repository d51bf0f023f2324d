/**
 * The control plane's storage: ports (./types.ts) and the factory that picks an adapter from
 * configuration. Code outside this folder calls `openStore` and sees only the `Store` ports.
 */
import { openSqliteStore } from './sqlite/index.js';
import type { Store } from './types.js';

export type * from './types.js';
export { StoreError, isStoreError, STORE_ERROR_CODES, type StoreErrorCode } from './errors.js';
export { hashSecret } from './secrets.js';

/** Which adapter to open. `production` (Redis + MongoDB) arrives with issue 4. */
export type StoreConfig = {
  kind: 'embedded';
  stateDir: string;
  /** Default Date.now; tests pass a fake clock. */
  now?: () => number;
};

export async function openStore(config: StoreConfig): Promise<Store> {
  switch (config.kind) {
    case 'embedded':
      return openSqliteStore({ stateDir: config.stateDir, ...(config.now ? { now: config.now } : {}) });
  }
}
