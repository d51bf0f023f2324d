/**
 * A small client for the control-plane REST API (docs/api.md) and the invoke route, on node:http
 * (cli/http.ts says why not fetch).
 * The shapes below are only what the CLI reads; the server's records carry more.
 * Every refusal becomes a CliError: API errors exit 4 with the server's `code` and `field`,
 * an unreachable platform exits 5.
 */
import { API_IDENTITY_HEADER, TOKEN_PREFIXES, type ApiAsyncRun, type ApiAsyncRunSummary, type ApiRun, type ApiRunSummary, type ApiUsage, type AuditEntry, type ApiStoredLogLine, type Problem } from '../protocol/index.js';

// Runs and logs as the API answers them: one declaration with the console's (protocol/api-runs.ts).
export type { ApiAsyncRun, ApiAsyncRunSummary, ApiRun, ApiRunError, ApiRunSummary } from '../protocol/index.js';
/** A line of `GET /functions/:name/logs` (docs/api.md, "Logs"). */
export type ApiLogLine = ApiStoredLogLine;
import { CliError, EXIT, usageError } from './errors.js';
import { AnswerTooLarge, send, type HttpAnswer, type HttpRequest } from './http.js';

/** The 403 codes that refuse the token itself (any other 403 is about the call). */
/**
 * A workspace token the platform does not know was revoked or rotated by its workspace's owner:
 * its holder needs a new one from them, which `login` alone cannot give (new-user round 16).
 */
export const REVOKED_WORKSPACE_TOKEN = 'a workspace token stops working when an owner of its workspace (or the admin) revokes or rotates it (`tokens rotate`): ask them for the new one';

const TOKEN_REFUSED: ReadonlySet<string> = new Set(['ADMIN_TOKEN_FORBIDDEN', 'INVOKE_TOKEN_FORBIDDEN']);

export interface ApiFunction {
  name: string;
  /** Absent from servers before workspaces. */
  workspace?: string;
  preset: string;
  invocation: string;
  limits: Record<string, number>;
  env: Record<string, string>;
  /** Names of the secret env values (never their values); absent from servers before secrets. */
  secrets?: string[];
  auth: 'public' | 'token';
  /** In ms; absent from servers older than per-function retry. */
  retry?: Record<string, number>;
  status: string;
  activeVersion: number | null;
  /** A tag per whole setting, for `ifMatch` on PATCH (ADR 0159); absent from servers before it. */
  settingTags?: Record<string, string>;
  /** Grows by one on every change of the function's record (a conditional delete's `ifRevision`, ADR 0181). */
  revision?: number;
  /** Unix ms (a conditional delete's `ifCreatedAt`: a re-create of the name is another function). */
  createdAt?: number;
}

/** A function in `GET /functions`: its env names, not values. */
export type ApiFunctionListed = Omit<ApiFunction, 'env' | 'settingTags'> & { envNames: string[] };

export interface ApiFileEntry {
  path: string;
  sha256: string;
  size: number;
  /** Deployed with mode 0555. */
  executable?: boolean;
}

export interface ApiChanges {
  added: string[];
  modified: string[];
  removed: string[];
}

export interface ApiVersion {
  version: number;
  entrypoint: string;
  files?: ApiFileEntry[];
  manifest?: unknown;
  changes: ApiChanges;
  /** The version's dependencies (docs/dependencies.md); null: it declares none; absent: a server before issue 10. */
  deps?: ApiDeps | null;
}

/** GET /functions/:name/versions/:n/deps (docs/api.md, "Dependencies"). */
export interface ApiDeps {
  state: 'building' | 'ready' | 'failed';
  key: string;
  phase: string | null;
  lock: string | null;
  /** `modules`: what the build found each package ships (absent from older platforms). */
  packages: { name: string; version: string; modules?: string[] }[];
  bytes: number;
  error: { code: string; message: string } | null;
  startedAt: number | null;
  finishedAt: number | null;
  /** Only from the deps route. */
  log?: string;
}

