/**
 * Every Redis key and channel the platform uses, built here and nowhere else (gateways, the
 * control plane and tools must agree on them). Names, types and lifetimes: docs/stores.md
 * ("Redis keys"). Layout `<prefix>:v1:...`; the prefix (default `fp`) lets several platforms or
 * test runs share one Redis. The function name sits in a hash tag `{name}` so all keys of one
 * function land in one Redis Cluster slot. Changing a key's shape means a new `v<n>` segment.
 */

export const REDIS_KEY_VERSION = 'v1';
export const DEFAULT_REDIS_PREFIX = 'fp';

/** Minute buckets are kept this long (the 1 h window needs 60 of them). */
export const MINUTE_BUCKET_TTL_MS = 2 * 60 * 60 * 1000;
/** Hour buckets are kept this long (the 24 h window needs 24 of them). */
export const HOUR_BUCKET_TTL_MS = 26 * 60 * 60 * 1000;

/** How long a HotMetrics batch id is remembered (a retried batch within it is not counted twice). */
export const BATCH_MARKER_TTL_MS = 60 * 60 * 1000;

/** Fields of a bucket hash (minute or hour). `b<i>` counts runs in latency bucket i (../metrics). */
export const BUCKET_FIELDS = { count: 'n', errors: 'err', cold: 'cold', sumMs: 'sum', scaleToZero: 'stz' } as const;
export const latencyField = (index: number): string => `b${index}`;
/** The cold runs' latency bucket `index` (fields added later: a bucket without them has no cold-latency data). */
export const coldLatencyField = (index: number): string => `c${index}`;
/** The cold runs' init-time bucket `index`. */
export const initField = (index: number): string => `i${index}`;

export interface RedisKeys {
  readonly prefix: string;
  /** Hash: one function's runs that started in this minute (`floor(ms / 60000)`). TTL 2 h. */
  minute(fn: string, minute: number): string;
  /** Hash: the same for one hour (`floor(ms / 3600000)`). TTL 26 h. */
  hour(fn: string, hour: number): string;
  /** Hash `n`, `err`, `cold`: counts since the function's metrics began. No TTL. */
  totals(fn: string): string;
  /** Sorted set: the last successful run id, scored by its start time (one member). No TTL. */
  lastSuccess(fn: string): string;
  /** Hash: reporter id → `<warm instances>:<expires at ms>`; the key's TTL is refreshed by each report. */
  warm(fn: string): string;
  /** String `1` while the function is paused; absent otherwise. */
  paused(fn: string): string;
  /** String: marks a HotMetrics batch as applied, so its retry is skipped. TTL 1 h. */
  batch(id: string): string;
  /** Pattern matching every key of one function (for `SCAN` when forgetting it). */
  functionPattern(fn: string): string;
  /** Pub/sub channel: function configuration changes, for every gateway (reserved, issue 4). */
  configChannel(): string;
  /**
   * Stream: the function's live log entries while it is tailed (fields `c` lines so far, `n` lines
   * in the entry, `d` the event as JSON); MAXLEN ~ bounded; TTL refreshed by every entry (10 min).
   */
  logStream(fn: string): string;
  /** String: lines published to `logStream(fn)` so far (each entry's `c`). Same TTL. */
  logCount(fn: string): string;
  /** Hash: function name → until when (ms) some process serves a live tail of it. Fields pruned when past. */
  logTails(): string;
  /** Pub/sub channel: the name of a function a process started to tail (publishers start at once). */
  logTailsChannel(): string;
  /** String (a counter, no TTL): INCRed by every process to tell a Redis that came back older than it acknowledged (redis-persistence.ts). */
  durabilityMark(): string;
  /** String (no TTL): which platform (its MongoDB database's id) keeps its data under this prefix (redis-owner.ts). */
  owner(): string;
  /** The async queue `q` (docs/queue.md). All its keys share the hash tag `{q}`: one Cluster slot, so its scripts may touch them together. */
  queue(q: string): QueueKeys;
  /** The keys of one trigger (docs/triggers.md). Under the function's hash tag, like its other keys. */
  trigger(fn: string, triggerId: string): TriggerKeys;
  /**
   * The admission limits of one workspace (docs/adr/0011-tenants.md), all under the workspace's hash
   * tag `{ws:<name>}` so the one script that checks a call touches a single Cluster slot.
   */
  limits(workspace: string): LimitKeys;
  /** The keys of one Kubernetes runtime pool (poolmgr/host/kube/coordinator.ts, docs/kubernetes.md). */
  kubePool(pool: string): KubePoolKeys;
}

export interface LimitKeys {
  /** Hash `t` (tokens left, fractional), `ts` (ms of the last refill): a function's token bucket. TTL: a full refill. */
  bucket(fn: string): string;
  /** The prefix of the per-minute call counters; the script appends the minute (`floor(ms / 60000)`) from Redis's clock. TTL 2 min. */
  minutePrefix: string;
}

/** The keys the gateways of one Kubernetes runtime pool share. Both carry a TTL refreshed by their owner. */
export interface KubePoolKeys {
  /** String: the host id that keeps the pool's warm Pods at their target (SET NX, renewed). */
  filler: string;
  /** String `1` while the host `hostId` is alive (heartbeat); its leased Pods are strays once it expires. */
  host(hostId: string): string;
}

