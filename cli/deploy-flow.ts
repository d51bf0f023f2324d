/**
 * Deploying a checked folder: create or update the function from the manifest, upload only the
 * contents the server lacks, create the version, deploy it. Shared by `deploy`, `up --demo` and
 * `dev`. Requests that do not depend on each other go at once (bench/README.md, section 9).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiChanges, ApiClient, ApiContract, ApiDeps, ApiFunction, ApiStartReport, ApiVersion } from './client.js';
import { waitForDeps, type DepsProgress } from './deps-wait.js';
import { CliError } from './errors.js';
import { hashFiles, type HashedFile, type LocalFile } from './files.js';
import type { Preflight } from './preflight.js';
import { diffFiles, envReferences, formatDurationMs, formatMemoryBytes, formatRate, type Manifest, type Problem } from '../protocol/index.js';

export interface DeployOptions {
  /** `auth` for a new function, or a change of it; absent: public for a new one, unchanged otherwise. */
  auth?: 'public' | 'token';
  /** Stored with the version (default: the manifest's `version`). */
  note?: string;
  /** Create and deploy a version even when nothing changed. */
  force?: boolean;
  /** Where the progress of a dependency build goes (default: nowhere). */
  deps?: DepsProgress;
  /** Secret env values to set (or, null, remove) with the settings; names not given are kept. */
  secrets?: Record<string, string | null>;
  /** false: no start check (the platform starts the version before serving it, by default). */
  check?: boolean;
  /**
   * `dev`'s own platform (not `--remote`), gone at its exit: a refused first deploy is not followed by how to deploy
   * again or delete the function it created (the next valid save deploys; journey round 11).
   */
  devPlatform?: boolean;
}

/** Blob uploads in flight at once. */
const UPLOAD_CONCURRENCY = 4;

export interface DeployResult {
  function: string;
  created: boolean;
  /** Setting keys that changed (`limits.timeoutMs`); empty when none. */
  settingsChanged: string[];
  /** The same keys by what happened to them (an env value set by `env push` and not in platform.yaml: removed). */
  settingChanges: SettingChanges;
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
  /** The function at `/` of its own host (`http://<key>.localhost:8080/`), when the platform routes by host. */
  hostUrl?: string;
  /** Where async runs are queued (`POST`), for an `async` or `both` function. */
  asyncUrl?: string;
  /** The ids of the manifest's webhook triggers (each answers at `/hooks/<key>/<id>`). */
  webhooks?: string[];
  /** The version's cron triggers (id, schedule, zone): every tick is an async run. */
  crons?: { id: string; schedule: string; timezone: string }[];
  /** Only when this deploy made the function `auth: token` (created or switched): shown once by the server. */
  invokeToken?: string;
  /** When that invoke token ends: it was issued by a token with an expiry (ADR 0074). */
  invokeTokenExpiresAt?: number;
  auth: 'public' | 'token';
  /** The contract card after the deploy: limits, rate limit, the workspace's quotas with their use (absent from older servers). */
  contract?: ApiContract;
  /** The deployed version's dependencies (null: none declared, or nothing was deployed). */
  deps: ApiDeps | null;
  /** platform.yaml's env keys whose values came from the deploying shell's environment, with the variables each named. */
  envFromEnvironment: EnvFromEnvironment[];
  /** What the platform's start check found (absent: nothing deployed, no check asked for, or an older server). */
  start?: ApiStartReport;
  /** Versions the platform's retention deleted on this deploy (FP_KEEP_VERSIONS); absent: none. */
  pruned?: number[];
  /** The platform's warnings of the uploaded files (`POST /validate`'s rule); absent: not checked (no upload, busy, an older platform). */
  platformWarnings?: Problem[];
}

/**
 * An env key of platform.yaml whose value references the deploying shell's variables (`from`);
 * `unset`: those of them the shell did not set, so their `:-default` was used — a redeploy from
 * another shell (CI, a new terminal) quietly changes the value (`default`: the value, when every one was unset).
 */
export interface EnvFromEnvironment { key: string; from: string[]; unset: string[]; default?: string }

