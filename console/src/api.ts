/**
 * The console's client of the platform's public REST API (/api/v1, docs/api.md): nothing here is
 * private to the console; the CLI calls the same routes. Errors come back as ApiError with the
 * registry code; a 401 ends the session (the token was rotated or is wrong).
 */
import { authHeaders, currentSession, signOut } from './auth.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    /** The error's other fields as the API gave them (e.g. DEPLOY_START_FAILED's `cause` and `logs`). */
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

const BASE = '/api/v1';

type WorkspaceMissing = (workspace: string) => void;
const workspaceMissing = new Set<WorkspaceMissing>();

/** Called when a call answers that the session's workspace does not exist (any more). */
export function onWorkspaceMissing(listener: WorkspaceMissing): () => void {
  workspaceMissing.add(listener);
  return () => workspaceMissing.delete(listener);
}

export async function api<T = unknown>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = token !== undefined ? { authorization: `Bearer ${token}` } : authHeaders();
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`${BASE}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'NETWORK', 'the platform did not answer (is it running?)');
  }
  const text = await res.text();
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!res.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; field?: string } & Record<string, unknown> } | null)?.error;
    const failure = new ApiError(res.status, error?.code ?? `HTTP_${res.status}`, error?.message ?? `HTTP ${res.status}`, error?.field, error ?? {});
    if (res.status === 401 && token === undefined && authHeaders()['authorization'] !== undefined) signOut(`${failure.message} [${failure.code}]`);
    // The workspace the session acts in is gone (deleted in another tab or by the CLI): every call
    // of this session would fail the same way until it moves (workspace-gone.ts).
    if (failure.code === 'WORKSPACE_NOT_FOUND' && failure.field === 'headers.fp-workspace' && token === undefined) {
      const gone = headers['fp-workspace'] ?? currentSession()?.workspace;
      if (gone !== undefined) for (const l of workspaceMissing) l(gone);
    }
    throw failure;
  }
  return parsed as T;
}

export const enc = encodeURIComponent;

// ---- shapes (docs/api.md, "Objects"; schemas/openapi.json) ----

export interface Limits {
  timeoutMs: number;
  memoryBytes: number;
  concurrency: number;
  maxInstances: number;
  minWarm: number;
  maxQueue: number;
}
export interface Retry {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  maxEventAgeMs: number;
}
export interface Fn {
  name: string;
  preset: 'http' | 'webhook' | 'cron' | 'worker';
  invocation: 'sync' | 'async' | 'both';
  limits: Limits;
  env: Record<string, string>;
  secrets: string[];
  auth: 'public' | 'token';
  retry: Retry;
  status: 'active' | 'paused';
  activeVersion: number | null;
  revision: number;
  /** A tag per whole setting: `ifMatch` on PATCH refuses a save made from a stale read (ADR 0159). */
  settingTags: Record<'env' | 'limits' | 'retry' | 'auth' | 'preset' | 'invocation', string>;
  createdAt: number;
  updatedAt: number;
}
/** A function in `GET /functions`: env names, not values. */
export type FnListed = Omit<Fn, 'env' | 'settingTags'> & { envNames: string[] };
export interface Contract extends Limits {
  syncPayloadBytes: number;
  asyncPayloadBytes: number;
  runRetentionMs: number;
  auth: 'public' | 'token';
  retry: Retry;
  invokeUrl: string;
}
export interface FnAnswer {
  function: Fn;
  invokeUrl: string;
  asyncUrl?: string;
  contract: Contract;
  invokeToken?: string;
  /** Unix ms: the invoke token ends with the expiring token that obtained it (ADR 0074); absent: never. */
  invokeTokenExpiresAt?: number;
}
export interface FileEntry {
  path: string;
  sha256: string;
  size: number;
  /** Deployed with mode 0555 (a script or binary the function runs). */
  executable?: boolean;
}
export interface Version {
  function: string;
  version: number;
  entrypoint: string;
  createdAt: number;
  createdBy: string;
  note: string;
  fileCount: number;
  totalBytes: number;
  changes: { added: string[]; modified: string[]; removed: string[] };
  files?: FileEntry[];
  manifest?: unknown;
  /** The version's dependency build (docs/dependencies.md); null when it declares none. */
  deps?: DepsState | null;
  /** The last deploy's start check of it (ADR 0252): null, never checked; absent from older platforms. */
  startCheck?: { ok: boolean; code: string | null; message: string | null; at: number } | null;
}
export interface DepsState {
  state: 'building' | 'ready' | 'failed';
  phase: string | null;
  error: { code: string; message: string } | null;
}
export interface Draft {
  function: string;
  baseVersion: number | null;
  files: { path: string; content: string }[];
  removed: string[];
  revision: number;
  updatedAt: number;
  updatedBy: string;
}
export interface Problem {
  kind: string;
  file: string | null;
  line: number | null;
  column: number | null;
  path?: string;
  message: string;
}
export interface Validation {
  ok: boolean;
  problems: Problem[];
  warnings: Problem[];
  entrypoint: { value: string; file: string | null; line: number | null; kind: string | null };
  manifest: unknown;
  python: { version: string; checked: number };
}
// A function's numbers, runs and their logs: one declaration with the CLI's, checked against the
// API's schemas (protocol/api-usage.ts, protocol/api-runs.ts).
export type { ApiUsage as Usage, ApiUsagePoint as Point, ApiUsageSeries as Series, ApiColdStartNumbers as ColdNumbers, ApiColdStartRow as ColdRow, ApiColdStarts as ColdStarts } from '../../protocol/api-usage.js';
export type { ApiRun as Run, ApiRunSummary as RunSummary, ApiRunError as RunError, ApiRunLogLine as LogLine, ApiAsyncRunSummary as AsyncRunSummary, ApiAsyncRun as AsyncRun } from '../../protocol/api-runs.js';
export type { RunWrite } from '../../protocol/records.js';
export interface InvokeAnswer {
  runId: string;
  status: number;
  headers: Record<string, string>;
  body?: unknown;
  bodyBase64?: string;
  durationMs: number;
  cold: boolean;
  error?: { code: string; message: string; type?: string; file?: string; line?: number };
}
export interface TestRequest {
  method?: string;
  path?: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  body?: unknown;
  /** The payload's bytes, when parsing it would change a number (protocol/json-numbers.ts). */
  bodyBase64?: string;
}
export interface TestCase {
  name: string;
  mode: 'sync' | 'async';
  request: TestRequest;
  createdAt: number;
  updatedAt: number;
}
export type Trigger =
  | { type: 'http'; invokeUrl: string; asyncUrl?: string; auth: string; invocation: string }
  | { type: 'webhook'; id: string; style: string; sync: boolean; path: string; url: string; previousSecretValidUntil: number | null; refused?: { count: number; last: { at: number; code: string; detail?: 'malformed' | 'repeated' } } | null }
  | { type: 'cron'; id: string; schedule: string; timezone: string; method: string; path: string; active: boolean; nextFires: number[]; missed?: { lastAt: number | null; sinceLastFired: number } | null };
export interface DeployEntry {
  seq: number;
  action: string;
  fromVersion: number | null;
  toVersion: number | null;
  status: string;
  actor: string;
  note: string;
  at: number;
}