/** A version as listed (GET /functions/:name/versions). */
export interface ApiVersionSummary {
  version: number;
  createdAt: number;
  createdBy: string;
  note: string;
  changes: ApiChanges;
  fileCount: number;
  totalBytes: number;
  /** The last deploy's start check of it (ADR 0252); null: never checked. Absent from older platforms. */
  startCheck?: { ok: boolean; code: string | null; message: string | null; at: number } | null;
}

/** An entry of the deploy log (GET /functions/:name/deploys). */
export interface ApiDeployLogEntry {
  seq: number;
  action: string;
  fromVersion: number | null;
  toVersion: number | null;
  actor: string;
  note: string;
  at: number;
}

/** What a deploy's start check found: loaded in `initMs`, or not made and why. */
export type ApiStartReport = { checked: true; initMs: number; noTemplate?: string } | { checked: false; reason: string };

export interface ApiDeployEntry {
  action: string;
  fromVersion: number | null;
  toVersion: number | null;
  status?: string;
}


/** GET /functions/:name/usage (docs/api.md, "Usage"): one declaration with the console's (protocol/api-usage.ts). */
export type { ApiUsage } from '../protocol/index.js';



/** A function's data binding as the API shows it (never its credential). */
export interface ApiDataBinding {
  workspace: string;
  database: string;
  physical: string;
  create: boolean;
}


export interface TestInvokeResult {
  runId: string;
  status: number;
  headers: Record<string, string>;
  body?: unknown;
  bodyBase64?: string;
  durationMs: number;
  cold: boolean;
  error?: unknown;
}

/** What the server says in an error body: `{"error": {code, message, field?}}`. */
interface ErrorBody {
  code?: string;
  message?: string;
  field?: string;
  /** The error's details (`required` of ROLE_FORBIDDEN, `quota`/`limit`/`used` of QUOTA_EXCEEDED, …), passed on to `--json`. */
  [detail: string]: unknown;
}


export function isAsyncRun(run: ApiRun | ApiAsyncRun): run is ApiAsyncRun {
  return 'state' in run && Array.isArray((run as { transitions?: unknown }).transitions);
}

/** One quota and its use (`limit` null: none). */
export interface ApiQuota {
  limit: number | null;
  used: number;
}

export type ApiQuotas = Record<'functions' | 'instances' | 'invocationsPerMinute' | 'codeBytes' | 'logBytes', ApiQuota>;

/** The contract card (docs/api.md, "Objects"); the rate limit and quotas are absent from servers before workspaces. */
export interface ApiContract {
  timeoutMs: number;
  memoryBytes: number;
  concurrency: number;
  maxInstances: number;
  minWarm: number;
  maxQueue: number;
  rateLimit?: { requests: number; periodMs: number; burst: number } | null;
  auth?: 'public' | 'token';
  syncPayloadBytes?: number;
  asyncPayloadBytes?: number;
  retry?: { maxAttempts: number; backoffBaseMs: number; backoffMaxMs: number; maxEventAgeMs: number };
  runRetentionMs?: number;
  workspace?: string;
  quotas?: ApiQuotas;
  [key: string]: unknown;
}

export interface ApiWhoami {
  tokenId: string;
  label: string;
  kind: 'admin' | 'workspace';
  role: string;
  workspace: string;
  expiresAt: number | null;
}

export interface ApiWorkspace {
  name: string;
  quotas: Record<keyof ApiQuotas, number | null>;
  createdAt: number;
  updatedAt: number;
}

