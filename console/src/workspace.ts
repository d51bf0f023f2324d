/**
 * The Code tab's working copy: a version's files overlaid with the draft's edits, what changed
 * against the version, and the deploy (the same steps as `fastapi-platform deploy`: check, settings
 * from platform.yaml, upload only what changed, deploy) — all through the public API.
 */
import { api, ApiError, enc, type DepsState, type Draft, type FileEntry, type Fn, type Problem, type Validation, type Version } from './api.js';

export interface Workspace {
  base: Version | null;
  /** Text of every text file of the base version, by path. */
  baseText: Map<string, string>;
  /** Base files that are not UTF-8 text (kept as they are, not editable). */
  binary: FileEntry[];
  /** The working copy, by path. */
  files: Map<string, string>;
  draft: Draft | null;
}

const MAX_EDITABLE_BYTES = 1024 * 1024;

/** Loads the base version (the draft's, else the active, else the latest) and the draft over it. */
export async function loadWorkspace(name: string, activeVersion: number | null): Promise<Workspace> {
  const draft = await api<{ draft: Draft }>('GET', `/functions/${enc(name)}/draft`).then((a) => a.draft, (err: { code?: string }) => {
    if (err.code === 'DRAFT_NOT_FOUND') return null;
    throw err;
  });
  let baseNumber = draft !== null ? draft.baseVersion : activeVersion;
  if (baseNumber === null && draft === null) {
    const latest = await api<{ items: Version[] }>('GET', `/functions/${enc(name)}/versions?limit=1`);
    baseNumber = latest.items[0]?.version ?? null;
  }
  const base = baseNumber === null ? null : await readVersion(name, baseNumber);
  const { text: baseText, binary } = base === null ? { text: new Map<string, string>(), binary: [] } : await versionTexts(name, base);
  const files = new Map(baseText);
  for (const path of draft?.removed ?? []) files.delete(path);
  for (const f of draft?.files ?? []) files.set(f.path, f.content);
  return { base, baseText, binary, files: new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1))), draft };
}

/** A version with its file list. */
export async function readVersion(name: string, version: number): Promise<Version> {
  return (await api<{ version: Version }>('GET', `/functions/${enc(name)}/versions/${version}`)).version;
}

/** The text of each UTF-8 file of `version` (up to 1 MiB each), by path; the others as `binary`. */
export async function versionTexts(name: string, version: Version): Promise<{ text: Map<string, string>; binary: FileEntry[] }> {
  const text = new Map<string, string>();
  const binary: FileEntry[] = [];
  await Promise.all((version.files ?? []).map(async (f) => {
    if (f.size > MAX_EDITABLE_BYTES) return void binary.push(f);
    const file = await api<{ encoding: string; content: string }>('GET', `/functions/${enc(name)}/versions/${version.version}/file?path=${enc(f.path)}`);
    if (file.encoding === 'utf-8') text.set(f.path, file.content);
    else binary.push(f);
  }));
  return { text, binary };
}

export interface Changes {
  added: string[];
  modified: string[];
  removed: string[];
}

export function changesOf(ws: Workspace): Changes {
  return changesBetween(ws.baseText, ws.files);
}

/** The files added, modified and removed from `before` to `after` (texts by path). */
export function changesBetween(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): Changes {
  const added: string[] = [];
  const modified: string[] = [];
  for (const [path, text] of after) {
    const was = before.get(path);
    if (was === undefined) added.push(path);
    else if (was !== text) modified.push(path);
  }
  const removed = [...before.keys()].filter((p) => !after.has(p));
  return { added: added.sort(), modified: modified.sort(), removed: removed.sort() };
}

export function hasChanges(c: Changes): boolean {
  return c.added.length + c.modified.length + c.removed.length > 0;
}

/**
 * Saves the edits (changed and added files, removed paths) as the function's draft, over the
 * revision this tab read (`ifRevision`; 0: none): a draft saved, discarded or deployed elsewhere
 * meanwhile (another tab, browser, the API) is refused with DRAFT_CONFLICT, never overwritten
 * unseen. `ifRevision` given: the revision to replace on purpose ("Save mine over it").
 */
