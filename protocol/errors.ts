/**
 * The one registry of stable error codes: every code a user or operator can see — in an HTTP
 * answer, a run record, a process's exit message or the CLI's output — is here. Codes are never
 * renamed or reused; each is documented in docs/errors.md, and a code thrown anywhere in the
 * sources but missing here fails a unit test (test/unit/errors.test.ts). HTTP status comes from
 * `httpStatus()` only. `component` says who failed: the caller's request (or command line), the
 * gateway, the pool manager, the runtime, the function's own code, the control plane (its API,
 * store, queue and triggers), the platform process (its configuration and start-up), or the CLI.
 * Codes that never travel over HTTP (start-up and CLI failures) still carry the status an answer
 * would have, by the same rule: 4xx when the caller's input is wrong, 5xx otherwise.
 */
export type Component = 'request' | 'gateway' | 'poolmgr' | 'runtime' | 'function' | 'controlplane' | 'platform' | 'cli';

export interface ErrorDef {
  status: number;
  component: Component;
  /** One line for the error body. */
  title: string;
  /**
   * A code whose status depends on one of its details (QUOTA_EXCEEDED: 403 for a quota the caller
   * must delete something to get under, 429 for a rate): `httpStatus(code, details)` answers
   * `values[details[field]]` when listed, else `status`. Still one function decides.
   */
  statusBy?: { readonly field: string; readonly values: Readonly<Record<string, number>> };
  /**
   * The `Retry-After` (seconds) of a refusal whose details name none: an outage of a server the
   * platform reconnects to within a second (Redis, MongoDB, the state directory's disk), where
   * nothing was kept and the client's retry is what gets the request through (chaos round 1), or
   * a moment's shortage that clears by itself (busy instances, checks, processes, a lock; chaos
   * round 5). Every 429/503 code without one is listed, with why, in test/unit/errors.test.ts.
   */
  retryAfterS?: number;
}