/** The env keys of a raw platform.yaml that reference variables of the environment the deploy runs in. */
export function envFromEnvironment(raw: Record<string, unknown>, unsetNames: readonly string[] = [], resolved: Record<string, string> = {}): EnvFromEnvironment[] {
  const env = raw['env'];
  if (env === null || typeof env !== 'object') return [];
  return Object.entries(env as Record<string, unknown>).flatMap(([key, value]) => {
    const from = typeof value === 'string' ? envReferences(value) : [];
    if (from.length === 0) return [];
    const unset = from.filter((name) => unsetNames.includes(name));
    // The value is printed only when no variable of the shell went into it (it is platform.yaml's text then).
    const fallback = unset.length === from.length ? resolved[key] : undefined;
    return [{ key, from, unset, ...(fallback !== undefined ? { default: fallback } : {}) }];
  });
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

/**
 * The PATCH that puts a function's settings back as `fn` had them: a deploy refused after it
 * changed them (its version did not start, its dependencies did not build) leaves the function as
 * it was, with the version that keeps serving. Secrets are not touched by a deploy's settings.
 */
export function settingsOf(fn: ApiFunction): Record<string, unknown> {
  const l = fn.limits as Record<string, unknown> & { timeoutMs: number; memoryBytes: number };
  const rate = l['rate'] as { requests: number; periodMs: number } | undefined;
  const r = fn.retry;
  return {
    preset: fn.preset,
    invocation: fn.invocation,
    auth: fn.auth,
    limits: {
      timeout: formatDurationMs(l.timeoutMs), memory: formatMemoryBytes(l.memoryBytes), concurrency: l['concurrency'], maxInstances: l['maxInstances'],
      minWarm: l['minWarm'], maxQueue: l['maxQueue'], ...(rate !== undefined ? { rate: formatRate(rate), burst: l['burst'] } : { rate: null }),
    },
    env: fn.env,
    ...(r !== undefined ? { retry: { maxAttempts: r['maxAttempts'], backoff: formatDurationMs(r['backoffBaseMs']!), maxBackoff: formatDurationMs(r['backoffMaxMs']!), maxEventAge: formatDurationMs(r['maxEventAgeMs']!) } } : {}),
  };
}

/**
 * Puts back the settings a refused deploy had changed (`before` → `applied`), without undoing a
 * change another client made since (ADR 0159): env values by name (`envChanges`: only the names the
 * deploy set or removed), every other setting on the condition that it is still what the deploy
 * set (`ifMatch`); one that another client changed since is left as that client made it. False
 * when nothing could be put back.
 */
async function restoreSettings(client: ApiClient, name: string, before: ApiFunction, applied: ApiFunction): Promise<boolean> {
  const { env: _env, ...whole } = settingsOf(before);
  const envChanges: Record<string, string | null> = {};
  for (const key of new Set([...Object.keys(before.env), ...Object.keys(applied.env)])) {
    if (before.env[key] !== applied.env[key]) envChanges[key] = before.env[key] ?? null;
  }
  const tags = applied.settingTags ?? {};
  let keys = Object.keys(whole);
  for (let attempt = 0; attempt < 2; attempt++) {
    const ifMatch = Object.fromEntries(keys.filter((k) => tags[k] !== undefined).map((k) => [k, tags[k]!]));
    const body = { ...Object.fromEntries(keys.map((k) => [k, whole[k]])), ...(Object.keys(envChanges).length > 0 ? { envChanges } : {}), ...(Object.keys(ifMatch).length > 0 ? { ifMatch } : {}) };
    try {
      await client.updateFunction(name, body);
      return true;
    } catch (err) {
      // Changed by another client since this deploy set it: that one stays as they made it.
      const changed = err instanceof CliError && err.code === 'SETTING_CONFLICT' && Array.isArray(err.details['settings']) ? err.details['settings'] as string[] : null;
      if (changed === null) return false;
      keys = keys.filter((k) => !changed.includes(k));
    }
  }
  return false;
}

/** Dotted keys whose values differ between two function records (settings only). */
export function changedSettings(before: ApiFunction, after: ApiFunction): string[] {
  const { added, changed, removed } = settingChanges(before, after);
  const all = new Set([...added, ...changed, ...removed]);
  return walkOrder(before, after).filter((p) => all.has(p));
}

/** Setting paths that differ, in walk order (sorted keys); `kinds` gets each one's kind. */
function walkOrder(before: ApiFunction, after: ApiFunction, kinds?: Map<string, keyof SettingChanges>): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a)) {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of [...keys].sort()) walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      out.push(path);
      kinds?.set(path, a === undefined ? 'added' : b === undefined ? 'removed' : 'changed');
    }
  };
  for (const key of ['preset', 'invocation', 'limits', 'env', 'auth', 'retry'] as const) walk(before[key], after[key], key);
  return out;
}