export interface ApiToken {
  id: string;
  label: string;
  workspace: string;
  role: string;
  createdAt: number;
  createdBy: string;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export type ApiAuditEntry = AuditEntry;

/** A webhook's deliveries refused at their signature since the answering platform process started (ADR 0208). */
export interface RefusedDeliveries {
  count: number;
  last: { at: number; code: string; detail?: 'malformed' | 'repeated' };
}

/** One entry of GET /functions/{name}/triggers. */
export type ApiTrigger =
  | { type: 'http'; invokeUrl: string; asyncUrl?: string; hostUrl?: string; auth: string; invocation: string }
  | { type: 'webhook'; id: string; style: string; sync: boolean; path: string; url: string; previousSecretValidUntil: number | null; refused?: RefusedDeliveries | null }
  | { type: 'cron'; id: string; schedule: string; timezone: string; method: string; path: string; active: boolean; nextFires: number[]; missed?: MissedTicksNote | null };

/** A cron trigger's missed ticks (ADR 0238): the last one recorded, and how many since the last fired tick. */
export interface MissedTicksNote {
  lastAt: number | null;
  sinceLastFired: number;
}

/**
 * The largest API answer read (a version's files of a 50 MiB bundle as base64 JSON are ~70 MiB): a
 * hostile server at --url could otherwise make a command hold an endless answer (red team round 11).
 */
export const MAX_API_ANSWER_BYTES = 256 * 1024 * 1024;

/** The smallest body limit of the platform's routes (an async call's, 256 KiB): a cut connection while sending more is most likely a 413. */
const SMALLEST_BODY_LIMIT = 256 * 1024;

/** What the value of a header holds that HTTP does not allow, in words: `a line break`, `the character "…"`. */
function badCharacter(value: string): string | null {
  const bad = /[^\t\x20-\x7e]/.exec(value);
  if (bad === null) return null;
  if (bad[0] === '\n' || bad[0] === '\r') return 'a line break';
  const code = bad[0].codePointAt(0) ?? 0;
  return code < 0x20 || code === 0x7f ? `a control character (U+${code.toString(16).toUpperCase().padStart(4, '0')})` : `the character ${JSON.stringify(bad[0])}`;
}

/** The usage error for a request whose header HTTP refused to send (ERR_INVALID_CHAR): which header, what it holds, the fix. */
function badHeader(headers: Record<string, string>): CliError {
  const [name, value] = Object.entries(headers).find(([, v]) => badCharacter(v) !== null) ?? ['', ''];
  const what = badCharacter(value) ?? 'a character HTTP does not allow in a header';
  if (name === 'authorization') {
    return usageError(`the token holds ${what}, so it was not sent: a token is one word (fpa_…, fpw_… or an invoke token), as it was shown once. Give the token alone (--token, FP_TOKEN, login's prompt or its stdin): \`tokens create\` prints a message around it (its --json has it as "secret")`);
  }
  return usageError(`the header ${name || '(unknown)'} holds ${what}, which HTTP does not allow in a header, so nothing was sent`);
}

/** The platform at `baseUrl` did not answer (`why`: ECONNREFUSED, a DNS error…): exit 5, what to do. */
export function unreachable(baseUrl: string, why: string): CliError {
  return new CliError(EXIT.UNREACHABLE, 'UNREACHABLE', `cannot reach the platform at ${baseUrl} (${why}). Is it running? Start it with \`npm start\` in the repository (the quickstart; or the CLI's \`up\` command), or point the CLI at it with --url or FP_URL.`);
}

export class ApiClient {
  private unsafeSeen = false;
  /**
   * Called with `GET /path` for each answer of the API without the platform's `FP-API` header: the
   * server at the URL is another service (a FastAPI app of the user's own at :8000, most often).
   */
  onForeignAnswer?: (request: string) => void;

  /**
   * @param baseUrl e.g. `http://127.0.0.1:8080`, no trailing slash.
   * @param onUnsafe called once when the platform says it runs functions without a sandbox.
   * @param workspace sent as `FP-Workspace` (the workspace an admin token acts in).
   */
  /** `tokenSavedFor`: the URL a saved token belongs to, not sent here (another platform): said when the API asks for a token. */
  constructor(readonly baseUrl: string, readonly token: string | undefined, private readonly onUnsafe?: () => void, readonly workspace?: string,
    private readonly tokenSavedFor?: string) {}

  /** The function's public invoke URL (what `deploy` prints). */
  invokeUrl(name: string): string {
    return `${this.baseUrl}/fn/${name}/`;
  }

