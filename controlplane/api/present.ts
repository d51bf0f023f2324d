/**
 * Records as the API shows them (docs/api.md, "Objects"). Only listed keys leave the process:
 * secret values and webhook secrets never do (`secrets` shows names only). The types are the
 * answer schemas' (./answers.ts), the shapes the OpenAPI document gives.
 */
import { nameOfKey, recordStatus, workspaceOfKey, type RunSummary } from '../../protocol/index.js';
import type { AuditEntry, DeployEntry, FunctionRecord, TokenRecord, VersionRecord, VersionSummary, WorkspaceRecord } from '../store/index.js';
import type { ServiceContext, ServiceSettings } from '../service/context.js';
import type { DepsStatus } from '../deps/index.js';
import { quotaUse } from '../service/workspaces.js';
import type { ContractView, DepsView, DeployView, FunctionAnswer, FunctionListItem, FunctionView, QuotasView, VersionSummaryView, VersionView } from './answers.js';
import type { z } from 'zod';
import type { auditEntryView, tokenView as tokenViewSchema, workspaceView as workspaceViewSchema } from './answers.js';
import { limitsOf, retryOf } from './present-values.js';
import { settingTagsOf } from './setting-tags.js';

export { limitsOf, retryOf };

export function functionView(r: FunctionRecord): FunctionView {
  const { name, workspace, preset, invocation, limits, secrets, auth, retry, status, activeVersion, revision, createdAt, updatedAt } = listedView(r);
  // In the order answers have always had (env after limits).
  return { name, workspace, preset, invocation, limits, env: { ...r.env }, secrets, auth, retry, status, activeVersion, revision, settingTags: settingTagsOf(r), createdAt, updatedAt };
}

/** A function as the listing shows it: env names, not values (nor tags: no hash of them per listed function). */
export function functionListItem(r: FunctionRecord): FunctionListItem {
  return { ...listedView(r), envNames: Object.keys(r.env).sort() };
}

function listedView(r: FunctionRecord): Omit<FunctionView, 'env' | 'settingTags'> {
  return {
    name: nameOfKey(r.name),
    workspace: workspaceOfKey(r.name),
    preset: r.preset,
    invocation: r.invocation,
    limits: limitsOf(r.limits),
    secrets: Object.keys(r.secrets).sort(),
    auth: r.auth,
    retry: retryOf(r),
    status: r.status,
    activeVersion: r.activeVersion,
    revision: r.revision,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

export function urls(r: FunctionRecord, settings: ServiceSettings): { invokeUrl: string; asyncUrl?: string; hostUrl?: string } {
  const base = settings.publicUrl();
  const invokeUrl = `${base}/fn/${r.name}/`;
  const host = hostUrl(r.name, base, settings.baseDomain);
  return {
    invokeUrl,
    ...(r.invocation === 'sync' ? {} : { asyncUrl: `${base}/async/${r.name}/` }),
    ...(host !== null && r.invocation !== 'async' ? { hostUrl: host } : {}),
  };
}

/**
 * `http://<key>.<baseDomain>:<port>/`: the function at the root of its own host, as under uvicorn
 * (root-relative links and redirects work; docs/adr/0020-addressing.md). Scheme and port are the
 * public URL's. Null without host routing.
 */
function hostUrl(key: string, base: string, baseDomain: string | null): string | null {
  if (baseDomain === null || base === '') return null;
  try {
    const u = new URL(base);
    return `${u.protocol}//${key}.${baseDomain}${u.port !== '' ? `:${u.port}` : ''}/`;
  } catch {
    return null;
  }
}

/**
 * The contract card: the limits a caller of the function can count on, its rate limit, and its
 * workspace's quotas with their current use.
 */
export function contract(r: FunctionRecord, settings: ServiceSettings, quotas: QuotasView): ContractView {
  const limits = limitsOf(r.limits);
  return {
    ...limits,
    syncPayloadBytes: settings.syncPayloadBytes,
    asyncPayloadBytes: settings.asyncPayloadBytes,
    runRetentionMs: settings.runRetentionMs,
    auth: r.auth,
    retry: retryOf(r),
    invokeUrl: urls(r, settings).invokeUrl,
    rateLimit: limits.rate === undefined ? null : { ...limits.rate, burst: limits.burst ?? limits.rate.requests },
    workspace: workspaceOfKey(r.name),
    quotas,
  };
}

/** The full answer about one function: `{function, invokeUrl, asyncUrl?, contract}` (the contract with the workspace's quota use). */
export async function functionAnswer(ctx: ServiceContext, r: FunctionRecord): Promise<FunctionAnswer> {
  const quotas = await quotaUse(ctx, workspaceOfKey(r.name));
  return { function: functionView(r), ...urls(r, ctx.settings), contract: contract(r, ctx.settings, quotas) };
}

export function versionSummaryView(v: VersionSummary): VersionSummaryView {
  return {
    function: nameOfKey(v.function),
    workspace: workspaceOfKey(v.function),
    version: v.version,
    entrypoint: v.entrypoint,
    createdAt: v.createdAt,
    createdBy: v.createdBy,
    note: v.note,
    fileCount: v.fileCount,
    totalBytes: v.totalBytes,
    changes: v.changes,
    startCheck: v.startCheck === null ? null : { ok: v.startCheck.ok, code: v.startCheck.code, message: v.startCheck.message, at: v.startCheck.at },
  };
}

/** A version with its files, manifest and `deps` (null: it declares no dependencies). */
export function versionView(v: VersionRecord, deps: DepsStatus | null = null): VersionView {
  const totalBytes = v.files.reduce((sum, f) => sum + f.size, 0);
  return {
    ...versionSummaryView({ ...v, fileCount: v.files.length, totalBytes }),
    files: v.files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size, ...(f.executable === true ? { executable: true } : {}) })),
    manifest: v.manifest,
    deps: deps === null ? null : depsView(deps),
  };
}