/** Setting paths a deploy added, changed and removed (`env.GREETING`, `limits.timeoutMs`). */
export interface SettingChanges {
  added: string[];
  changed: string[];
  removed: string[];
}

export function settingChanges(before: ApiFunction, after: ApiFunction): SettingChanges {
  const kinds = new Map<string, keyof SettingChanges>();
  const out: SettingChanges = { added: [], changed: [], removed: [] };
  for (const path of walkOrder(before, after, kinds)) out[kinds.get(path)!].push(path);
  return out;
}

/** `added env.B; changed limits.timeoutMs; removed env.A, env.C` (what printDeploy says). */
export function describeSettingChanges(c: SettingChanges): string {
  return (['added', 'changed', 'removed'] as const).filter((k) => c[k].length > 0).map((k) => `${k} ${c[k].join(', ')}`).join('; ');
}

/**
 * What a deploy reads before it changes anything: the function as the server has it, the files'
 * hashes, the active version's files (to diff against) and the contents the server lacks. Safe to
 * start before the preflight has passed (it changes nothing): `deploy` runs it beside the Python check.
 */
export interface DeployPlan {
  existing: Awaited<ReturnType<ApiClient['getFunction']>>;
  files: HashedFile[];
  byHash: Map<string, HashedFile>;
  active: ApiVersion | null;
  missing: string[];
}

export async function planDeploy(client: ApiClient, dir: string, name: string, local: readonly LocalFile[]): Promise<DeployPlan> {
  const [existing, files] = await Promise.all([client.getFunction(name), hashFiles(dir, local)]);
  const byHash = new Map<string, HashedFile>();
  for (const f of files) if (!byHash.has(f.sha256)) byHash.set(f.sha256, f);
  const activeVersion = existing?.function.activeVersion ?? null;
  const [active, missing] = await Promise.all([
    activeVersion === null ? null : client.getVersion(name, activeVersion),
    client.missingBlobs([...byHash.keys()]),
  ]);
  return { existing, files, byHash, active, missing };
}

/**
 * Deploys a folder that passed the preflight. `plan`: from planDeploy on the same folder (made
 * here when not given). The settings change and the uploads go at once, then the version is
 * created and deployed.
 */