export async function saveDraft(name: string, ws: Workspace, ifRevision = ws.draft?.revision ?? 0): Promise<Draft> {
  const c = changesOf(ws);
  const files = [...c.added, ...c.modified].map((path) => ({ path, content: ws.files.get(path)! }));
  const { draft } = await api<{ draft: Draft }>('PUT', `/functions/${enc(name)}/draft`, { baseVersion: ws.base?.version ?? null, files, removed: c.removed, ifRevision });
  return draft;
}

export function validate(ws: Workspace, entrypoint?: string): Promise<Validation> {
  const files = [...ws.files].map(([path, content]) => ({ path, content }));
  return api<Validation>('POST', '/validate', { files, ...(entrypoint !== undefined ? { entrypoint } : {}) });
}

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** platform.yaml's settings as a PATCH (what `deploy` sends), from the document as written. */
export function settingsPatch(manifest: unknown): Record<string, unknown> {
  if (typeof manifest !== 'object' || manifest === null) return {};
  const m = manifest as Record<string, unknown>;
  const patch: Record<string, unknown> = {};
  if (typeof m['runtime'] === 'string') patch['preset'] = m['runtime'];
  if (typeof m['invocation'] === 'string') patch['invocation'] = m['invocation'];
  if (typeof m['limits'] === 'object' && m['limits'] !== null) patch['limits'] = m['limits'];
  if (typeof m['retry'] === 'object' && m['retry'] !== null) patch['retry'] = m['retry'];
  // `${VAR}` references resolve where `deploy` runs; the console has no such environment: env stays as set in Settings.
  const env = m['env'];
  if (typeof env === 'object' && env !== null && !Object.values(env).some((v) => typeof v === 'string' && v.includes('${'))) patch['env'] = env;
  return patch;
}