export function depsView(d: DepsStatus): DepsView {
  return {
    state: d.state,
    key: d.key,
    phase: d.phase,
    lock: d.lock,
    packages: d.packages.map((p) => ({ name: p.name, version: p.version, ...(p.modules !== undefined ? { modules: p.modules } : {}) })),
    bytes: d.bytes,
    error: d.error === null ? null : { code: d.error.code, message: d.error.message },
    startedAt: d.startedAt,
    finishedAt: d.finishedAt,
  };
}

export function deployView(e: DeployEntry): DeployView {
  return {
    seq: e.seq,
    action: e.action,
    fromVersion: e.fromVersion,
    toVersion: e.toVersion,
    status: e.status,
    actor: e.actor,
    note: e.note,
    at: e.at,
  };
}

/** A run record (or its summary) as its workspace sees it: the short function name and the workspace. */
/** A run record as the API answers it; its status as protocol/run-outcome.ts decides it (an async attempt's 4xx failed). */
export function runView<R extends RunSummary>(run: R): R & { workspace: string } {
  return { ...run, status: recordStatus(run), function: nameOfKey(run.function), workspace: workspaceOfKey(run.function) };
}

export function workspaceView(w: WorkspaceRecord): z.output<typeof workspaceViewSchema> {
  return { name: w.name, quotas: { ...w.quotas }, createdAt: w.createdAt, updatedAt: w.updatedAt };
}

/** A workspace token as its owners see it (never its digest). */
export function tokenView(t: TokenRecord): z.output<typeof tokenViewSchema> {
  return {
    id: t.id, label: t.label, workspace: t.scope ?? '', role: t.role ?? 'viewer', createdAt: t.createdAt, createdBy: t.createdBy,
    expiresAt: t.expiresAt, lastUsedAt: t.lastUsedAt, revokedAt: t.revokedAt,
  };
}

/**
 * One workspace's list shows each entry's number within that workspace as `seq`; the global
 * number (whose gaps count every other workspace's changes) only in the root token's `scope=all`.
 */
export function auditView(e: AuditEntry, scoped: boolean): z.output<typeof auditEntryView> {
  return { seq: scoped ? e.workspaceSeq : e.seq, at: e.at, actor: { ...e.actor }, address: e.address, workspace: e.workspace, action: e.action, target: e.target, detail: e.detail };
}