export async function deployFolder(client: ApiClient, checked: Preflight, options: DeployOptions = {}, plan?: DeployPlan): Promise<DeployResult> {
  const manifest = checked.manifest!;
  const raw = checked.rawManifest as Record<string, unknown>;
  const name = manifest.name;
  const { existing, files, byHash, active, missing } = plan ?? (await planDeploy(client, checked.dir, name, checked.files));
  // On an update every key is sent, and `update` sends a removed rate limit as null (a PATCH merges limits).
  const settings = settingsFromManifest(manifest, existing !== null);
  const secrets = options.secrets ?? {};
  const givenSecrets = Object.fromEntries(Object.entries(secrets).filter((e): e is [string, string] => e[1] !== null));
  const previousVersion = existing?.function.activeVersion ?? null;

  const localChanges = active === null ? diffFiles([], files) : active.files ? diffFiles(active.files, files) : null;
  const sameCode = localChanges !== null && active !== null && active.entrypoint === manifest.entrypoint
    && localChanges.added.length + localChanges.modified.length + localChanges.removed.length === 0
    && JSON.stringify(active.manifest) === JSON.stringify(raw);
  const upload = !sameCode || options.force === true;

  const applySettings = () => existing === null
    ? client.createFunction({ name, ...settings, auth: options.auth ?? 'public', ...(Object.keys(givenSecrets).length > 0 ? { secrets: givenSecrets } : {}) })
    : client.updateFunction(name, { ...settings, ...(options.auth ? { auth: options.auth } : {}), ...(Object.keys(secrets).length > 0 ? { secrets } : {}) });
  // An existing function's settings change only once its new version is uploaded and built: a
  // deploy the platform refuses on the way (a bad manifest, a quota, a dependency build) leaves the
  // function as it was. A new one is created first (its versions need it), a settings-only change
  // goes at once.
  const settingsFirst = existing === null || !upload;
  // Both settle before either's refusal is said: an upload refused (the workspace's codeBytes)
  // while the create was still on its way left the new function behind, unsaid (ADR 0170).
  const [made, sent] = await Promise.allSettled([
    settingsFirst ? applySettings() : null,
    upload ? uploadMissing(client, checked.dir, byHash, missing) : 0,
  ]);
  if (made.status === 'rejected') throw made.reason;
  if (sent.status === 'rejected') throw existing === null ? await undoCreate(client, name, made.value?.function ?? null, sent.reason, options) : sent.reason;
  const early = made.value;
  const uploadedBytes = sent.value;
  const resultOf = (applied: Awaited<ReturnType<typeof applySettings>>) => {
    const fn = applied.function;
    // A token is issued when the function was created `auth: token` or a change switched it to token.
    const invokeToken = applied.invokeToken;
    const invokeTokenExpiresAt = applied.invokeTokenExpiresAt;
    const invokeUrl = existing?.invokeUrl ?? applied.invokeUrl;
    const asyncUrl = applied.asyncUrl;
    const hostUrl = applied.hostUrl ?? existing?.hostUrl;
    const changes = existing === null ? { added: [], changed: [], removed: [] } : settingChanges(existing.function, fn);
    const settingsChanged = existing === null ? [] : changedSettings(existing.function, fn);
    const webhooks = manifest.triggers.flatMap((t) => (t.type === 'webhook' ? [t.id] : []));
    const crons = manifest.triggers.flatMap((t) => (t.type === 'cron' ? [{ id: t.id ?? '', schedule: t.schedule, timezone: t.timezone ?? 'UTC' }] : []));
    return { function: name, created: existing === null, settingsChanged, settingChanges: changes, settings: fn, previousVersion, files: files.length, invokeUrl, ...(hostUrl !== undefined ? { hostUrl } : {}), envFromEnvironment: envFromEnvironment(raw, checked.envUnset, manifest.env), ...(asyncUrl !== undefined ? { asyncUrl } : {}), ...(webhooks.length > 0 ? { webhooks } : {}), ...(crons.length > 0 ? { crons } : {}), auth: fn.auth, ...(invokeToken ? { invokeToken } : {}), ...(invokeToken && invokeTokenExpiresAt !== undefined ? { invokeTokenExpiresAt } : {}) };
  };
  if (!upload) {
    // Nothing uploaded: the card in the create/update answer is current.
    const contract = early!.contract;
    return { ...resultOf(early!), version: previousVersion!, unchanged: true, changes: localChanges!, uploaded: 0, uploadedBytes: 0, deps: null, ...(contract !== undefined ? { contract } : {}) };
  }

  // The function after this deploy changed an existing function's settings: a refusal after that puts them back.
  let appliedFn: ApiFunction | null = null;
  // Whether the new function has a version: refused before one, the deploy takes its create back.
  let versionMade = false;
  try {
    const note = options.note ?? manifest.version;
    // The same folder deployed again after a refusal (its code did not load, its dependencies did
    // not build) deploys the version it made then: each retry made another identical version.
    const again = options.force === true || existing === null ? null : await sameAsLatest(client, name, active?.version ?? null, manifest.entrypoint, raw, files);
    const created = again !== null ? null : await client.createVersion(name, {
      entrypoint: manifest.entrypoint,
      manifest: raw,
      ...(note !== undefined ? { note } : {}),
      files: files.map(({ path, sha256, size, executable }) => ({ path, sha256, size, ...(executable === true ? { executable } : {}) })),
    });
    const version = again ?? created!;
    versionMade = true;
    // The platform builds declared dependencies off the upload; the deploy needs them ready.
    const deps = version.deps ? await waitForDeps(client, name, version.version, version.deps, options.deps ?? { progress: () => undefined, log: () => undefined }) : null;
    const applied = early ?? await applySettings();
    if (early === null) appliedFn = applied.function;
    const base = resultOf(applied);
    const { start, pruned } = await client.deploy(name, version.version, options.check !== false);
    const uploaded = files.filter((f) => missing.includes(f.sha256)).length;
    // The card as it is now (the upload counts against the workspace's code quota).
    const contract = (await client.getFunction(name))?.contract;
    const platformWarnings = created?.warnings;
    return { ...base, version: version.version, unchanged: false, changes: localChanges ?? version.changes, uploaded, uploadedBytes, deps, ...(contract !== undefined ? { contract } : {}), ...(start !== undefined ? { start } : {}), ...(pruned !== undefined && pruned.length > 0 ? { pruned } : {}), ...(platformWarnings !== undefined ? { platformWarnings } : {}) };
  } catch (err) {
    if (existing !== null && appliedFn !== null && changedSettings(existing.function, appliedFn).length > 0 && err instanceof CliError) {
      // The settings and env platform.yaml gave went in before the deploy the platform refused: put
      // back, the version that keeps serving would run with them (a refused deploy renamed an env
      // variable the serving version reads, and every call of it failed).
      const restored = await restoreSettings(client, name, existing.function, appliedFn);
      const lost = Object.keys(existing.function.env).filter((k) => !(k in manifest.env));
      const why = err.code === 'DEPLOY_START_FAILED' && lost.length > 0
        ? `\nThis deploy also removes env ${lost.join(', ')} (set by \`env set\` or \`env push\`, not in platform.yaml's env): if the version needs ${lost.length === 1 ? 'it' : 'them'}, add ${lost.length === 1 ? 'it' : 'them'} to platform.yaml or make ${lost.length === 1 ? 'it a secret' : 'them secrets'} (\`env set --secret\`).`
        : '';
      const back = restored ? '\n(The settings and env this deploy had changed were put back: the function is as it was.)' : '\n(The settings and env this deploy changed could not be put back: check them with `functions show`.)';
      throw new CliError(err.exitCode, err.code, `${err.message}${why}${back}`, err.details);
    }
    if (existing === null && !versionMade) throw await undoCreate(client, name, early?.function ?? null, err, options);
    // A first deploy refused after the create and its version (a dependency build, the start check)
    // keeps the function: the version's build log and load are what to read. Said where the refusal is.
    if (existing === null && err instanceof CliError && options.devPlatform !== true) {
      throw new CliError(err.exitCode, err.code, `${err.message}\n(The function "${name}" was created and is not deployed: deploy again once this is fixed, or remove it with \`fastapi-platform functions delete ${name}\`.)`, err.details);
    }
    throw err;
  }
}