  /** A JSON API call; throws CliError (exit 4) for any non-2xx answer. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    if (this.workspace !== undefined) headers['fp-workspace'] = this.workspace;
    let payload: string | Uint8Array | undefined;
    if (body instanceof Uint8Array) {
      payload = body;
      headers['content-type'] = 'application/octet-stream';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const res = await this.send(`${this.baseUrl}/api/v1${path}`, { method, headers, maxBytes: MAX_API_ANSWER_BYTES, ...(payload !== undefined ? { body: payload } : {}) });
    const text = res.text();
    if (res.header(API_IDENTITY_HEADER) === null) this.onForeignAnswer?.(`${method} /api/v1${path}`);
    if (!res.ok) throw this.apiError(method, path, res.status, text);
    if (text.length === 0) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(EXIT.API, 'BAD_RESPONSE', `${method} ${path}: the server answered ${res.status} with a body that is not JSON`);
    }
  }

  /** One HTTP request, turning connection failures into exit 5 with a hint. */
  async send(url: string, init: HttpRequest): Promise<HttpAnswer> {
    try {
      const res = await send(url, init);
      if (!this.unsafeSeen && res.header('x-fp-sandbox') === 'off') {
        this.unsafeSeen = true;
        this.onUnsafe?.();
      }
      return res;
    } catch (err) {
      if (err instanceof AnswerTooLarge) {
        throw new CliError(EXIT.API, 'BAD_RESPONSE', `the server at ${this.baseUrl} answered more than ${err.maxBytes / 1024 / 1024} MiB: no answer of the platform's API is that large (is --url or FP_URL this platform?)`);
      }
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      // A header value HTTP does not allow (a line break, a space, a character past ASCII): nothing
      // was sent. Said as what it is, not "cannot reach the platform. Is it running?" (new-user
      // round 3: `tokens create … | login` handed login the whole message as its token).
      if (why === 'ERR_INVALID_CHAR') throw badHeader(init.headers);
      // The gateway answers 413 to a too-large body as soon as its head announces it and closes the
      // connection; the CLI, still writing, often sees only EPIPE/ECONNRESET. That read as "cannot
      // reach the platform. Is it running?" (docs/adr/0048-newcomer-round-3.md).
      const bytes = init.body === undefined ? 0 : typeof init.body === 'string' ? Buffer.byteLength(init.body) : init.body.length;
      if ((why === 'EPIPE' || why === 'ECONNRESET') && bytes > SMALLEST_BODY_LIMIT) {
        throw new CliError(EXIT.API, 'PAYLOAD_TOO_LARGE', `the platform at ${this.baseUrl} closed the connection while the ${(bytes / 1024 / 1024).toFixed(1)} MiB body was being sent: most likely refused as too large (a sync call takes up to 6 MiB, FP_MAX_BODY_BYTES; an async one 256 KiB); pass large data by reference (a URL, or the data binding) instead`, { bytes });
      }
      throw unreachable(this.baseUrl, why);
    }
  }

  private apiError(method: string, path: string, status: number, text: string): CliError {
    let error: ErrorBody = {};
    try {
      const parsed = JSON.parse(text) as { error?: ErrorBody };
      if (parsed && typeof parsed.error === 'object' && parsed.error !== null) error = parsed.error;
    } catch {
      // not JSON: keep the status only
    }
    const code = error.code ?? `HTTP_${status}`;
    let message = error.message ?? `${method} /api/v1${path} answered ${status}`;
    // The API's field names (`runId`, `headers.fp-workspace`, `query.path`) are not the command line's
    // words: the message names what is wrong, `--json` keeps `field` among the details.
    // A hint about the token only where the token is the problem: a 403 of a role, a quota or a
    // data binding (DATA_DATABASE_FORBIDDEN) is no reason to log in again.
    if (status === 401 || (status === 403 && TOKEN_REFUSED.has(code))) {
      message += this.token !== undefined
        ? `. The token was refused: log in again (\`fastapi-platform login\`), or pass the right one with --token or FP_TOKEN.${this.token.startsWith(TOKEN_PREFIXES.workspace) && code === 'ADMIN_TOKEN_INVALID' ? ` A${REVOKED_WORKSPACE_TOKEN.slice(1)}, then \`fastapi-platform login\`.` : ''}`
        : this.tokenSavedFor !== undefined
          ? `. The saved token is for ${this.tokenSavedFor}, not sent to ${this.baseUrl} (another platform): use --url ${this.tokenSavedFor}, or \`fastapi-platform login ${this.baseUrl}\` (it asks for the token) for this one.`
          : '. No token: run `fastapi-platform up` (it saves one on first start) or `fastapi-platform login`, or pass --token / set FP_TOKEN.';
    }
    const { code: _code, message: _message, exitCode: _exitCode, ok: _ok, ...details } = error;
    return new CliError(EXIT.API, code, message, { status, ...details });
  }