/** The keys of one cron or webhook trigger (controlplane/async/triggers/redis.ts). All but the note carry a TTL. */
export interface TriggerKeys {
  /** String `1`: the cron tick at `tickMs` was claimed by one scheduler (SET NX); `2`: its run was queued (settled, ADR 0264). TTL = the lock TTL. */
  tick(tickMs: number): string;
  /** String `1`: a Stripe-style delivery (its replay key) was accepted. TTL = until its tolerance window has passed. */
  seen(replayKey: string): string;
  /** Hash, the cron trigger's lasting note (ADR 0238): `tick` (last claimed), `missedAt`, `missed` (since the last fired tick). No TTL: one key a trigger. */
  note: string;
}

/** The keys of one async queue (controlplane/async/queue/redis.ts). No TTLs except idempotency keys. */
export interface QueueKeys {
  /** Stream: ready and leased jobs, one entry per job (field `r` = run id); consumer group QUEUE_GROUP. */
  stream: string;
  /** Sorted set: run ids waiting for their time (backoff), scored by notBefore ms. */
  delayed: string;
  /** Hash per queued job: function, payload, attempt, times, state, lease. Deleted on ack, cancel and dead-letter. */
  job(runId: string): string;
  /** The prefix of `job(runId)` (scripts build job keys from run ids they read out of the stream). */
  jobPrefix: string;
  /** String: the run id first queued with this idempotency key. TTL = the idempotency window. */
  idempotency(key: string): string;
  /** String: the fingerprint of the request first queued with this idempotency key (when it had one). TTL = the idempotency window. */
  idempotencyFingerprint(key: string): string;
  /** Stream: dead letters (field `r` = run id, plus the job's fields and `reason`, `at`). */
  dead: string;
  /** Hash: run id → its entry id in the dead stream. */
  deadIndex: string;
  /**
   * Sorted set per function: its jobs that are not leased (ready or delayed), scored by the time
   * they become ready (ms). The per-function index behind `functionStats` (the metrics).
   */
  waiting(fn: string): string;
  /** The prefix of `waiting(fn)` (scripts build it from the function name they read). */
  waitingPrefix: string;
  /** Set: the functions that may have a `waiting` set (pruned when one is found empty). */
  waitingFunctions: string;
}

/** The consumer group every dispatcher of a queue reads through. */
export const QUEUE_GROUP = 'dispatchers';

export function redisKeys(prefix: string = DEFAULT_REDIS_PREFIX): RedisKeys {
  if (prefix === '' || /[\s{}*?[\]]/.test(prefix)) throw new RangeError(`bad Redis key prefix: ${JSON.stringify(prefix)}`);
  const base = `${prefix}:${REDIS_KEY_VERSION}`;
  const fnKey = (fn: string, rest: string): string => `${base}:fn:{${fn}}:${rest}`;
  return {
    prefix,
    minute: (fn, minute) => fnKey(fn, `m:${minute}`),
    hour: (fn, hour) => fnKey(fn, `h:${hour}`),
    totals: (fn) => fnKey(fn, 'totals'),
    lastSuccess: (fn) => fnKey(fn, 'last-ok'),
    warm: (fn) => fnKey(fn, 'warm'),
    paused: (fn) => fnKey(fn, 'paused'),
    batch: (id) => `${base}:batch:${id}`,
    functionPattern: (fn) => `${base}:fn:{${fn.replace(/[*?[\]\\]/g, '\\$&')}}:*`,
    configChannel: () => `${base}:config`,
    logStream: (fn) => fnKey(fn, 'logs'),
    logCount: (fn) => fnKey(fn, 'logs:n'),
    logTails: () => `${base}:logs:tails`,
    logTailsChannel: () => `${base}:logs:tailing`,
    durabilityMark: () => `${base}:durability-mark`,
    owner: () => `${base}:owner`,
    queue: (q) => {
      if (q === '' || /[\s{}*?[\]]/.test(q)) throw new RangeError(`bad queue name: ${JSON.stringify(q)}`);
      const qKey = (rest: string): string => `${base}:q:{${q}}:${rest}`;
      return {
        stream: qKey('stream'),
        delayed: qKey('delayed'),
        job: (runId) => qKey(`job:${runId}`),
        jobPrefix: qKey('job:'),
        idempotency: (key) => qKey(`idem:${key}`),
        idempotencyFingerprint: (key) => qKey(`idemfp:${key}`),
        dead: qKey('dead'),
        deadIndex: qKey('dead-index'),
        waiting: (fn) => qKey(`waiting:${fn}`),
        waitingPrefix: qKey('waiting:'),
        waitingFunctions: qKey('waiting-fns'),
      };
    },
    limits: (workspace) => {
      if (workspace === '' || /[\s{}*?[\]:]/.test(workspace)) throw new RangeError(`bad workspace name: ${JSON.stringify(workspace)}`);
      const wsKey = (rest: string): string => `${base}:ws:{ws:${workspace}}:${rest}`;
      return { bucket: (fn) => wsKey(`rate:${fn}`), minutePrefix: wsKey('ipm:') };
    },
    trigger: (fn, triggerId) => {
      if (triggerId === '' || /[\s{}*?[\]:]/.test(triggerId)) throw new RangeError(`bad trigger id: ${JSON.stringify(triggerId)}`);
      return {
        tick: (tickMs) => fnKey(fn, `cron:${triggerId}:${tickMs}`),
        seen: (replayKey) => fnKey(fn, `hook:${triggerId}:seen:${replayKey}`),
        note: fnKey(fn, `cron:${triggerId}:note`),
      };
    },
    kubePool: (pool) => {
      if (pool === '' || /[\s{}*?[\]]/.test(pool)) throw new RangeError(`bad pool name: ${JSON.stringify(pool)}`);
      const kKey = (rest: string): string => `${base}:kube:{${pool}}:${rest}`;
      return { filler: kKey('filler'), host: (hostId) => kKey(`host:${hostId}`) };
    },
  };
}