/**
 * A first deploy refused before its function had a version (an upload or the version refused: the
 * workspace's codeBytes, a manifest the platform refuses): the function it created is deleted again,
 * so nothing stays and it holds none of the workspace's `functions` (ADR 0170). A token that may not
 * delete it (role deployer) leaves it, and the refusal says so and who removes it. Only while the
 * function is still the one it created (stillAsCreated): a teammate's deploy of the same name during
 * a long upload had made a version and deployed it, and the refusal deleted that function with its
 * versions (red team round 37). Returns the error to throw.
 */
async function undoCreate(client: ApiClient, name: string, created: ApiFunction | null, err: unknown, options: DeployOptions): Promise<unknown> {
  if (!(err instanceof CliError)) return err;
  let note: string;
  try {
    const ours = created === null ? false : await stillAsCreated(client, name, created);
    if (ours === 'gone') {
      note = `(Nothing was kept: the function "${name}" this deploy had created is gone already, so it takes none of the workspace's functions quota.)`;
    } else if (!ours || !(await deleteAsCreated(client, name, created!))) {
      note = `(The function "${name}" this deploy had created was not deleted: it has a version or settings this deploy did not give it, so someone deployed or changed it meanwhile. If it is not wanted, remove it with \`fastapi-platform functions delete ${name}\`.)`;
    } else {
      note = `(Nothing was kept: the function "${name}" this deploy had created was deleted again, so it takes none of the workspace's functions quota.)`;
    }
  } catch (undo) {
    const why = undo instanceof CliError ? ` (${undo.code})` : '';
    note = `(The function "${name}" was created and is not deployed; it counts in the workspace's functions quota until it is. Removing it was refused${why}: deploy again once this is fixed, or an owner removes it with \`fastapi-platform functions delete ${name}\`.)`;
  }
  return options.devPlatform === true ? err : new CliError(err.exitCode, err.code, `${err.message}\n${note}`, err.details);
}