const DURATION = /^\s*([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)\s*$/;
const MEMORY = /^\s*([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|K|k|M|G|T)?B?\s*$/;
const MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const BYTES: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, K: 1000, k: 1000, M: 1e6, G: 1e9, T: 1e12 };
/** A manifest value in the unit the API gives (platform.yaml's forms, protocol/units.ts); null when it does not parse. */
function msOf(v: unknown): number | null {
  if (typeof v === 'number') return v;
  const m = typeof v === 'string' ? DURATION.exec(v) : null;
  return m === null ? null : Math.round(Number(m[1]) * MS[m[2]!]!);
}
function bytesOf(v: unknown): number | null {
  if (typeof v === 'number') return v;
  const m = typeof v === 'string' ? MEMORY.exec(v) : null;
  return m === null ? null : Math.round(Number(m[1]) * (m[2] === undefined ? 1 : BYTES[m[2]]!));
}

/**
 * What a deploy's settings (platform.yaml's, `settingsPatch`) change of the function as it is: the
 * values saved in Settings that platform.yaml replaces, and above all the env values it drops (a
 * name set in Settings and not in platform.yaml's env is removed with its value: the CLI's
 * `deploy --dry-run` says the same). One line each, for the Deploy dialog.
 */
export function settingsChanges(fn: Fn, patch: Record<string, unknown>): { envRemoved: string[]; lines: string[] } {
  const lines: string[] = [];
  let envRemoved: string[] = [];
  const env = patch['env'] as Record<string, unknown> | undefined;
  if (env !== undefined) {
    envRemoved = Object.keys(fn.env).filter((k) => !Object.hasOwn(env, k)).sort();
    const changed = Object.keys(env).filter((k) => Object.hasOwn(fn.env, k) && fn.env[k] !== String(env[k])).sort();
    const added = Object.keys(env).filter((k) => !Object.hasOwn(fn.env, k)).sort();
    if (changed.length > 0) lines.push(`sets env ${changed.join(', ')} to platform.yaml's value${changed.length === 1 ? '' : 's'}`);
    if (added.length > 0) lines.push(`adds env ${added.join(', ')}`);
  }
  const compare = (group: string, given: Record<string, unknown> | undefined, now: Record<string, number>, keys: [string, string, (v: unknown) => number | null, (n: number) => string][]): void => {
    if (given === undefined) return;
    for (const [key, field, parse, show] of keys) {
      if (!Object.hasOwn(given, key)) continue;
      const to = parse(given[key]);
      if (to !== null && to !== now[field]) lines.push(`${group}.${key} ${show(now[field]!)} → ${String(given[key])}`);
    }
  };
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  const showMs = (n: number): string => (n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`);
  const showBytes = (n: number): string => (n % 1024 ** 2 === 0 ? `${n / 1024 ** 2}Mi` : String(n));
  compare('limits', patch['limits'] as Record<string, unknown> | undefined, fn.limits as unknown as Record<string, number>, [
    ['timeout', 'timeoutMs', msOf, showMs], ['memory', 'memoryBytes', bytesOf, showBytes], ['concurrency', 'concurrency', num, String],
    ['maxInstances', 'maxInstances', num, String], ['minWarm', 'minWarm', num, String], ['maxQueue', 'maxQueue', num, String],
  ]);
  compare('retry', patch['retry'] as Record<string, unknown> | undefined, fn.retry as unknown as Record<string, number>, [
    ['maxAttempts', 'maxAttempts', num, String], ['backoff', 'backoffBaseMs', msOf, showMs], ['maxBackoff', 'backoffMaxMs', msOf, showMs], ['maxEventAge', 'maxEventAgeMs', msOf, showMs],
  ]);
  if (typeof patch['invocation'] === 'string' && patch['invocation'] !== fn.invocation) lines.push(`invocation ${fn.invocation} → ${patch['invocation']}`);
  return { envRemoved, lines };
}

export interface DeployResult {
  version: number;
  /** What the upload warned of (ADR 0248): the check of every file of the version, binary ones too. */
  warnings: Problem[];
  /** Why the upload checked nothing instead (the checks busy, a version over 4 MiB: ADR 0248), when so. */
  warningsSkipped?: string;
}

/** How often a deploy asks about a dependency build (the API has no stream for it; `deploy` polls too). */
const DEPS_POLL_MS = 1000;

/**
 * Check → settings → upload (unchanged files by hash) → wait for the version's dependency build,
 * when it declares any (`progress` gets its phase) → deploy → drop the draft.
 */
export async function deployWorkspace(name: string, ws: Workspace, validation: Validation, note: string, progress: (step: string) => void = () => {}): Promise<DeployResult> {
  const patch = settingsPatch(validation.manifest);
  if (Object.keys(patch).length === 0) return uploadAndDeploy(name, ws, validation, note, progress);
  const before = (await api<{ function: Fn }>('GET', `/functions/${enc(name)}`)).function;
  const applied = (await api<{ function: Fn }>('PATCH', `/functions/${enc(name)}`, patch)).function;
  try {
    return await uploadAndDeploy(name, ws, validation, note, progress);
  } catch (err) {
    // Refused (its code did not load, its dependencies did not build): the settings platform.yaml
    // gave are put back, the version that keeps serving would run with them.
    await putBack(name, before, applied, restorePatch(before, patch)).catch(() => undefined);
    throw err;
  }
}

/**
 * Puts back what a refused deploy changed without undoing another client's change since (ADR
 * 0159): the env by name (only the values the deploy set or removed), every other setting on the
 * condition that it is still what the deploy set; one changed since stays as it was made.
 */
async function putBack(name: string, before: Fn, applied: Fn, restore: Record<string, unknown>): Promise<void> {
  const { env: _env, ...whole } = restore;
  const envChanges: Record<string, string | null> = {};
  if ('env' in restore) {
    for (const key of new Set([...Object.keys(before.env), ...Object.keys(applied.env)])) {
      if (before.env[key] !== applied.env[key]) envChanges[key] = before.env[key] ?? null;
    }
  }
  let keys = Object.keys(whole) as (keyof Fn['settingTags'])[];
  for (let attempt = 0; attempt < 2; attempt++) {
    const body: Record<string, unknown> = Object.fromEntries(keys.map((k) => [k, whole[k]]));
    if (Object.keys(envChanges).length > 0) body['envChanges'] = envChanges;
    if (keys.length > 0) body['ifMatch'] = Object.fromEntries(keys.map((k) => [k, applied.settingTags[k]]));
    try {
      await api('PATCH', `/functions/${enc(name)}`, body);
      return;
    } catch (err) {
      const changed = err instanceof ApiError && err.code === 'SETTING_CONFLICT' ? err.details['settings'] : null;
      if (!Array.isArray(changed)) throw err;
      keys = keys.filter((k) => !changed.includes(k));
    }
  }
}

/** The PATCH that gives back `before`'s values of the keys `patch` changed. */
export function restorePatch(before: Fn, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if ('preset' in patch) out['preset'] = before.preset;
  if ('invocation' in patch) out['invocation'] = before.invocation;
  if ('env' in patch) out['env'] = before.env;
  if ('limits' in patch) {
    const l = before.limits as Fn['limits'] & { rate?: { requests: number; periodMs: number }; burst?: number };
    const unit = l.rate === undefined ? null : ({ 1000: 's', 60_000: 'm', 3_600_000: 'h' } as Record<number, string>)[l.rate.periodMs] ?? null;
    out['limits'] = {
      timeout: `${l.timeoutMs}ms`, memory: String(l.memoryBytes), concurrency: l.concurrency, maxInstances: l.maxInstances, minWarm: l.minWarm, maxQueue: l.maxQueue,
      ...(l.rate === undefined || unit === null ? { rate: null } : { rate: `${l.rate.requests}/${unit}`, burst: l.burst ?? l.rate.requests }),
    };
  }
  if ('retry' in patch) {
    const r = before.retry;
    out['retry'] = { maxAttempts: r.maxAttempts, backoff: `${r.backoffBaseMs}ms`, maxBackoff: `${r.backoffMaxMs}ms`, maxEventAge: `${r.maxEventAgeMs}ms` };
  }
  return out;
}

async function uploadAndDeploy(name: string, ws: Workspace, validation: Validation, note: string, progress: (step: string) => void): Promise<DeployResult> {
  const baseSha = new Map((ws.base?.files ?? []).map((f) => [f.path, f.sha256]));
  // A file that was executable in the base version stays so, edited or not.
  const executable = new Set((ws.base?.files ?? []).filter((f) => f.executable === true).map((f) => f.path));
  const mode = (path: string): { executable?: true } => (executable.has(path) ? { executable: true } : {});
  const files: Record<string, unknown>[] = [];
  for (const [path, text] of ws.files) {
    const unchanged = ws.baseText.get(path) === text && baseSha.has(path);
    files.push(unchanged ? { path, sha256: baseSha.get(path), ...mode(path) } : { path, contentBase64: base64(text), ...mode(path) });
  }
  for (const f of ws.binary) files.push({ path: f.path, sha256: f.sha256, ...mode(f.path) });
  const manifest = validation.manifest ?? null;
  const entrypoint = typeof (manifest as { entrypoint?: unknown } | null)?.entrypoint === 'string' ? (manifest as { entrypoint: string }).entrypoint : validation.entrypoint.value || ws.base?.entrypoint || 'main:handler';
  progress('uploading');
  const { version, warnings = [], warningsSkipped } = await api<{ version: Version; warnings?: Problem[]; warningsSkipped?: string }>('POST', `/functions/${enc(name)}/versions`, { entrypoint, manifest, files, ...(note !== '' ? { note } : {}) });
  let deps = version.deps ?? null;
  while (deps !== null && deps.state === 'building') {
    progress(`installing dependencies (${deps.phase ?? 'queued'})`);
    await new Promise((r) => setTimeout(r, DEPS_POLL_MS));
    deps = (await api<{ deps: DepsState | null }>('GET', `/functions/${enc(name)}/versions/${version.version}/deps`)).deps;
  }
  progress('deploying');
  // A failed build is deployed all the same: the platform refuses it with the build's code and keeps
  // that with the version (ADR 0252), so the history says it did not start; the console refused it
  // itself, and the version read like any other (console round 16). The active one keeps serving;
  // the build log: GET …/versions/:n/deps.
  const failed = deps !== null && deps.state === 'failed';
  await api('POST', `/functions/${enc(name)}/deploy`, { version: version.version, ...(note !== '' ? { note } : {}) }).catch((err: unknown) => {
    if (!failed || !(err instanceof ApiError)) throw err;
    throw new ApiError(err.status, err.code, `version ${version.version}'s dependencies did not install: ${err.message}`, err.field, err.details);
  });
  // Only the draft this tab read: one another tab saved meanwhile is kept (409, ignored here: it shows at the next load).
  await api('DELETE', `/functions/${enc(name)}/draft?ifRevision=${ws.draft?.revision ?? 0}`).catch((err: { code?: string }) => {
    if (err.code !== 'DRAFT_CONFLICT') throw err;
  });
  return { version: version.version, warnings, ...(typeof warningsSkipped === 'string' ? { warningsSkipped } : {}) };
}
