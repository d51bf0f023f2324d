/** Helpers shared by the store conformance sections. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Keyring } from '../../controlplane/secrets/index.js';
import type { FileEntry, FunctionSettings, Store } from '../../controlplane/store/index.js';
import type { RunRecord } from '../../protocol/index.js';

export type OpenStore = () => Promise<Store>;

export interface ConformanceHooks {
  /**
   * Every byte the adapter has persisted for this store (database files, documents, blobs),
   * concatenated: the token and secrets tests search it for clear secrets. Required, so no
   * adapter can skip the check.
   */
  rawBytes(store: Store): Promise<Buffer>;
  /** The keyring `open` opens stores with… */
  keyring: Keyring;
  /** …made of this one master key. */
  masterKey: Uint8Array;
  /** The same persisted state as `store` (closed by the caller first) opened again with another keyring. */
  reopen(store: Store, keyring: Keyring): Promise<Store>;
  /**
   * Deletes `name` (at `revision`) with a real fault right after the function is gone for the
   * store's readers, before its cleanup (production: the server stopped there, then started
   * again); a store whose delete is one transaction has no such point and just deletes (ADR 0156).
   */
  interruptDelete(store: Store, name: string, revision: number): Promise<void>;
}

/** Opens a store, runs `fn`, closes it even when `fn` fails. */
export async function withStore<T>(open: OpenStore, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await open();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Asserts that `promise` rejects with an error whose `code` is `code` (never the message). */
export async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, code);
    return true;
  });
}

export function uniqueName(prefix = 'fn'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export function settings(overrides: Partial<FunctionSettings> = {}): FunctionSettings {
  return {
    preset: 'http',
    invocation: 'sync',
    limits: { timeoutMs: 30_000, memoryBytes: 256 * 1024 * 1024, concurrency: 1, maxInstances: 10, minWarm: 0, maxQueue: 100 },
    env: { GREETING: 'hello' },
    auth: 'public',
    ...overrides,
  };
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Puts `content` as a blob and returns the file entry naming it. */
export async function file(store: Store, path: string, content: string): Promise<FileEntry> {
  const data = Buffer.from(content);
  const { sha256: hash, size } = await store.blobs.put(data);
  return { path, sha256: hash, size };
}

let runCounter = 0;

export function run(overrides: Partial<RunRecord> = {}): RunRecord {
  runCounter++;
  return {
    runId: `run-${runCounter.toString().padStart(6, '0')}-${randomBytes(3).toString('hex')}`,
    attempt: 1,
    function: 'fn-a',
    version: '1',
    trigger: 'http',
    cold: false,
    start: 'warm',
    initMs: 0,
    handlerMs: 1.5,
    queuedMs: 0,
    durationMs: 2.25,
    status: 'succeeded',
    httpStatus: 200,
    errorCode: null,
    errorClass: null,
    error: null,
    logs: [{ stream: 'stdout', ts: 1_700_000_000_000, msg: 'hello' }],
    startedAt: 1_700_000_000_000,
    ...overrides,
  };
}
