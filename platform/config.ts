/**
 * The platform process's configuration — the one parser of the `FP_*` variables, for both modes
 * (the platform, and directory mode with FP_FUNCTIONS_DIR): one zod schema with unit-bearing names and defaults,
 * reached two ways — `loadConfig(env)` from `FP_*` environment variables (pure: the caller passes
 * the environment; `process.env` is read only by platform/main.ts), and `parseOptions(options)`
 * for `startPlatform` callers (the CLI's `up`). Both list every bad key in one ConfigError and
 * return a frozen object. Every option, its variable and its default: docs/platform.md.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { TrustedProxies, type GatewaySettings } from '../gateway/index.js';
import { mongoSocketMistake, redisSocketMistake } from './socket-urls.js';
import { DEFAULT_LIMIT_CEILINGS, DEFAULT_RESULT_BYTES_PER_WORKSPACE, MAX_STORED_RESULT_BYTES, METRICS_PLATFORM_SERIES, parseLongDurationMs, PlatformError } from '../protocol/index.js';

const KIB = 1024;
const MIB = 1024 * KIB;
const DAY_MS = 24 * 3_600_000;

const int = (min: number, max: number) => z.number().int().min(min).max(max);

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A domain name of DNS labels (or `none`): the base of host routing. */
const BASE_DOMAIN = /^(none|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)$/;
/** Runtime Pod presets (docs/kubernetes.md): `name:memoryMiB:warmPods[:cpuRequest]`, comma-separated. */
const PRESET_LIST = /^[a-z0-9]{1,15}:\d{1,6}:\d{1,4}(:\d{1,5}m?)?(,[a-z0-9]{1,15}:\d{1,6}:\d{1,4}(:\d{1,5}m?)?)*$/;

/** One or more base64 32-byte keys, comma-separated (docs/secrets.md). The message never echoes the value. */
const KEY_LIST = /^\s*[A-Za-z0-9+/]{43}=\s*(,\s*[A-Za-z0-9+/]{43}=\s*)*$/;

/** Each option: its schema (with its default) and the environment variable that sets it. */
/** Root mode's function uids and dependency builder uid when not set (moved when someone on the host holds them: host-ids.ts). */
export const DEFAULT_SANDBOX_UIDS = '600000-699999';
export const DEFAULT_DEPS_BUILDER_UID = 599_999;