export const ERRORS = {
  BAD_REQUEST: { status: 400, component: 'request', title: 'The request is malformed.' },
  ROUTE_NOT_FOUND: { status: 404, component: 'gateway', title: 'No such route.' },
  FUNCTION_NOT_FOUND: { status: 404, component: 'gateway', title: 'No function with this name.' },
  PAYLOAD_TOO_LARGE: { status: 413, component: 'request', title: 'The request body is larger than the limit.' },
  FUNCTION_BUSY: { status: 429, component: 'poolmgr', title: 'All instances are busy and the wait queue is full.', retryAfterS: 1 },
  FUNCTION_ERROR: { status: 500, component: 'function', title: 'The function raised an error.' },
  FUNCTION_INIT_FAILED: { status: 502, component: 'function', title: 'The function could not be loaded.' },
  FUNCTION_BAD_RESPONSE: { status: 502, component: 'function', title: 'The function returned a value that is not a valid response.' },
  FUNCTION_OUT_OF_MEMORY: { status: 502, component: 'function', title: 'The function exceeded its memory limit.' },
  RUNTIME_CRASHED: { status: 502, component: 'runtime', title: 'The runtime process died during the call.' },
  RUNTIME_PROTOCOL_ERROR: { status: 502, component: 'runtime', title: 'The runtime sent or received a malformed message.' },
  RUNTIME_UNAVAILABLE: { status: 503, component: 'poolmgr', title: 'No runtime process could be started.', retryAfterS: 1 },
  SHUTTING_DOWN: { status: 503, component: 'gateway', title: 'The platform is shutting down.' },
  FUNCTION_TIMEOUT: { status: 504, component: 'function', title: 'The function did not finish before its timeout.' },
  INTERNAL_ERROR: { status: 500, component: 'gateway', title: 'An unexpected internal error.' },
  CLIENT_CLOSED_REQUEST: { status: 499, component: 'request', title: 'The client went away before the call could run.' },
  // ---- control plane API and invoke auth (issue 3); appended, never renamed ----
  INVALID_JSON: { status: 400, component: 'request', title: 'The request body is not valid JSON.' },
  UNKNOWN_FIELD: { status: 400, component: 'request', title: 'The request has a field this endpoint does not know.' },
  INVALID_FIELD: { status: 400, component: 'request', title: 'A field of the request has a wrong type or a bad value.' },
  INVALID_NAME: { status: 400, component: 'request', title: 'The function name is not a DNS label.' },
  METHOD_NOT_ALLOWED: { status: 405, component: 'request', title: 'This route does not take this method.' },
  ADMIN_TOKEN_REQUIRED: { status: 401, component: 'request', title: 'The API needs an admin token (Authorization: Bearer).' },
  ADMIN_TOKEN_INVALID: { status: 401, component: 'request', title: 'The API token (the admin token or a workspace token) is unknown, revoked or rotated.' },
  ADMIN_TOKEN_FORBIDDEN: { status: 403, component: 'request', title: 'This token may not call the admin API.' },
  INVOKE_TOKEN_REQUIRED: { status: 401, component: 'request', title: 'The function needs an invoke token (Authorization: Bearer).' },
  INVOKE_TOKEN_INVALID: { status: 401, component: 'request', title: 'The invoke token is unknown or was rotated.' },
  INVOKE_TOKEN_FORBIDDEN: { status: 403, component: 'request', title: 'This token may not invoke this function.' },
  FUNCTION_PAUSED: { status: 503, component: 'gateway', title: 'The function is paused.' },
  FUNCTION_NOT_DEPLOYED: { status: 404, component: 'gateway', title: 'The function has no deployed version.' },
  WEBSOCKET_NOT_SUPPORTED: { status: 501, component: 'gateway', title: 'Only ASGI apps take WebSocket connections.' },
  FUNCTION_EXISTS: { status: 409, component: 'controlplane', title: 'A function with this name already exists.' },
  REVISION_CONFLICT: { status: 409, component: 'controlplane', title: 'The function changed meanwhile; retry.' },
  VERSION_NOT_FOUND: { status: 404, component: 'controlplane', title: 'The function has no such version.' },
  NO_PREVIOUS_VERSION: { status: 409, component: 'controlplane', title: 'There is no version before the active one to roll back to.' },
  ENTRYPOINT_NOT_FOUND: { status: 400, component: 'request', title: "The entrypoint's module is not among the version's files." },
  BLOB_NOT_FOUND: { status: 400, component: 'request', title: 'A file names content that was never uploaded.' },
  BLOB_HASH_MISMATCH: { status: 400, component: 'request', title: 'The content does not hash to the sha256 given.' },
  TOKEN_NOT_FOUND: { status: 404, component: 'controlplane', title: 'No live token with this id.' },
  RUN_NOT_FOUND: { status: 404, component: 'controlplane', title: 'No run with this id (or it was pruned).' },
  RUN_CURSOR_INVALID: { status: 400, component: 'request', title: 'The cursor is not one this platform returned.' },
  STORE_CLOSED: { status: 503, component: 'controlplane', title: 'The store is closed (the platform is stopping).' },
  STORE_SCHEMA_TOO_NEW: { status: 500, component: 'controlplane', title: 'The state directory was written by a newer platform.' },
  BUNDLE_MALFORMED: { status: 400, component: 'request', title: 'The bundle\'s file list is malformed.' },
  BUNDLE_EMPTY: { status: 400, component: 'request', title: 'The bundle has no files.' },
  BUNDLE_PATH_INVALID: { status: 400, component: 'request', title: 'A file path is absolute, escapes the bundle root, or is otherwise not allowed.' },
  BUNDLE_PATH_DUPLICATE: { status: 400, component: 'request', title: 'Two files have the same path.' },
  BUNDLE_PATH_CONFLICT: { status: 400, component: 'request', title: 'A file path is also used as a folder.' },
  BUNDLE_ENCODING_INVALID: { status: 400, component: 'request', title: 'A file content is not valid base64.' },
  BUNDLE_TOO_MANY_FILES: { status: 413, component: 'request', title: 'The bundle has more files than the limit.' },
  BUNDLE_TOO_LARGE: { status: 413, component: 'request', title: 'The bundle is larger than the limit.' },
  BUNDLE_FILE_TOO_LARGE: { status: 413, component: 'request', title: 'A file is larger than the per-file limit.' },
  BUNDLE_BLOB_MISSING: { status: 400, component: 'request', title: 'A file refers to content that was never uploaded.' },
  METRICS_UNAVAILABLE: { status: 503, component: 'controlplane', title: 'The live metrics store (Redis) did not answer.', retryAfterS: 1 },
  // ---- async invocation (issue 5); appended, never renamed ----
  ASYNC_QUEUE_UNAVAILABLE: { status: 503, component: 'gateway', title: 'The async run could not be queued durably; nothing was queued.', retryAfterS: 1 },
  ASYNC_NOT_ENABLED: { status: 503, component: 'gateway', title: 'This platform process does not accept async runs.' },
  RUN_NOT_CANCELLABLE: { status: 409, component: 'controlplane', title: 'The run is not waiting in the queue (running or final), so it cannot be cancelled.' },
  RUN_NOT_REPLAYABLE: { status: 409, component: 'controlplane', title: 'Only a failed async run can be replayed.' },
  // ---- webhook triggers (issue 5); appended, never renamed ----
  TRIGGER_NOT_FOUND: { status: 404, component: 'gateway', title: 'The function declares no webhook trigger with this id.' },
  TRIGGER_UNAVAILABLE: { status: 503, component: 'gateway', title: 'The webhook replay guard (Redis) did not answer; nothing was queued.', retryAfterS: 1 },
  WEBHOOK_SIGNATURE_MISSING: { status: 401, component: 'request', title: 'The webhook request carries no signature header.' },
  WEBHOOK_SIGNATURE_INVALID: { status: 401, component: 'request', title: 'The webhook signature is malformed or matches no secret in force.' },
  WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE: { status: 401, component: 'request', title: 'The webhook signature is valid but its timestamp is outside the tolerance window.' },
  WEBHOOK_REPLAYED: { status: 401, component: 'request', title: 'This signed webhook delivery was already accepted.' },
  // ---- sandbox (issue 8); appended, never renamed ----
  FUNCTION_PROCESS_LIMIT: { status: 502, component: 'function', title: 'The function reached its limit of processes and threads.' },
  // ---- upload robustness (issue 8); appended, never renamed ----
  JSON_TOO_DEEP: { status: 400, component: 'request', title: 'The JSON body nests arrays or objects deeper than the limit.' },
  MANIFEST_TOO_LARGE: { status: 413, component: 'request', title: "The version's manifest is larger than the limit." },
  BUNDLE_CHECK_TIMEOUT: { status: 503, component: 'controlplane', title: 'Checking the upload took longer than the bundle check timeout.' },
  // ---- gateway strictness (issue 8); appended, never renamed ----
  REQUEST_HEADERS_TOO_LARGE: { status: 431, component: 'request', title: 'The request line and headers are larger than the limit.' },
  // ---- secrets at rest (issue 8); appended, never renamed ----
  SECRETS_KEY_UNKNOWN: { status: 500, component: 'controlplane', title: 'A stored secret is protected by a key this platform does not have.' },
  SECRETS_KEY_INVALID: { status: 500, component: 'controlplane', title: 'The secrets key file or FP_SECRETS_KEY is malformed or unreadable.' },
  SECRETS_KEY_FILE_INSECURE: { status: 500, component: 'controlplane', title: 'The secrets key file may be read or changed by group or others.' },
  SECRET_DECRYPT_FAILED: { status: 500, component: 'controlplane', title: 'A stored secret does not decrypt: it was altered, moved, or never sealed.' },
  // ---- Redis reliability (issue 9); appended, never renamed ----
  ASYNC_QUEUE_NOT_DURABLE: { status: 503, component: 'gateway', title: 'Redis does not persist its data, so the run would not survive a Redis restart; nothing was queued.' },
  ASYNC_RUNS_UNAVAILABLE: { status: 503, component: 'controlplane', title: 'The state of async runs (Redis) could not be read or changed.', retryAfterS: 1 },
  STORE_UNAVAILABLE: { status: 503, component: 'controlplane', title: 'The durable store (MongoDB) did not answer.', retryAfterS: 1 },
  // ---- codes of the queue, triggers, config and process (issue 9); appended, never renamed ----
  QUEUE_UNAVAILABLE: { status: 503, component: 'controlplane', title: 'The async queue did not answer; nothing is known to be queued.', retryAfterS: 1 },
  QUEUE_CLOSED: { status: 503, component: 'controlplane', title: 'The async queue is closed (the platform is stopping).' },
  QUEUE_LEASE_LOST: { status: 409, component: 'controlplane', title: "Another dispatcher has taken over this job's lease." },
  QUEUE_RUN_EXISTS: { status: 409, component: 'controlplane', title: 'A run with this id is queued already.' },
  QUEUE_INVALID: { status: 500, component: 'controlplane', title: 'The queue refused a malformed job or option, or its file was written by a newer platform.' },
  CRON_EXPRESSION_INVALID: { status: 400, component: 'request', title: 'The cron schedule cannot be parsed or never fires.' },
  CRON_TIMEZONE_INVALID: { status: 400, component: 'request', title: 'The cron timezone is not an IANA zone this platform knows.' },
  TRIGGER_INVALID: { status: 400, component: 'request', title: "A trigger's function or id is malformed." },
  BAD_MANIFEST: { status: 400, component: 'request', title: "The function's platform.yaml is invalid." },
  BAD_UNIT: { status: 400, component: 'request', title: 'A value in human units (30s, 256Mi) does not parse.' },
  USAGE: { status: 400, component: 'request', title: 'The command line is wrong: an unknown option, or a missing or malformed argument.' },
  BAD_CONFIG: { status: 500, component: 'platform', title: 'A setting (an FP_* variable or an option) is invalid.' },
  BAD_FUNCTIONS_DIR: { status: 500, component: 'platform', title: 'The functions directory cannot be read, or a function in it is invalid.' },
  START_FAILED: { status: 500, component: 'platform', title: 'The platform process could not start.' },
  LISTEN_FAILED: { status: 500, component: 'gateway', title: 'The gateway cannot listen on its host and port.' },
  UWS_FALLBACK: { status: 500, component: 'gateway', title: 'uWebSockets.js has no working native binary for this Node.js and platform.' },
  SANDBOX_UNAVAILABLE: { status: 500, component: 'poolmgr', title: 'The function sandbox could not start a runtime.' },
  UNREACHABLE: { status: 503, component: 'cli', title: 'The CLI could not reach the platform.' },
  BAD_RESPONSE: { status: 502, component: 'cli', title: 'The platform answered with a body that is not JSON.' },
  CREDENTIALS_UNREADABLE: { status: 500, component: 'cli', title: "The CLI's credentials file cannot be read." },
  CREDENTIALS_INVALID: { status: 500, component: 'cli', title: "The CLI's credentials file is not valid." },
  FILES_EXIST: { status: 409, component: 'cli', title: 'init would overwrite files that exist; nothing was written.' },
  STATE_DIR_IN_USE: { status: 409, component: 'platform', title: 'Another platform process holds this state directory.' },
  FOLDER_NOT_CREATED: { status: 500, component: 'cli', title: "init could not create the function's folder there." },
  PYTHON_UNAVAILABLE: { status: 500, component: 'cli', title: 'The CLI found no Python interpreter for its local checks.' },
  PYTHON_PREFLIGHT_FAILED: { status: 500, component: 'cli', title: "The CLI's local Python check failed to run." },
  // ---- dependencies (issue 10); appended, never renamed ----
  DEPS_REQUIREMENT_INVALID: { status: 400, component: 'request', title: 'A declared requirement is malformed or uses something the platform does not install (an option, a URL, a path).' },
  DEPS_NOT_FOUND: { status: 422, component: 'request', title: 'No release of a required package fits (unknown package, no such version, or no wheel for this Python).' },
  DEPS_CONFLICT: { status: 422, component: 'request', title: 'The requirements cannot all be satisfied together.' },
  DEPS_TOO_LARGE: { status: 413, component: 'request', title: 'The installed dependencies are larger than the limit.' },
  DEPS_BUILD_TIMEOUT: { status: 422, component: 'controlplane', title: 'Installing the dependencies took longer than the build timeout.' },
  DEPS_INDEX_UNREACHABLE: { status: 503, component: 'controlplane', title: 'The package index could not be reached from the dependency builder.' },
  DEPS_BUILD_FAILED: { status: 422, component: 'controlplane', title: 'The dependency build failed.' },
  DEPS_NOT_READY: { status: 409, component: 'controlplane', title: "The version's dependencies are still being built; deploy it when they are ready." },
  // ---- live logs and env sync (issue 15); appended, never renamed ----
  LOG_STREAM_LIMIT: { status: 503, component: 'controlplane', title: 'This platform process already serves its maximum of live log streams.' },
  LOGS_UNAVAILABLE: { status: 503, component: 'controlplane', title: 'The live log feed (Redis) did not answer.', retryAfterS: 1 },
  ENV_FILE_EXISTS: { status: 409, component: 'cli', title: 'env pull would overwrite a file that exists; nothing was written.' },
  ENV_FILE_INVALID: { status: 400, component: 'cli', title: 'The .env file cannot be read or a line of it does not parse.' },
  CONFIRMATION_REQUIRED: { status: 400, component: 'cli', title: 'The command changes a function and needs --yes when it cannot ask (no terminal).' },
  NOT_CONFIRMED: { status: 400, component: 'cli', title: 'The change was not confirmed; nothing was changed.' },
  // ---- tenants (issue 12, docs/adr/0011-tenants.md); appended, never renamed ----
  QUOTA_EXCEEDED: {
    status: 429, component: 'request', title: 'A quota of the workspace is used up.',
    statusBy: { field: 'quota', values: { functions: 403, codeBytes: 403, tokens: 403 } },
  },
  RATE_LIMITED: { status: 429, component: 'request', title: "The function's rate limit is reached; retry after Retry-After seconds." },
  ROLE_FORBIDDEN: { status: 403, component: 'request', title: "The token's role does not allow this call." },
  TOKEN_EXPIRED: { status: 401, component: 'request', title: 'The token has expired.' },
  EXPIRING_TOKEN_FORBIDDEN: { status: 403, component: 'request', title: 'A token with an expiry may not make a credential that has none.' },
  WORKSPACE_NOT_FOUND: { status: 404, component: 'controlplane', title: 'No workspace with this name.' },
  WORKSPACE_NOT_EMPTY: { status: 409, component: 'controlplane', title: 'The workspace still has functions or databases; delete them first.' },
  WORKSPACE_EXISTS: { status: 409, component: 'controlplane', title: 'A workspace with this name already exists.' },
  WORKSPACE_PROTECTED: { status: 409, component: 'controlplane', title: 'The default workspace cannot be deleted.' },
  PROFILE_NOT_FOUND: { status: 400, component: 'cli', title: 'No saved profile with this name.' },
  // ---- the web console (issue 14); appended, never renamed ----
  DRAFT_NOT_FOUND: { status: 404, component: 'controlplane', title: 'The function has no saved draft.' },
  TEST_CASE_NOT_FOUND: { status: 404, component: 'controlplane', title: 'The function has no test case with this name.' },
  TEST_CASE_LIMIT: { status: 409, component: 'controlplane', title: 'The function has as many saved test cases as allowed.' },
  VERSION_FILE_NOT_FOUND: { status: 404, component: 'controlplane', title: 'The version has no file at this path.' },
  VALIDATION_BUSY: { status: 429, component: 'controlplane', title: 'Too many code checks are running; try again in a moment.', retryAfterS: 1 },
  VALIDATION_UNAVAILABLE: { status: 503, component: 'controlplane', title: "The code check could not run (the runtime's Python failed or took too long).", retryAfterS: 1 },
  // ---- Mongo data binding (issue 13); appended, never renamed ----
  DATA_SCOPE_FORBIDDEN: { status: 403, component: 'function', title: "The function asked its database binding for something outside its scope (another database, an admin command, server-side JavaScript, another binding's cursor)." },
  DATA_AUTH_FAILED: { status: 401, component: 'function', title: 'The data binding credential is unknown, wrong, or belongs to another function.' },
  DATA_QUOTA_EXCEEDED: { status: 507, component: 'function', title: 'The bound database is at its size cap (FP_DATA_MAX_DATABASE_BYTES): it takes reads and deletes, no more writes.' },
  DATA_CREDENTIALS_REVOKED: { status: 401, component: 'function', title: "The data binding credential was rotated out or revoked; a new instance gets the current one." },
  DATA_BACKEND_UNAVAILABLE: { status: 503, component: 'controlplane', title: 'The database server behind the data binding could not be reached.', retryAfterS: 1 },
  DATA_BACKEND_NOT_CONFIGURED: { status: 503, component: 'platform', title: 'The function declares a Mongo binding but the platform has no database server to bind it to.' },
  DATA_DATABASE_FORBIDDEN: { status: 403, component: 'request', title: "A binding may only name a database of the function's own workspace." },
  DATA_BINDING_NOT_FOUND: { status: 404, component: 'request', title: 'The function has no data binding (its active version declares no data.mongo).' },
  DATA_DATABASE_NOT_FOUND: { status: 404, component: 'request', title: 'The database does not exist in the workspace (a binding with create: false, or a drop).' },
  DATA_DATABASE_IN_USE: { status: 409, component: 'request', title: 'The database is bound to functions: it cannot be dropped while they use it.' },
  // ---- users' rough edges; appended, never renamed ----
  IDEMPOTENCY_KEY_REUSED: { status: 422, component: 'request', title: 'This Idempotency-Key was sent before with a different request; nothing was queued.' },
  INVOCATION_MODE_NOT_ALLOWED: { status: 409, component: 'request', title: "The function's invocation mode does not take calls on this route (sync: /fn/, async: /async/)." },
  GATEWAY_OVERLOADED: { status: 503, component: 'gateway', title: 'The gateway is receiving as many request bodies as it may hold; retry in a moment.', retryAfterS: 1 },
  REQUEST_BODY_TOO_SLOW: { status: 408, component: 'request', title: 'The request body arrived too slowly while the gateway was busy.' },
  OUTPUT_FAILED: { status: 500, component: 'cli', title: 'The CLI could not write the answer to the file named by --output.' },
  VALIDATION_FAILED: { status: 400, component: 'cli', title: "The folder has problems validate reports; deploy uploaded nothing." },
  DEPLOY_START_FAILED: { status: 422, component: 'controlplane', title: 'The version did not start (its code did not load); the active version keeps serving.' },
  DATA_TOO_MANY_CURSORS: { status: 429, component: 'function', title: 'The bound database has as many cursors open as it may: read them to the end or close them before opening more.' },
  STORAGE_FULL: { status: 507, component: 'controlplane', title: "The platform's state directory has no space left; nothing of the request was kept." },
  FUNCTION_FILE_LIMIT: { status: 502, component: 'function', title: "The instance held more of the host's open files than any box may while the host ran short; it was stopped." },
  PLATFORM_PROCESS_LIMIT: { status: 503, component: 'platform', title: "The platform's processes and threads, all functions together, were at their total: a fork or thread start of the function was refused under its own limit. Retry in a moment.", retryAfterS: 1 },
  VERSION_ACTIVE: { status: 409, component: 'controlplane', title: 'The version is the one the function serves; deploy or roll back to another before deleting it.' },
  VERSION_IN_USE: { status: 409, component: 'controlplane', title: "Something still uses the version (the function's draft is based on it); it was not deleted." },
  FILE_READS_BUSY: { status: 503, component: 'controlplane', title: 'The platform is reading as many files into answers as it may at once; retry in a moment.' },
  STATE_DAMAGED: { status: 500, component: 'platform', title: "A SQLite file of the platform's state directory is damaged; the platform did not start on it." },
  FUNCTION_RESPONSE_HEADERS_TOO_LARGE: { status: 502, component: 'function', title: "The function's answer had more headers, or more header bytes, than an answer may carry." },
  DRAFT_CONFLICT: { status: 409, component: 'controlplane', title: 'The draft was saved by someone else (another tab, browser or client) since you read it; nothing was saved.' },
  STORE_BUSY: { status: 503, component: 'controlplane', title: "Another process holds a lock on a SQLite file of the platform's state directory; nothing of the request was kept.", retryAfterS: 1 },
  API_RATE_LIMITED: { status: 429, component: 'controlplane', title: "The workspace's changes through the API are at their rate (FP_API_WRITE_RATE); retry after Retry-After seconds." },
  HOST_NOT_LOCAL: { status: 421, component: 'gateway', title: 'A platform listening on this machine only (dev) answers requests for localhost, <name>.localhost or an IP address, not for another host name (DNS rebinding).' },
  REDIS_PREFIX_IN_USE: { status: 503, component: 'platform', title: "Another platform (another MongoDB database) keeps its queue and live state under this Redis prefix; this one did not start on it, or refuses async runs." },
  STATE_READ_ONLY: { status: 500, component: 'platform', title: "The platform's state directory, or a SQLite file in it, cannot be written; the platform did not start on it." },
  PLATFORM_FILE_LIMIT: { status: 503, component: 'platform', title: 'The platform had no file descriptor left (too many connections or open files) for the request; retry in a moment.', retryAfterS: 1 },
  FUNCTION_CRASH_LOOP: { status: 503, component: 'function', title: "The function's instances keep ending (exits, crashes, out-of-memory or timeout kills): past its start budget, a new instance waits; retry after Retry-After seconds." },
  SETTING_CONFLICT: { status: 409, component: 'controlplane', title: 'A setting named in ifMatch changed since it was read (another tab, client or deploy); nothing was changed.' },
  FUNCTION_ANSWERED_ERROR: { status: 502, component: 'function', title: 'The function answered the call with an error status (4xx or 5xx) of its own.' },
  RUN_NOT_SUCCEEDED: { status: 500, component: 'cli', title: 'The async run the CLI waited for ended failed or cancelled, without an error code of its own.' },
  RUN_WAIT_TIMEOUT: { status: 504, component: 'cli', title: 'The async run the CLI waited for had not ended when it stopped waiting.' },
  FUNCTION_CHANGED: { status: 409, component: 'controlplane', title: "A conditional delete's function is not as the caller read it (another revision, created again, or it has a version); nothing was deleted." },
  STORE_DATABASE_FOREIGN: { status: 500, component: 'controlplane', title: "The production store's MongoDB database has no platform schema record but holds data (another application's or platform's); the platform did not start on it." },
  RUN_JOURNAL_FULL: { status: 507, component: 'controlplane', title: "The run journal in the state directory is at its cap or could not be written: run records wait in memory only, and a crash of the process would lose them." },
  DATA_PIPELINE_UNSUPPORTED: { status: 400, component: 'function', title: 'The bound database server answers this pipeline wrongly (a $group of more than one accumulator on FerretDB 1.x): refused rather than answered with a wrong number.' },
  DATA_DOCUMENT_TOO_WIDE: { status: 400, component: 'function', title: "A document of the function's database command has more fields than the bound database server takes (4096 on the embedded FerretDB, whose work grows with the square of a document's fields)." },
  CRON_TICK_MISSED: { status: 500, component: 'controlplane', title: "A cron tick did not run: claimed by a platform process that stopped before queueing its run and not fired within maxLateMs (60 s), or passed while no platform process ran or while a running one's timer woke past them (recorded, not fired)." },
  HTTP_VERSION_NOT_SUPPORTED: { status: 505, component: 'request', title: 'The request line is malformed, or its HTTP version is not 1.1 or 1.0: refused by the HTTP parser before any route.' },
  FUNCTION_CONNECTION_LIMIT: { status: 502, component: 'function', title: "The instance held more of the platform's connections than any box may while the platform ran short of file descriptors; it was stopped." },
  INSTALL_PATH_COLLIDES: { status: 500, component: 'platform', title: "The platform is installed (its clone, or its Python) at a path every function's box keeps for itself (/code, /deps, /build, …); it did not start there." },
  REDIS_DATA_LOST: { status: 503, component: 'platform', title: "Redis came back without data it had acknowledged (restarted empty, flushed, restored from an older file, failed over to a replica behind): async runs accepted before and not yet run are gone." },
  PROXY_PROTOCOL_REFUSED: { status: 400, component: 'request', title: "The connection began with a PROXY protocol header naming a client address; the gateway does not take the client's address from PROXY headers (configure the proxy to send X-Forwarded-For instead)." },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;

/** True for a code of the registry (e.g. one read from an error that crossed a process boundary). */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}