  /** The function, or null if there is none with this name. */
  async getFunction(name: string): Promise<{ function: ApiFunction; invokeUrl: string; asyncUrl?: string; hostUrl?: string; contract?: ApiContract } | null> {
    try {
      return await this.request('GET', `/functions/${encodeURIComponent(name)}`);
    } catch (err) {
      if (err instanceof CliError && err.code === 'FUNCTION_NOT_FOUND') return null;
      throw err;
    }
  }

  /** Every function of the workspace, by name: the listing's pages, followed to the last. */
  async listFunctions(): Promise<{ items: ApiFunctionListed[] }> {
    const items: ApiFunctionListed[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: ApiFunctionListed[]; nextCursor?: string | null } = await this.request('GET', cursor === null ? '/functions' : `/functions?cursor=${encodeURIComponent(cursor)}`);
      items.push(...page.items);
      cursor = page.nextCursor ?? null;
    } while (cursor !== null);
    return { items };
  }

  createFunction(body: Record<string, unknown>): Promise<{ function: ApiFunction; invokeUrl: string; asyncUrl?: string; hostUrl?: string; contract?: ApiContract; invokeToken?: string; invokeTokenExpiresAt?: number }> {
    return this.request('POST', '/functions', body);
  }

  updateFunction(name: string, patch: Record<string, unknown>): Promise<{ function: ApiFunction; invokeUrl: string; asyncUrl?: string; hostUrl?: string; contract?: ApiContract; invokeToken?: string; invokeTokenExpiresAt?: number }> {
    return this.request('PATCH', `/functions/${encodeURIComponent(name)}`, patch);
  }

  async missingBlobs(hashes: string[]): Promise<string[]> {
    const answer = await this.request<{ missing: string[] }>('POST', '/blobs/missing', { sha256: hashes });
    return answer.missing;
  }

  async putBlob(sha256: string, content: Uint8Array): Promise<void> {
    await this.request('PUT', `/blobs/${sha256}`, content);
  }

  /** The new version, with the platform's warnings of its files (absent: not checked, or an older platform). */
  async createVersion(name: string, body: { entrypoint: string; manifest?: unknown; note?: string; files: ApiFileEntry[] }): Promise<ApiVersion & { warnings?: Problem[] }> {
    const answer = await this.request<{ version: ApiVersion; warnings?: Problem[] }>('POST', `/functions/${encodeURIComponent(name)}/versions`, body);
    return { ...answer.version, ...(answer.warnings !== undefined ? { warnings: answer.warnings } : {}) };
  }

  async getVersion(name: string, version: number): Promise<ApiVersion> {
    const answer = await this.request<{ version: ApiVersion }>('GET', `/functions/${encodeURIComponent(name)}/versions/${version}`);
    return answer.version;
  }

  /** GET /functions/:name/versions: newest first, without files or manifest. */
  async listVersions(name: string, limit: number): Promise<ApiVersionSummary[]> {
    const answer = await this.request<{ items: ApiVersionSummary[] }>('GET', `/functions/${encodeURIComponent(name)}/versions?limit=${limit}`);
    return answer.items;
  }

  /** DELETE /functions/:name/versions/:version (VERSION_ACTIVE, VERSION_IN_USE, VERSION_NOT_FOUND). */
  deleteVersion(name: string, version: number): Promise<void> {
    return this.request('DELETE', `/functions/${encodeURIComponent(name)}/versions/${version}`);
  }

  /** GET /functions/:name/deploys: the deploy log, newest first. */
  async listDeploys(name: string, limit: number): Promise<ApiDeployLogEntry[]> {
    const answer = await this.request<{ items: ApiDeployLogEntry[] }>('GET', `/functions/${encodeURIComponent(name)}/deploys?limit=${limit}`);
    return answer.items;
  }

  async getDeps(name: string, version: number): Promise<ApiDeps | null> {
    const answer = await this.request<{ deps: ApiDeps | null }>('GET', `/functions/${encodeURIComponent(name)}/versions/${version}/deps`);
    return answer.deps;
  }

  /** `check: false`: no start check (docs/api.md, "Deploys"); `start` says what the check found (absent from older servers). */
  /** `pruned`: the versions retention deleted (FP_KEEP_VERSIONS; absent: none, or an older server). */
  deploy(name: string, version?: number, check = true): Promise<{ function: ApiFunction; deploy: ApiDeployEntry; start?: ApiStartReport; pruned?: number[] }> {
    return this.request('POST', `/functions/${encodeURIComponent(name)}/deploy`, { ...(version === undefined ? {} : { version }), ...(check ? {} : { check: false }) });
  }

  pause(name: string, note?: string): Promise<{ function: ApiFunction; deploy: ApiDeployEntry }> {
    return this.request('POST', `/functions/${encodeURIComponent(name)}/pause`, note === undefined ? {} : { note });
  }

  resume(name: string, note?: string): Promise<{ function: ApiFunction; deploy: ApiDeployEntry }> {
    return this.request('POST', `/functions/${encodeURIComponent(name)}/resume`, note === undefined ? {} : { note });
  }

  /** With preconditions, only the function as the caller read it: else 409 FUNCTION_CHANGED, nothing deleted (ADR 0181). */
  deleteFunction(name: string, expect: { ifRevision?: number; ifCreatedAt?: number; ifNoVersions?: boolean } = {}): Promise<void> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(expect)) if (v !== undefined && v !== false) params.set(k, String(v));
    const query = params.size > 0 ? `?${params.toString()}` : '';
    return this.request('DELETE', `/functions/${encodeURIComponent(name)}${query}`);
  }

  rollback(name: string, version?: number, check = true): Promise<{ function: ApiFunction; deploy: ApiDeployEntry; start?: ApiStartReport }> {
    return this.request('POST', `/functions/${encodeURIComponent(name)}/rollback`, { ...(version === undefined ? {} : { version }), ...(check ? {} : { check: false }) });
  }

  listRuns(query: { function?: string; status?: string; limit?: number; since?: number; until?: number; cursor?: string; trigger?: string }): Promise<{ items: ApiRunSummary[]; nextCursor: string | null }> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return this.request('GET', `/runs${qs ? `?${qs}` : ''}`);
  }

  /** `GET /runs?status=queued|running|retried|cancelled`: async runs in that state now (ADR 0068). */
  listAsyncRuns(query: { function?: string; status: string; limit?: number; since?: number; until?: number; cursor?: string; trigger?: string }): Promise<{ items: ApiAsyncRunSummary[]; nextCursor: string | null }> {
    return this.listRuns(query) as unknown as Promise<{ items: ApiAsyncRunSummary[]; nextCursor: string | null }>; // the same route: its answer for an async state
  }

  usage(name: string, window: string): Promise<ApiUsage> {
    return this.request('GET', `/functions/${encodeURIComponent(name)}/usage?window=${encodeURIComponent(window)}`);
  }

  async getRun(runId: string): Promise<ApiRun | ApiAsyncRun> {
    const answer = await this.request<{ run: ApiRun | ApiAsyncRun }>('GET', `/runs/${encodeURIComponent(runId)}`);
    return answer.run;
  }

  async dataBinding(name: string): Promise<ApiDataBinding | null> {
    return (await this.request<{ binding: ApiDataBinding | null }>('GET', `/functions/${encodeURIComponent(name)}/data`)).binding;
  }

  async dataDatabases(): Promise<{ workspace: string; database: string; physical: string; functions: string[] }[]> {
    return (await this.request<{ databases: { workspace: string; database: string; physical: string; functions: string[] }[] }>('GET', '/data/databases')).databases;
  }

  dropDatabase(database: string): Promise<{ dropped: true; workspace: string; database: string; physical: string }> {
    return this.request('DELETE', `/data/databases/${encodeURIComponent(database)}`);
  }

  /** The function's triggers: HTTP, the active version's webhooks and cron schedules. */
  async listTriggers(name: string): Promise<ApiTrigger[]> {
    return (await this.request<{ items: ApiTrigger[] }>('GET', `/functions/${encodeURIComponent(name)}/triggers`)).items;
  }

  /** A new invoke token for an `auth: token` function; the old one stops working at once. It ends with the calling token, if that has an expiry. */
  rotateInvokeToken(name: string): Promise<{ invokeToken: string; invokeTokenExpiresAt?: number }> {
    return this.request('POST', `/functions/${encodeURIComponent(name)}/tokens/rotate`, {});
  }

  /** A new webhook secret, answered this once; the previous one works for `grace` (default 1h). */

  rotateHookSecret(name: string, triggerId: string, grace?: string): Promise<{ secret: string } & Record<string, unknown>> {
    return this.request('POST', `/functions/${encodeURIComponent(name)}/triggers/${encodeURIComponent(triggerId)}/secret/rotate`, grace !== undefined ? { grace } : {});
  }

  rotateDataCredentials(name: string, grace?: string): Promise<{ rotated: true; graceMs: number }> {
    return this.request('POST', `/functions/${encodeURIComponent(name)}/data/rotate`, grace !== undefined ? { grace } : {});
  }

  async cancelRun(runId: string): Promise<ApiAsyncRun> {
    const answer = await this.request<{ run: ApiAsyncRun }>('POST', `/runs/${encodeURIComponent(runId)}/cancel`);
    return answer.run;
  }

  replayRun(runId: string): Promise<{ runId: string; replayOf: string; statusUrl: string }> {
    return this.request('POST', `/runs/${encodeURIComponent(runId)}/replay`);
  }

  testInvoke(name: string, body: Record<string, unknown>): Promise<TestInvokeResult> {
    return this.request('POST', `/functions/${encodeURIComponent(name)}/invoke`, body);
  }

  whoami(): Promise<ApiWhoami> {
    return this.request('GET', '/whoami');
  }

  listWorkspaces(): Promise<{ items: ApiWorkspace[] }> {
    return this.request('GET', '/workspaces');
  }

  getWorkspace(name: string): Promise<{ workspace: ApiWorkspace; usage: ApiQuotas }> {
    return this.request('GET', `/workspaces/${encodeURIComponent(name)}`);
  }

  createWorkspace(body: { name: string; quotas?: Record<string, unknown> }): Promise<{ workspace: ApiWorkspace; usage: ApiQuotas }> {
    return this.request('POST', '/workspaces', body);
  }

  updateWorkspace(name: string, quotas: Record<string, unknown>): Promise<{ workspace: ApiWorkspace; usage: ApiQuotas }> {
    return this.request('PATCH', `/workspaces/${encodeURIComponent(name)}`, { quotas });
  }

  async deleteWorkspace(name: string): Promise<void> {
    await this.request('DELETE', `/workspaces/${encodeURIComponent(name)}`);
  }

  createToken(body: { role: string; label?: string; expiresIn?: string }): Promise<{ token: ApiToken; secret: string }> {
    return this.request('POST', '/tokens', body);
  }

  listTokens(includeRevoked: boolean): Promise<{ items: ApiToken[] }> {
    return this.request('GET', `/tokens${includeRevoked ? '?includeRevoked=true' : ''}`);
  }

  revokeToken(id: string): Promise<{ token: ApiToken }> {
    return this.request('DELETE', `/tokens/${encodeURIComponent(id)}`);
  }

  audit(query: Record<string, string | number | undefined>): Promise<{ items: ApiAuditEntry[]; nextCursor: string | null }> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return this.request('GET', `/audit${qs ? `?${qs}` : ''}`);
  }
}
