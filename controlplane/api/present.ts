/**
 * Records as the API shows them (docs/api.md, "Objects"). Only listed keys leave the process:
 * secret values and webhook secrets never do (`secrets` shows names only). The types are the
 * answer schemas' (./answers.ts), the shapes the OpenAPI document gives.
 */
import { DEFAULT_RETRY_POLICY } from '../async/index.js';
import type { DeployEntry, FunctionRecord, FunctionRetry, VersionRecord, VersionSummary } from '../store/index.js';
import type { ServiceSettings } from '../service/context.js';
import type { DepsStatus } from '../deps/index.js';
import type { ContractView, DepsView, DeployView, FunctionAnswer, FunctionView, VersionSummaryView, VersionView } from './answers.js';

export function functionView(r: FunctionRecord): FunctionView {
  return {
    name: r.name,
    preset: r.preset,
    invocation: r.invocation,
    limits: { ...r.limits },
    env: { ...r.env },
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

export function urls(r: FunctionRecord, settings: ServiceSettings): { invokeUrl: string; asyncUrl?: string } {
  const base = settings.publicUrl();
  const invokeUrl = `${base}/fn/${r.name}/`;
  return r.invocation === 'sync' ? { invokeUrl } : { invokeUrl, asyncUrl: `${base}/async/${r.name}` };
}

/** The contract card: the limits a caller of the function can count on. */
export function contract(r: FunctionRecord, settings: ServiceSettings): ContractView {
  return {
    timeoutMs: r.limits.timeoutMs,
    memoryBytes: r.limits.memoryBytes,
    concurrency: r.limits.concurrency,
    maxInstances: r.limits.maxInstances,
    minWarm: r.limits.minWarm,
    maxQueue: r.limits.maxQueue,
    syncPayloadBytes: settings.syncPayloadBytes,
    asyncPayloadBytes: settings.asyncPayloadBytes,
    runRetentionMs: settings.runRetentionMs,
    auth: r.auth,
    retry: retryOf(r),
    invokeUrl: urls(r, settings).invokeUrl,
  };
}

/** The function's retry policy in ms; the defaults for a record written before it had one. */
export function retryOf(r: FunctionRecord): FunctionRetry {
  return { ...DEFAULT_RETRY_POLICY, ...r.retry };
}

/** The full answer about one function: `{function, invokeUrl, asyncUrl?, contract}`. */
export function functionAnswer(r: FunctionRecord, settings: ServiceSettings): FunctionAnswer {
  return { function: functionView(r), ...urls(r, settings), contract: contract(r, settings) };
}

export function versionSummaryView(v: VersionSummary): VersionSummaryView {
  return {
    function: v.function,
    version: v.version,
    entrypoint: v.entrypoint,
    createdAt: v.createdAt,
    createdBy: v.createdBy,
    note: v.note,
    fileCount: v.fileCount,
    totalBytes: v.totalBytes,
    changes: v.changes,
  };
}

/** A version with its files, manifest and `deps` (null: it declares no dependencies). */
export function versionView(v: VersionRecord, deps: DepsStatus | null = null): VersionView {
  const totalBytes = v.files.reduce((sum, f) => sum + f.size, 0);
  return {
    ...versionSummaryView({ ...v, fileCount: v.files.length, totalBytes }),
    files: v.files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size })),
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
    packages: d.packages.map((p) => ({ name: p.name, version: p.version })),
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