/** The HTTP status of a code (with its details, for the codes whose status depends on one: `statusBy`). */
export function httpStatus(code: ErrorCode, details: Readonly<Record<string, unknown>> = {}): number {
  const def: ErrorDef = ERRORS[code];
  if (def.statusBy !== undefined) {
    const value = details[def.statusBy.field];
    if (typeof value === 'string' && Object.hasOwn(def.statusBy.values, value)) return def.statusBy.values[value]!;
  }
  return def.status;
}

/** Every status a code may answer with (its default first). */
export function statusesOf(code: ErrorCode): number[] {
  const def: ErrorDef = ERRORS[code];
  return [...new Set([def.status, ...Object.values(def.statusBy?.values ?? {})])];
}

/**
 * The `Retry-After` value (whole seconds) an error asks for, or null: its details' `retryAfterS`,
 * else its code's (an outage: `ErrorDef.retryAfterS`).
 */
export function retryAfterOf(err: { code?: string; details: Readonly<Record<string, unknown>> }): string | null {
  const own = err.details['retryAfterS'];
  const s = own !== undefined || err.code === undefined || !isErrorCode(err.code) ? own : (ERRORS[err.code] as ErrorDef).retryAfterS;
  return typeof s === 'number' && Number.isFinite(s) && s >= 0 ? String(Math.ceil(s)) : null;
}