const OPTIONS = {
  stateDir: { env: 'FP_STATE_DIR', kind: 'string', schema: z.string().min(1).default('.state') },
  // Directory mode (platform/directory.ts): serve the functions of this directory instead of the store's.
  functionsDir: { env: 'FP_FUNCTIONS_DIR', kind: 'string', schema: z.string().min(1).optional() },
  port: { env: 'FP_PORT', kind: 'int', schema: int(0, 65535).default(8080) },
  host: { env: 'FP_HOST', kind: 'string', schema: z.string().min(1).default('127.0.0.1') },
  // Host routing (docs/adr/0020-addressing.md): `<key>.<baseDomain>` serves the function at `/`; `none` turns it off.
  baseDomain: { env: 'FP_BASE_DOMAIN', kind: 'string', schema: z.string().toLowerCase().regex(BASE_DOMAIN, 'must be a domain name such as fn.example.com (or none)').default('localhost') },
  // Whose Forwarded / X-Forwarded-* headers are applied (docs/gateway.md, "Proxy headers"); `none`: nobody's.
  // Nobody's by default: functions share the host's loopback (docs/security.md, "Network"), so
  // trusting 127.0.0.1 would let any function forge the client another function sees.
  trustedProxies: { env: 'FP_TRUSTED_PROXIES', kind: 'string', schema: z.string().default('none') },
  // Who sees the platform's own series at /metrics (docs/adr/0139-who-sees-the-platform-series.md): `anyone`, or the root token only.
  metricsPlatformSeries: { env: 'FP_METRICS_PLATFORM_SERIES', kind: 'string', schema: z.enum(METRICS_PLATFORM_SERIES).default('anyone') },
  publicUrl: { env: 'FP_PUBLIC_URL', kind: 'string', schema: z.url({ protocol: /^https?$/ }).optional() },
  maxBodyBytes: { env: 'FP_MAX_BODY_BYTES', kind: 'int', schema: int(1, 1024 * MIB).default(6 * MIB) },
  asyncMaxBodyBytes: { env: 'FP_ASYNC_MAX_BODY_BYTES', kind: 'int', schema: int(1, 1024 * MIB).default(256 * KIB) },
  // The most of an async run's answer kept as its result (Redis's memory in production; 0: no body; ADR 0236).
  asyncResultMaxBytes: { env: 'FP_ASYNC_RESULT_MAX_BYTES', kind: 'int', schema: int(0, 6 * MIB).default(MAX_STORED_RESULT_BYTES) },
  // What one workspace's kept async results hold together; past it the oldest accepted are dropped (ADR 0250).
  asyncResultBytesPerWorkspace: { env: 'FP_ASYNC_RESULT_BYTES_PER_WORKSPACE', kind: 'int', schema: int(0, 1024 * 1024 * MIB).default(DEFAULT_RESULT_BYTES_PER_WORKSPACE) },
  // Response bytes the gateway holds for clients that have not read them yet, all connections together (docs/gateway.md, "Slow clients").
  maxHeldResponseBytes: { env: 'FP_MAX_HELD_RESPONSE_BYTES', kind: 'int', schema: int(MIB, 1024 * 1024 * MIB).default(1024 * MIB) },
  // What one client connection may queue in the kernel (SO_SNDBUF, doubled by it; 0: autotuned; docs/gateway.md, "Slow clients", ADR 0147).
  sendBufferBytes: { env: 'FP_SEND_BUFFER_BYTES', kind: 'int', schema: int(0, 64 * MIB).default(512 * KIB) },
  // Request body bytes being received, all connections together (docs/gateway.md, "Slow clients").
  maxBodyBytesInFlight: { env: 'FP_MAX_BODY_BYTES_IN_FLIGHT', kind: 'int', schema: int(MIB, 1024 * 1024 * MIB).default(512 * MIB) },
  // What upgraded WebSocket connections reserve together for a message being received, each FP_WS_MAX_MESSAGE_BYTES (ADR 0198); default an eighth of the memory.
  maxWsReservedBytes: { env: 'FP_WS_RESERVED_BYTES', kind: 'int', schema: int(MIB, 1024 * 1024 * MIB).optional() },
  // The largest message a WebSocket client may send (uWS closes with 1009 past it; ADR 0198).
  wsMaxMessageBytes: { env: 'FP_WS_MAX_MESSAGE_BYTES', kind: 'int', schema: int(KIB, 16 * MIB).default(MIB) },
  poolSize: { env: 'FP_POOL_SIZE', kind: 'int', schema: int(1, 1000).default(3) },
  // The generic runtime next in line writes a specialize's pages while it waits: its cold start ~0.7x, ~1.2 MiB more (ADR 0114).
  poolWarmNext: { env: 'FP_POOL_WARM_NEXT', kind: 'flag', schema: z.boolean().default(false) },
  idleTimeoutMs: { env: 'FP_IDLE_TIMEOUT_MS', kind: 'int', schema: int(1000, 7 * DAY_MS).default(300_000) },
  shutdownGraceMs: { env: 'FP_SHUTDOWN_GRACE_MS', kind: 'int', schema: int(0, 600_000).default(10_000) },
  pythonPath: { env: 'FP_PYTHON', kind: 'string', schema: z.string().min(1).optional() },
  debug: { env: 'FP_DEBUG', kind: 'flag', schema: z.boolean().default(false) },
  // The platform's own log lines on stderr: `text` (as written) or `json` (one object a line, with a level: platform/log-format.ts).
  logFormat: { env: 'FP_LOG_FORMAT', kind: 'string', schema: z.enum(['text', 'json']).default('text') },
  runRetentionMs: { env: 'FP_RUN_RETENTION_MS', kind: 'int', schema: int(1000, 3650 * DAY_MS).default(7 * DAY_MS) },
  runPruneIntervalMs: { env: 'FP_RUN_PRUNE_INTERVAL_MS', kind: 'int', schema: int(100, DAY_MS).default(600_000) },
  // Code directories of versions no longer active are removed once nothing runs from them (controlplane/service/code-collect.ts).
  codeCollectIntervalMs: { env: 'FP_CODE_COLLECT_INTERVAL_MS', kind: 'int', schema: int(100, DAY_MS).default(600_000) },
  // Versions of a function kept on deploy, besides the active one, a bare rollback's target and a draft's base; 0: all (docs/adr/0098-deleting-versions.md).
  keepVersions: { env: 'FP_KEEP_VERSIONS', kind: 'int', schema: int(0, 1_000_000).default(20) },
  // ---- run storage bounds (issue 11, docs/stores.md "Retention") ----
  // Successful warm HTTP runs kept in full per function and minute; past that, one in FP_RUN_SAMPLE_ONE_IN.
  runKeepPerMinute: { env: 'FP_RUN_KEEP_PER_MINUTE', kind: 'int', schema: int(0, 1_000_000).default(60) },
  runSampleOneIn: { env: 'FP_RUN_SAMPLE_ONE_IN', kind: 'int', schema: int(0, 1_000_000).default(100) },
  // The run store's size cap: past it the oldest runs go, whatever their age.
  runStoreMaxBytes: { env: 'FP_RUN_STORE_MAX_BYTES', kind: 'int', schema: int(MIB, 1024 * 1024 * MIB).default(1024 * MIB) },
  // The run journal's cap (run records held in memory, also on disk so a crash loses none; 0: no journal).
  runJournalMaxBytes: { env: 'FP_RUN_JOURNAL_MAX_BYTES', kind: 'int', schema: int(0, 1024 * MIB).default(64 * MIB) },
  // How often the run store's size is checked against that cap.
  runStoreCheckMs: { env: 'FP_RUN_STORE_CHECK_MS', kind: 'int', schema: int(100, 3_600_000).default(10_000) },
  maxBundleBytes: { env: 'FP_MAX_BUNDLE_BYTES', kind: 'int', schema: int(1, 1024 * MIB).default(50 * MIB) },
  maxBundleFiles: { env: 'FP_MAX_BUNDLE_FILES', kind: 'int', schema: int(1, 100_000).default(1000) },
  maxFileBytes: { env: 'FP_MAX_FILE_BYTES', kind: 'int', schema: int(1, 1024 * MIB).default(10 * MIB) },
  bundleThreads: { env: 'FP_BUNDLE_THREADS', kind: 'int', schema: int(1, 64).optional() },
  bundleCheckTimeoutMs: { env: 'FP_BUNDLE_CHECK_TIMEOUT_MS', kind: 'int', schema: int(10, 600_000).default(30_000) },
  store: { env: 'FP_STORE', kind: 'string', schema: z.enum(['embedded', 'production']).default('embedded') },
  redisUrl: { env: 'FP_REDIS_URL', kind: 'string', schema: z.string().regex(/^(?:rediss?:\/\/|unix:\/\/\/)\S+$/, 'must be a redis:// or rediss:// URL, or unix:///path/to/redis.sock (?password=…)').optional() },
  redisPrefix: { env: 'FP_REDIS_PREFIX', kind: 'string', schema: z.string().regex(/^[^\s{}*?[\]]+$/, 'must not contain spaces, braces or glob characters').default('fp') },
  mongoUrl: { env: 'FP_MONGO_URL', kind: 'string', schema: z.string().regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// URL').optional() },
  mongoDatabase: { env: 'FP_MONGO_DB', kind: 'string', schema: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be 1-63 letters, digits, _ or -').default('fastapi_platform') },
  // Start in an FP_MONGO_DB that has no platform schema record but holds data (refused otherwise: ADR 0183).
  mongoDatabaseAdopt: { env: 'FP_MONGO_DB_ADOPT', kind: 'flag', schema: z.boolean().default(false) },
  dispatchConcurrency: { env: 'FP_DISPATCH_CONCURRENCY', kind: 'int', schema: int(1, 1000).default(4) },
  dispatchLeaseMs: { env: 'FP_DISPATCH_LEASE_MS', kind: 'int', schema: int(1000, 3_600_000).default(30_000) },
  warmReportIntervalMs: { env: 'FP_WARM_REPORT_INTERVAL_MS', kind: 'int', schema: int(100, 600_000).default(10_000) },
  // ---- Redis reliability (issue 9) ----
  // Accept async runs on a Redis that does not persist its data (docs/platform.md, "Production mode").
  redisAllowVolatile: { env: 'FP_REDIS_ALLOW_VOLATILE', kind: 'flag', schema: z.boolean().default(false) },
  // ---- data bindings (docs/data-binding.md) ----
  // auto: FP_DATA_MONGO_URL if set, else a FerretDB the platform starts itself if one is installed, else none; off: none.
  data: { env: 'FP_DATA', kind: 'string', schema: z.enum(['auto', 'off']).default('auto') },
  dataMongoUrl: { env: 'FP_DATA_MONGO_URL', kind: 'string', schema: z.string().regex(/^mongodb:\/\/([^@/\s]+:\d+|%2F[^@/\s]+\.sock)\/?$/, 'must be mongodb://HOST:PORT or mongodb://%2Fpath%2Fto.sock (no credentials: see docs/data-binding.md)').optional() },
  // How long the data proxy waits for that server (connect, each reply) before the command gets DATA_BACKEND_UNAVAILABLE.
  dataBackendTimeoutMs: { env: 'FP_DATA_BACKEND_TIMEOUT_MS', kind: 'int', schema: int(100, 3_600_000).default(5_000) },
  // Past this size (the server's dbStats: data and indexes) a bound database takes no more writes (DATA_QUOTA_EXCEEDED).
  dataMaxDatabaseBytes: { env: 'FP_DATA_MAX_DATABASE_BYTES', kind: 'int', schema: int(MIB, 2 ** 50).default(10 * 1024 * MIB) },
  // The embedded FerretDB's memory limit (default: a quarter of the machine's memory, at most 2 GiB).
  dataMemoryBytes: { env: 'FP_DATA_MEMORY_BYTES', kind: 'int', schema: int(64 * MIB, 2 ** 50).optional() },
  ferretdbPath: { env: 'FP_FERRETDB', kind: 'string', schema: z.string().min(1).optional() },
  // ---- the sandbox (docs/security.md) ----
  sandbox: { env: 'FP_SANDBOX', kind: 'string', schema: z.enum(['auto', 'root', 'userns']).default('auto') },
  unsafeNoSandbox: { env: 'FP_UNSAFE_NO_SANDBOX', kind: 'flag', schema: z.boolean().default(false) },
  sandboxUids: { env: 'FP_SANDBOX_UIDS', kind: 'string', schema: z.string().regex(/^\d{1,10}-\d{1,10}$/, 'must be FIRST-LAST, e.g. 600000-699999').default(DEFAULT_SANDBOX_UIDS) },
  sandboxTmpBytes: { env: 'FP_SANDBOX_TMP_BYTES', kind: 'int', schema: int(MIB, 64 * 1024 * MIB).default(64 * MIB) },
  sandboxTasks: { env: 'FP_SANDBOX_TASKS', kind: 'int', schema: int(16, 1_000_000).default(256) },
  // Socket buffers of all the boxes together (cgroup v1; default: half of net.ipv4.tcp_mem's pressure threshold).
  sandboxSocketBytes: { env: 'FP_SANDBOX_SOCKET_BYTES', kind: 'int', schema: int(MIB, 2 ** 50).optional() },
  // Memory of all the boxes together (default: the machine's, or the platform's cgroup's, less a quarter, at least 1 GiB).
  sandboxMemoryBytes: { env: 'FP_SANDBOX_MEMORY_BYTES', kind: 'int', schema: int(64 * MIB, 2 ** 50).optional() },
  // Fork runtimes from a zygote per preset instead of spawning interpreters (docs/adr/0019-zygotes.md).
  zygotes: { env: 'FP_ZYGOTES', kind: 'flag', schema: z.boolean().default(true) },
  // Fork a slow-to-load version's scale-out instances from a template of it (docs/adr/0030-function-templates.md).
  templates: { env: 'FP_TEMPLATES', kind: 'flag', schema: z.boolean().default(true) },
  sandboxOpenFiles: { env: 'FP_SANDBOX_OPEN_FILES', kind: 'int', schema: int(64, 1_048_576).default(1024) },
  maxInstances: { env: 'FP_MAX_INSTANCES', kind: 'int', schema: int(1, 100_000).default(64) },
  maxHeldCalls: { env: 'FP_MAX_HELD_CALLS', kind: 'int', schema: int(1, 1_000_000).default(4096) },
  // The start budget after crashes (docs/adr/0158-a-start-budget-after-crashes.md): ends of a function's instances back to back (0: off), then starts a minute.
  crashStartBurst: { env: 'FP_CRASH_START_BURST', kind: 'int', schema: int(0, 1_000_000).default(10) },
  crashStartsPerMinute: { env: 'FP_CRASH_STARTS_PER_MINUTE', kind: 'int', schema: int(1, 1_000_000).default(30) },
  maxFrameBytesInFlight: { env: 'FP_MAX_FRAME_BYTES_IN_FLIGHT', kind: 'int', schema: int(MIB, 1024 * 1024 * MIB).default(1024 * MIB) },
  maxFunctionInstances: { env: 'FP_MAX_FUNCTION_INSTANCES', kind: 'int', schema: int(1, 1000).default(DEFAULT_LIMIT_CEILINGS.maxFunctionInstances) },
  maxFunctionMemoryBytes: { env: 'FP_MAX_FUNCTION_MEMORY_BYTES', kind: 'int', schema: int(16 * MIB, 1024 * 1024 * MIB).default(DEFAULT_LIMIT_CEILINGS.maxFunctionMemoryBytes) },
  maxFunctionTimeoutMs: { env: 'FP_MAX_FUNCTION_TIMEOUT_MS', kind: 'int', schema: int(1000, 2_147_483_647).default(DEFAULT_LIMIT_CEILINGS.maxFunctionTimeoutMs) },
  secretsKeyFile: { env: 'FP_SECRETS_KEY_FILE', kind: 'string', schema: z.string().min(1).optional() },
  // The process's first admin token (or a rotated one) goes to this file, not into its log (ADR 0135).
  adminTokenFile: { env: 'FP_ADMIN_TOKEN_FILE', kind: 'string', schema: z.string().min(1).optional() },
  secretsKey: { env: 'FP_SECRETS_KEY', kind: 'string', schema: z.string().regex(KEY_LIST, 'must be one or more base64 keys of 32 bytes, separated by commas (e.g. from `openssl rand -base64 32`)').optional() },
  // ---- where runtimes run (docs/kubernetes.md) ----
  runtimeHost: { env: 'FP_RUNTIME_HOST', kind: 'string', schema: z.enum(['process', 'kubernetes']).default('process') },
  kubeconfig: { env: 'FP_KUBECONFIG', kind: 'string', schema: z.string().min(1).optional() },
  kubeNamespace: { env: 'FP_KUBE_NAMESPACE', kind: 'string', schema: z.string().regex(DNS_LABEL, 'must be a DNS label').default('default') },
  kubePool: { env: 'FP_KUBE_POOL', kind: 'string', schema: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,28}[a-z0-9])?$/, 'must be a DNS label of at most 30 characters').default('fp') },
  kubeImage: { env: 'FP_KUBE_IMAGE', kind: 'string', schema: z.string().min(1).optional() },
  kubeImagePullPolicy: { env: 'FP_KUBE_IMAGE_PULL_POLICY', kind: 'string', schema: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent') },
  kubePresets: { env: 'FP_KUBE_PRESETS', kind: 'string', schema: z.string().regex(PRESET_LIST, 'must be NAME:MiB:WARM[:CPU],… e.g. m256:256:2:100m,m1024:1024:0').default('m256:256:2:100m,m1024:1024:0:250m') },
  kubeRuntimePort: { env: 'FP_KUBE_RUNTIME_PORT', kind: 'int', schema: int(1, 65535).default(8000) },
  kubeServiceAccount: { env: 'FP_KUBE_SERVICE_ACCOUNT', kind: 'string', schema: z.string().regex(DNS_LABEL, 'must be a DNS label').optional() },
  kubeHostId: { env: 'FP_KUBE_HOST_ID', kind: 'string', schema: z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/, 'must be a label value (the gateway Pod\'s name)').optional() },
  kubeTokenKey: { env: 'FP_KUBE_TOKEN_KEY', kind: 'string', schema: z.string().regex(/^\s*[A-Za-z0-9+/]{43}=\s*$/, 'must be a base64 key of 32 bytes (`openssl rand -base64 32`)').optional() },
  kubePodStartTimeoutMs: { env: 'FP_KUBE_POD_START_TIMEOUT_MS', kind: 'int', schema: int(1000, 3_600_000).default(120_000) },
  // Variables of the platform's environment every function gets too (e.g. HTTPS_PROXY,NO_PROXY): every tenant can read them.
  functionHostEnv: { env: 'FP_FUNCTION_HOST_ENV', kind: 'string', schema: z.string().regex(/^\s*([A-Za-z_][A-Za-z0-9_]*\s*(,\s*[A-Za-z_][A-Za-z0-9_]*\s*)*)?$/, 'must be variable names separated by commas').default('') },
  // ---- dependencies (issue 10, docs/dependencies.md) ----
  depsIndexUrl: { env: 'FP_DEPS_INDEX_URL', kind: 'string', schema: z.union([z.literal('none'), z.url({ protocol: /^https?$/ })]).default('https://pypi.org/simple') },
  depsExtraIndexUrls: { env: 'FP_DEPS_EXTRA_INDEX_URLS', kind: 'string', schema: z.string().regex(/^\s*(https?:\/\/[^\s,]+\s*(,\s*https?:\/\/[^\s,]+\s*)*)?$/, 'must be http(s) URLs separated by commas').default('') },
  depsFindLinks: { env: 'FP_DEPS_FIND_LINKS', kind: 'string', schema: z.string().regex(/^\//, 'must be an absolute path (a directory of wheels)').optional() },
  depsAllowSdist: { env: 'FP_DEPS_ALLOW_SDIST', kind: 'flag', schema: z.boolean().default(false) },
  depsAllowHosts: { env: 'FP_DEPS_ALLOW_HOSTS', kind: 'string', schema: z.string().regex(/^[A-Za-z0-9.:,\s[\]-]*$/, 'must be host or host:port names separated by commas').default('') },
  depsIndexCa: { env: 'FP_DEPS_INDEX_CA', kind: 'string', schema: z.string().regex(/^\//, 'must be an absolute path').default('/etc/ssl/certs/ca-certificates.crt') },
  depsTimeoutMs: { env: 'FP_DEPS_TIMEOUT_MS', kind: 'int', schema: int(1000, 3_600_000).default(300_000) },
  depsMaxBytes: { env: 'FP_DEPS_MAX_BYTES', kind: 'int', schema: int(MIB, 64 * 1024 * MIB).default(512 * MIB) },
  depsMemoryBytes: { env: 'FP_DEPS_MEMORY_BYTES', kind: 'int', schema: int(256 * MIB, 64 * 1024 * MIB).default(2048 * MIB) },
  depsBuilderUid: { env: 'FP_DEPS_BUILDER_UID', kind: 'int', schema: int(1, 4_294_967_294).default(DEFAULT_DEPS_BUILDER_UID) },
  depsConcurrency: { env: 'FP_DEPS_CONCURRENCY', kind: 'int', schema: int(1, 64).default(1) },
  depsKeepMs: { env: 'FP_DEPS_KEEP_MS', kind: 'int', schema: int(0, 30 * 24 * 3_600_000).default(3_600_000) },
  // ---- tenants (issue 12, docs/adr/0011-tenants.md) ----
  // The quotas a new workspace gets (unset: none); `default` has none unless the root token sets them.
  workspaceQuotaFunctions: { env: 'FP_WORKSPACE_QUOTA_FUNCTIONS', kind: 'int', schema: int(0, 1_000_000).optional() },
  workspaceQuotaInstances: { env: 'FP_WORKSPACE_QUOTA_INSTANCES', kind: 'int', schema: int(0, 100_000).optional() },
  workspaceQuotaInvocationsPerMinute: { env: 'FP_WORKSPACE_QUOTA_INVOCATIONS_PER_MINUTE', kind: 'int', schema: int(0, 1_000_000_000).optional() },
  workspaceQuotaCodeBytes: { env: 'FP_WORKSPACE_QUOTA_CODE_BYTES', kind: 'int', schema: int(0, Number.MAX_SAFE_INTEGER).optional() },
  workspaceQuotaLogBytes: { env: 'FP_WORKSPACE_QUOTA_LOG_BYTES', kind: 'int', schema: int(0, Number.MAX_SAFE_INTEGER).optional() },
  // How long audit entries are kept: `90d`, `720h` (the variable takes a duration with its unit).
  auditRetentionMs: { env: 'FP_AUDIT_RETENTION', kind: 'duration', schema: int(60_000, 36_500 * DAY_MS).default(90 * DAY_MS) },
  // The audit entries a workspace keeps at most, its newest (0: no bound but the retention; ADR 0103).
  auditMaxEntries: { env: 'FP_AUDIT_MAX_ENTRIES', kind: 'int', schema: int(0, 100_000_000).refine((n) => n === 0 || n >= 100, 'must be 0 (no bound) or at least 100').default(100_000) },
  // Changes through the API a workspace token's workspace may make a minute, in a burst as well (0: no limit; ADR 0103).
  apiWriteRate: { env: 'FP_API_WRITE_RATE', kind: 'int', schema: int(0, 1_000_000_000).default(600) },
} as const;

type OptionKey = keyof typeof OPTIONS;

const shape = Object.fromEntries(Object.entries(OPTIONS).map(([key, o]) => [key, o.schema])) as { [K in OptionKey]: (typeof OPTIONS)[K]['schema'] };

const configSchema = z.strictObject(shape).superRefine((c, ctx) => {
  if (c.maxFileBytes > c.maxBundleBytes) ctx.addIssue({ code: 'custom', path: ['maxFileBytes'], message: 'must not exceed maxBundleBytes' });
  const [first, last] = c.sandboxUids.split('-').map(Number) as [number, number];
  if (!(first >= 1 && last >= first && last <= 4_294_967_294)) {
    ctx.addIssue({ code: 'custom', path: ['sandboxUids'], message: 'must be a range of uids from 1 up, first ≤ last' });
  }
  const own = process.getuid?.() ?? 0;
  if (own >= first && own <= last) ctx.addIssue({ code: 'custom', path: ['sandboxUids'], message: `must not include the platform's own uid ${own}` });
  if (c.depsBuilderUid === own || (c.depsBuilderUid >= first && c.depsBuilderUid <= last)) {
    ctx.addIssue({ code: 'custom', path: ['depsBuilderUid'], message: 'must be outside the function uid range and not the platform\'s own uid' });
  }
  // One place the keys come from (docs/secrets.md): never guess which of two wins.
  if (c.secretsKey !== undefined && c.secretsKeyFile !== undefined) ctx.addIssue({ code: 'custom', path: ['secretsKey'], message: 'give the key or the key file, not both' });
  if (c.functionsDir !== undefined && c.store === 'production') {
    ctx.addIssue({ code: 'custom', path: ['functionsDir'], message: 'serves functions from a directory, without a store: not with the production store' });
  }
  if (c.store === 'production') {
    // Production keeps everything in Redis + MongoDB: both addresses are needed, nothing is guessed.
    if (c.redisUrl === undefined) ctx.addIssue({ code: 'custom', path: ['redisUrl'], message: 'required when the store is production' });
    if (c.mongoUrl === undefined) ctx.addIssue({ code: 'custom', path: ['mongoUrl'], message: 'required when the store is production' });
  }
  // A Unix socket spelled the other server's way: the start failed later with the client library's words.
  const redisSocket = c.redisUrl === undefined ? null : redisSocketMistake(c.redisUrl);
  if (redisSocket !== null) ctx.addIssue({ code: 'custom', path: ['redisUrl'], message: redisSocket });
  const mongoSocket = c.mongoUrl === undefined ? null : mongoSocketMistake(c.mongoUrl);
  if (mongoSocket !== null) ctx.addIssue({ code: 'custom', path: ['mongoUrl'], message: mongoSocket });
  try {
    new TrustedProxies(proxyList(c.trustedProxies));
  } catch (err) {
    ctx.addIssue({ code: 'custom', path: ['trustedProxies'], message: `must be IP addresses or CIDR ranges separated by commas, or none (${(err as Error).message})` });
  }
  if (c.runtimeHost === 'kubernetes' && c.kubeImage === undefined) ctx.addIssue({ code: 'custom', path: ['kubeImage'], message: 'required when the runtime host is kubernetes' });
});

export type PlatformConfig = Readonly<z.output<typeof configSchema>>;
/** What `startPlatform` accepts: any option, the rest defaulted. */
export type PlatformOptions = z.input<typeof configSchema>;

/** `FP_TRUSTED_PROXIES` as a list: comma-separated entries; `none` or empty: nobody. */
export function proxyList(text: string): string[] {
  const entries = text.split(',').map((e) => e.trim()).filter((e) => e !== '');
  return entries.length === 1 && entries[0] === 'none' ? [] : entries;
}

/** What the gateway takes from the configuration: the one place both modes build it. */
export function gatewaySettings(c: PlatformConfig): GatewaySettings {
  return {
    host: c.host,
    port: c.port,
    maxBodyBytes: c.maxBodyBytes,
    maxHeldResponseBytes: c.maxHeldResponseBytes,
    sendBufferBytes: c.sendBufferBytes,
    maxBodyBytesInFlight: c.maxBodyBytesInFlight,
    ...(c.maxWsReservedBytes !== undefined ? { maxWsReservedBytes: c.maxWsReservedBytes } : {}),
    wsMaxMessageBytes: c.wsMaxMessageBytes,
    shutdownGraceMs: c.shutdownGraceMs,
    baseDomain: c.baseDomain === 'none' ? null : c.baseDomain,
    trustedProxies: proxyList(c.trustedProxies),
  };
}

/** The environment variables `loadConfig` reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.values(OPTIONS).map((o) => o.env);

/** Each option's name, variable and kind of text (docs/platform.md's table lists them: test/unit/docs-match-code.test.ts). */
export const CONFIG_OPTIONS: readonly { key: string; env: string; kind: 'string' | 'int' | 'flag' | 'duration' }[] =
  Object.entries(OPTIONS).map(([key, o]) => ({ key, env: o.env, kind: o.kind }));

/** BAD_CONFIG: every bad setting at once, each named as the caller gave it (variable or option). */
export class ConfigError extends PlatformError {
  constructor(readonly issues: { key: string; message: string }[]) {
    super('BAD_CONFIG', `invalid configuration:\n${issues.map((i) => `  - ${i.key}: ${i.message}`).join('\n')}`, { issues });
  }
}

/**
 * The default secrets key file: `$FP_CONFIG_DIR/secrets.key` (the CLI's folder, where `up` keeps
 * it next to the credentials: the same state started either way finds the same key), else
 * `$XDG_CONFIG_HOME/fastapi-platform/secrets.key`, else `~/.config/fastapi-platform/secrets.key` —
 * the user's config folder, outside every state directory.
 */
export function defaultSecretsKeyFile(env: { FP_CONFIG_DIR?: string | undefined; XDG_CONFIG_HOME?: string | undefined; HOME?: string | undefined }): string {
  if (env.FP_CONFIG_DIR) return join(env.FP_CONFIG_DIR, 'secrets.key');
  const config = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(config, 'fastapi-platform', 'secrets.key');
}

/** From the environment: `FP_PORT=8080` etc.; an empty variable counts as unset. */
export function loadConfig(env: Record<string, string | undefined>): PlatformConfig {
  const raw: Record<string, unknown> = {};
  const issues: { key: string; message: string }[] = [];
  for (const [key, option] of Object.entries(OPTIONS)) {
    const text = env[option.env];
    if (text === undefined || text === '') continue;
    const value = fromText(option.kind, text);
    if (value === undefined) issues.push({ key: option.env, message: kindMessage(option.kind, option.env, text) });
    else raw[key] = value;
  }
  if (raw['secretsKey'] === undefined && raw['secretsKeyFile'] === undefined) raw['secretsKeyFile'] = defaultSecretsKeyFile(env);
  return check(raw, issues, (key) => OPTIONS[key as OptionKey]?.env ?? key);
}

/** From code (`startPlatform(options)`): unit-named options; an unknown option is an error. */
export function parseOptions(options: PlatformOptions | Record<string, unknown>): PlatformConfig {
  return check(options, [], (key) => key);
}

/** The CLI's variables a platform's shell often has too (docs/cli.md); FP_CONFIG_DIR also places the default key file. */
const SHARED_WITH_CLI: readonly string[] = ['FP_CONFIG_DIR', 'FP_CACHE_DIR', 'FP_URL', 'FP_TOKEN', 'FP_PROFILE', 'FP_WORKSPACE', 'FP_PYTHON'];

/** `FP_*` variables `loadConfig` does not know: likely typos (main.ts warns about them). */
export function unknownSettings(env: Record<string, string | undefined>): string[] {
  return Object.keys(env).filter((key) => key.startsWith('FP_') && !CONFIG_VARIABLES.includes(key) && !SHARED_WITH_CLI.includes(key));
}

/**
 * What a value of this kind must be, with what was given and, for a count of milliseconds or bytes,
 * the unit and an example: `FP_RUN_RETENTION_MS=7d` read "must be a whole number" (new-user round 5).
 */
function kindMessage(kind: keyof typeof KIND_MESSAGES, env: string, text: string): string {
  const unit = kind !== 'int' ? '' : env.endsWith('_MS') ? ' of milliseconds (7 days: 604800000)' : env.endsWith('_BYTES') ? ' of bytes (1 GiB: 1073741824)' : '';
  return `${KIND_MESSAGES[kind]}${unit}, got ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`;
}

const KIND_MESSAGES = {
  string: 'must be text',
  int: 'must be a whole number',
  flag: 'must be 0, 1, true or false',
  duration: 'must be a duration with its unit, e.g. 90d, 720h, 30m',
} as const;

function fromText(kind: keyof typeof KIND_MESSAGES, text: string): string | number | boolean | undefined {
  if (kind === 'string') return text;
  if (kind === 'int') return /^\d{1,15}$/.test(text) ? Number(text) : undefined;
  if (kind === 'duration') {
    try {
      return parseLongDurationMs(text);
    } catch {
      return undefined;
    }
  }
  if (text === '1' || text === 'true') return true;
  if (text === '0' || text === 'false') return false;
  return undefined;
}

function check(raw: unknown, issues: { key: string; message: string }[], name: (key: string) => string): PlatformConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') for (const key of issue.keys) issues.push({ key: name(key), message: 'unknown option' });
      else issues.push({ key: name(String(issue.path[0] ?? '')), message: issue.message });
    }
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(issues);
  return Object.freeze(result.data);
}
