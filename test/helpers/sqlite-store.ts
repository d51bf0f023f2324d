/** An embedded store over a fresh temp directory for one `describe`, closed and removed after it. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Store } from '../../controlplane/store/index.js';
import { openSqliteStore } from '../../controlplane/store/sqlite/index.js';
import { testKey } from './keyring.js';

export interface StoreHarness {
  dir: string;
  store: Store;
  /** Closes the store and opens it again over the same directory (its page cache cold). */
  reopen(): Promise<void>;
}

/** Registers before/after hooks; `setup` runs once the store is open. */
export function useSqliteStore(prefix: string, setup?: (h: StoreHarness) => Promise<void>): StoreHarness {
  const { keyring } = testKey();
  const h = {} as StoreHarness;
  h.reopen = async () => {
    await h.store.close();
    h.store = await openSqliteStore({ stateDir: h.dir, keyring });
  };
  before(async () => {
    h.dir = await mkdtemp(join(tmpdir(), prefix));
    h.store = await openSqliteStore({ stateDir: h.dir, keyring });
    await setup?.(h);
  });
  after(async () => {
    await h.store?.close();
    if (h.dir) await rm(h.dir, { recursive: true, force: true });
  });
  return h;
}