/** An error that carries a registry code; match on `code`, never on the message. */
export class PlatformError extends Error {
  readonly status: number;
  readonly component: Component;
  constructor(
    readonly code: ErrorCode,
    message: string = ERRORS[code].title,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.status = httpStatus(code, details);
    this.component = ERRORS[code].component;
  }
}

export function isPlatformError(err: unknown): err is PlatformError {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    && (err as { code: string }).code in ERRORS;
}

/**
 * True when `err` carries one of `codes` (and is `code`, when given): how each module's error family
 * (store, queue, triggers) is recognised across realms and drivers, by its code alone.
 */
export function carriesCodeOf<C extends string>(codes: readonly C[], err: unknown, code?: C): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const found = (err as { code?: unknown }).code;
  if (typeof found !== 'string' || !(codes as readonly string[]).includes(found)) return false;
  return code === undefined || found === code;
}

/** The JSON body of every error response. */
export function errorBody(err: PlatformError, runId?: string): string {
  return JSON.stringify({
    error: { code: err.code, message: err.message, component: err.component, ...(runId ? { runId } : {}), ...err.details },
  });
}

/**
 * A write refused for want of space: SQLite's SQLITE_FULL ("database or disk is full"), the file
 * system's ENOSPC or EDQUOT: STORAGE_FULL to a caller (it was an INTERNAL_ERROR, "a platform bug"),
 * and at start (it was START_FAILED, or the CLI's "unexpected error").
 */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT';
}

/** The process (EMFILE) or the host (ENFILE) has no file descriptor left. */
export function isOutOfFiles(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/** What a caller is told of a failure for want of file descriptors (no path, no driver words). */
export const OUT_OF_FILES_MESSAGE = 'the platform has no file descriptor left (EMFILE): too many connections or files are open; send it again in a moment (operators: raise the open-files limit, ulimit -n)';

/**
 * A write (or read) SQLite refused because another process holds a lock on the file past the
 * busy timeout (SQLITE_BUSY, "database is locked"; SQLITE_LOCKED): an operator's open
 * `sqlite3` write, a VACUUM, a tool writing the file. STORE_BUSY to a caller (it was INTERNAL_ERROR).
 */
export function isStoreLocked(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** How the operator's log line of a failed dependency build begins (controlplane/deps/service.ts); `dev` prints its own instead. */
export const DEPS_BUILD_FAILED_LINE = 'deps: build of ';
