/**
 * Deploying a checked folder: create or update the function from the manifest, upload only the
 * contents the server lacks, create the version, deploy it. Shared by `deploy` and `up --demo`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiChanges, ApiClient, ApiContract, ApiFunction } from './client.js';
import { hashFiles, type HashedFile } from './files.js';
import type { Preflight } from './preflight.js';
import { formatDurationMs, formatMemoryBytes, formatRate, type Manifest } from '../protocol/index.js';

export interface DeployOptions {
  /** `auth` for a new function, or a change of it; absent: public for a new one, unchanged otherwise. */
  auth?: 'public' | 'token';
  /** Stored with the version (default: the manifest's `version`). */
  note?: string;
  /** Create and deploy a version even when nothing changed. */
  force?: boolean;
}

export interface DeployResult {
  function: string;
  created: boolean;
  /** Setting keys that changed (`limits.timeoutMs`); empty when none. */
  settingsChanged: string[];
  /** The function as the server now has it. */
  settings: ApiFunction;
  /** The deployed version; the active one when `unchanged`. */
  version: number;
  previousVersion: number | null;
  /** Nothing differed from the active version, so nothing was uploaded or deployed. */
  unchanged: boolean;
  /** Against the version that was active before (or the server's, against the previous number). */
  changes: ApiChanges;
  files: number;
  uploaded: number;
  uploadedBytes: number;
  invokeUrl: string;
  /** Where async runs are queued (`POST`), for an `async` or `both` function. */
  asyncUrl?: string;
  /** Only when this deploy made the function `auth: token` (created or switched): shown once by the server. */
  invokeToken?: string;
  auth: 'public' | 'token';
  /** The contract card after the deploy: limits, rate limit, the workspace's quotas with their use (absent from older servers). */
  contract?: ApiContract;
}

/**
 * Function settings as the API takes them, every key given (a PATCH merges limits, so a key
 * removed from platform.yaml must be sent as its default to take effect): human units, env
 * with `${VAR}` resolved.
 */
export function settingsFromManifest(m: Manifest, update = false): Record<string, unknown> {
  const l = m.limits;
  // A rate limit removed from platform.yaml is removed on the server too (a PATCH's null).
  const rate = l.rate !== undefined ? { rate: formatRate(l.rate), burst: l.burst } : update ? { rate: null } : {};
  return {
    preset: m.runtime,
    invocation: m.invocation,
    limits: { timeout: formatDurationMs(l.timeoutMs), memory: formatMemoryBytes(l.memoryBytes), concurrency: l.concurrency, maxInstances: l.maxInstances, minWarm: l.minWarm, maxQueue: l.maxQueue, ...rate },
    env: m.env,
    retry: { maxAttempts: m.retry.maxAttempts, backoff: formatDurationMs(m.retry.backoffBaseMs), maxBackoff: formatDurationMs(m.retry.backoffMaxMs), maxEventAge: formatDurationMs(m.retry.maxEventAgeMs) },
  };
}

/** Dotted keys whose values differ between two function records (settings only). */
export function changedSettings(before: ApiFunction, after: ApiFunction): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a)) {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of [...keys].sort()) walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    } else if (JSON.stringify(a) !== JSON.stringify(b)) out.push(path);
  };
  for (const key of ['preset', 'invocation', 'limits', 'env', 'auth', 'retry'] as const) walk(before[key], after[key], key);
  return out;
}

/** File changes from `before` to `after` (by path and sha256), each list sorted. */
export function diffFiles(before: readonly { path: string; sha256: string }[], after: readonly { path: string; sha256: string }[]): ApiChanges {
  const old = new Map(before.map((f) => [f.path, f.sha256]));
  const now = new Map(after.map((f) => [f.path, f.sha256]));
  return {
    added: [...now.keys()].filter((p) => !old.has(p)).sort(),
    modified: [...now.keys()].filter((p) => old.has(p) && old.get(p) !== now.get(p)).sort(),
    removed: [...old.keys()].filter((p) => !now.has(p)).sort(),
  };
}