/**
 * Deletes the function only as this deploy created it, in one request (ADR 0181): at the create's
 * revision and creation time, with no version. A teammate's create, version or deploy of the same
 * name that landed after stillAsCreated read it is refused by the platform (FUNCTION_CHANGED, or
 * REVISION_CONFLICT from another process's change) and kept: false. Before, the read and an
 * unconditional delete were two requests, and what landed between them was deleted.
 */
async function deleteAsCreated(client: ApiClient, name: string, created: ApiFunction): Promise<boolean> {
  const expect = { ifNoVersions: true, ...(created.revision !== undefined ? { ifRevision: created.revision } : {}), ...(created.createdAt !== undefined ? { ifCreatedAt: created.createdAt } : {}) };
  try {
    await client.deleteFunction(name, expect);
    return true;
  } catch (err) {
    if (err instanceof CliError && (err.code === 'FUNCTION_CHANGED' || err.code === 'REVISION_CONFLICT')) return false;
    throw err;
  }
}

/**
 * Whether the function `name` is still as this deploy created it: no version, nothing active, and
 * the settings it was created with (their tags, ADR 0159). A version or another setting is someone
 * else's deploy or change of the same name, which the undo of a refused first deploy must not delete;
 * `gone`: deleted meanwhile (nothing to undo).
 */
async function stillAsCreated(client: ApiClient, name: string, created: ApiFunction): Promise<boolean | 'gone'> {
  const now = await client.getFunction(name);
  if (now === null) return 'gone';
  if (now.function.activeVersion !== null || (await client.listVersions(name, 1)).length > 0) return false;
  return created.settingTags === undefined || JSON.stringify(now.function.settingTags) === JSON.stringify(created.settingTags);
}

/**
 * The function's newest version when it is not the active one, holds exactly these files,
 * entrypoint and manifest, and its dependencies did not fail to build; else null.
 */
export async function sameAsLatest(client: ApiClient, name: string, activeVersion: number | null, entrypoint: string, raw: unknown, files: readonly HashedFile[]): Promise<ApiVersion | null> {
  const [latest] = await client.listVersions(name, 1);
  if (latest === undefined || latest.version === activeVersion) return null;
  const version = await client.getVersion(name, latest.version);
  const changes = version.files ? diffFiles(version.files, files) : null;
  const same = changes !== null && changes.added.length + changes.modified.length + changes.removed.length === 0
    && version.entrypoint === entrypoint && JSON.stringify(version.manifest) === JSON.stringify(raw);
  // A failed dependency build is tried again only by a new upload (docs/dependencies.md).
  return same && version.deps?.state !== 'failed' ? version : null;
}

/** Uploads the contents the server said it lacks (each distinct content once, a few at a time); returns the bytes sent. */
async function uploadMissing(client: ApiClient, dir: string, byHash: ReadonlyMap<string, HashedFile>, missing: readonly string[]): Promise<number> {
  const queue = missing.filter((sha) => byHash.has(sha)); // a hash the server named that we did not ask about is ignored
  let uploadedBytes = 0;
  const worker = async (): Promise<void> => {
    for (let sha = queue.shift(); sha !== undefined; sha = queue.shift()) {
      const content = await readFile(join(dir, byHash.get(sha)!.path));
      await client.putBlob(sha, content);
      uploadedBytes += content.length;
    }
  };
  await Promise.all(Array.from({ length: Math.min(UPLOAD_CONCURRENCY, queue.length) }, worker));
  return uploadedBytes;
}

/**
 * The Docs line of a FastAPI app (validate.py `fastapi_docs`), public and called over HTTP: the page
 * that lists its routes, where the curl of `/` often answers the app's own 404 (new-user round 11).
 */
export function docsLine(invokeUrl: string, r: { auth: string; invocation: string }, docs: string | undefined): string | null {
  if (docs === undefined || r.auth !== 'public' || r.invocation === 'async') return null;
  return `Docs:  ${invokeUrl.replace(/\/$/, '')}${docs}  (the app's OpenAPI docs: its routes, to try in a browser)`;
}