/** Deploys a folder that passed the preflight. */
export async function deployFolder(client: ApiClient, checked: Preflight, options: DeployOptions = {}): Promise<DeployResult> {
  const manifest = checked.manifest!;
  const raw = checked.rawManifest as Record<string, unknown>;
  const name = manifest.name;
  const existing = await client.getFunction(name);
  let fn: ApiFunction;
  let invokeUrl: string;
  let asyncUrl: string | undefined;
  let invokeToken: string | undefined;
  let settingsChanged: string[] = [];
  if (existing === null) {
    const created = await client.createFunction({ name, ...settingsFromManifest(manifest), auth: options.auth ?? 'public' });
    fn = created.function;
    invokeUrl = created.invokeUrl;
    asyncUrl = created.asyncUrl;
    invokeToken = created.invokeToken;
  } else {
    const updated = await client.updateFunction(name, { ...settingsFromManifest(manifest, true), ...(options.auth ? { auth: options.auth } : {}) });
    fn = updated.function;
    invokeUrl = existing.invokeUrl;
    asyncUrl = updated.asyncUrl;
    invokeToken = updated.invokeToken; // issued when this change switched the function to token auth
    settingsChanged = changedSettings(existing.function, fn);
  }

  const files = await hashFiles(checked.dir, checked.files);
  const previousVersion = fn.activeVersion;
  const active = previousVersion === null ? null : await client.getVersion(name, previousVersion);
  const localChanges = active === null ? diffFiles([], files) : active.files ? diffFiles(active.files, files) : null;
  const sameCode = localChanges !== null && active !== null && active.entrypoint === manifest.entrypoint
    && localChanges.added.length + localChanges.modified.length + localChanges.removed.length === 0
    && JSON.stringify(active.manifest) === JSON.stringify(raw);
  const base = { function: name, created: existing === null, settingsChanged, settings: fn, previousVersion, files: files.length, invokeUrl, ...(asyncUrl !== undefined ? { asyncUrl: `${asyncUrl}/` } : {}), auth: fn.auth, ...(invokeToken ? { invokeToken } : {}) };
  if (sameCode && !options.force) {
    const contract = (await client.getFunction(name))?.contract;
    return { ...base, version: previousVersion!, unchanged: true, changes: localChanges!, uploaded: 0, uploadedBytes: 0, ...(contract !== undefined ? { contract } : {}) };
  }

  const { uploaded, uploadedBytes } = await uploadMissing(client, checked.dir, files);
  const note = options.note ?? manifest.version;
  const version = await client.createVersion(name, {
    entrypoint: manifest.entrypoint,
    manifest: raw,
    ...(note !== undefined ? { note } : {}),
    files: files.map(({ path, sha256, size }) => ({ path, sha256, size })),
  });
  await client.deploy(name, version.version);
  // The card as it is now (the upload counts against the workspace's code quota).
  const contract = (await client.getFunction(name))?.contract;
  return { ...base, version: version.version, unchanged: false, changes: localChanges ?? version.changes, uploaded, uploadedBytes, ...(contract !== undefined ? { contract } : {}) };
}

/** Asks which contents the server lacks and uploads only those (each distinct content once). */
async function uploadMissing(client: ApiClient, dir: string, files: readonly HashedFile[]): Promise<{ uploaded: number; uploadedBytes: number }> {
  const byHash = new Map<string, HashedFile>();
  for (const f of files) if (!byHash.has(f.sha256)) byHash.set(f.sha256, f);
  const missing = new Set(await client.missingBlobs([...byHash.keys()]));
  let uploadedBytes = 0;
  for (const sha of missing) {
    const file = byHash.get(sha);
    if (file === undefined) continue; // the server named a hash we did not ask about
    const content = await readFile(join(dir, file.path));
    await client.putBlob(sha, content);
    uploadedBytes += content.length;
  }
  return { uploaded: files.filter((f) => missing.has(f.sha256)).length, uploadedBytes };
}
