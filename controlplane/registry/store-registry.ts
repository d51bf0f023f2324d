/**
 * The gateway's view of the control plane's functions: which exist, which version each serves,
 * whether it is paused and whether it needs an invoke token. An in-memory map rebuilt from the
 * store at start and changed by the control plane right after each store change, in the same
 * turn, so the gateway serves a deploy as soon as the API answers it — and never calls the store
 * on the hot path. Entries only move forward: an update older (by revision) than what is held is
 * ignored, so two changes finishing out of order cannot leave the older one in place.
 *
 * It implements the gateway's `FunctionRegistry` port; the control plane imports only the port's
 * types (erased at build), never the gateway's code.
 *
 * The env a runtime is specialized with is the function's `env` with its `secrets` over it (a
 * secret wins on a clash): the only place the two meet. Records are held without their webhook
 * secrets (the hooks route reads those from the store per request, docs/secrets.md).
 */
import { dataSchema, errorDetailOf, eventFormatOf, formatRate, PlatformError, roleAllows, workspaceOfKey, type CallLimit, type DataBindingSpec, type ErrorDetail, type FunctionRegistry, type InvokeAuth, type Resolution, type TokenVerdict } from '../../protocol/index.js';
import type { FunctionVersion } from '../../poolmgr/index.js';
import type { AdmissionLimiter, Bucket, LimitVerdict } from '../limits/index.js';
import type { FunctionRecord } from '../store/index.js';
import type { TokenIndex } from '../service/tokens.js';
import type { WorkspaceRegistry } from '../tenancy/workspace-registry.js';

/** What admission limits are checked with (docs/adr/0011-tenants.md): the limiter and the workspaces' quotas. */
export interface AdmissionLimits {
  limiter: AdmissionLimiter;
  workspaces: WorkspaceRegistry;
}

const NOT_FOUND: Resolution = Object.freeze({ found: false });

interface Entry {
  record: FunctionRecord;
  /** The entrypoint of the active version; null when none is deployed. */
  entrypoint: string | null;
  fn: FunctionVersion | null;
  resolution: Resolution;
  /** The active version's `data.mongo` (null: none). */
  binding: DataBindingSpec | null;
}

/** What the registry needs of the data bindings (controlplane/data/service.ts). */
export interface RegistryData {
  runtimeBinding(functionKey: string, spec: DataBindingSpec): { env: Record<string, string>; dataDir: string };
  remove(functionKey: string): Promise<void>;
}

/** A version's `data.mongo` from its stored manifest (null: none, or no manifest). */
export function bindingOfManifest(manifest: unknown): DataBindingSpec | null {
  const data = typeof manifest === 'object' && manifest !== null ? (manifest as { data?: unknown }).data : undefined;
  if (data === undefined) return null;
  const parsed = dataSchema.safeParse(data);
  return parsed.success ? parsed.data.mongo ?? null : null;
}

/** What the registry takes from the active version's manifest: its `errors` and its `data.mongo`. */
export interface VersionTraits {
  errors: ErrorDetail;
  binding: DataBindingSpec | null;
  /** The handler's event: API Gateway's (`lambda`) or the platform's. */
  event?: 'platform' | 'lambda';
}

/** The traits of a stored manifest (any JSON; none: the defaults). */
export function versionTraits(manifest: unknown): VersionTraits {
  return { errors: errorDetailOf(manifest), binding: bindingOfManifest(manifest), event: eventFormatOf(manifest) };
}

export class StoreRegistry implements FunctionRegistry {
  private readonly entries = new Map<string, Entry>();
  /** The keys of the paused functions (the dispatcher passes over their queued runs). */
  private readonly pausedKeys = new Set<string>();

  /** `codeDir(name, version)`: where the version's files are materialized. */
  constructor(
    private readonly tokens: TokenIndex,
    private readonly codeDir: (name: string, version: number) => string,
    /** `depsDir(name, version)`: the version's dependency site, or null (docs/dependencies.md). */
    private readonly depsDir: (name: string, version: number) => string | null = () => null,
    private readonly limits: AdmissionLimits | null = null,
    /** The data bindings (docs/data-binding.md); absent: the platform has no database server. */
    private readonly data: RegistryData | null = null,
  ) {}

  resolve(name: string): Resolution {
    return this.entries.get(name)?.resolution ?? NOT_FOUND;
  }

  /** Set by the control plane when other processes share the store (controlplane/service/catch-up.ts). */
  catchUp: ((name: string) => Promise<void> | null) | undefined = undefined;

  list(): FunctionVersion[] {
    const out: FunctionVersion[] = [];
    for (const entry of this.entries.values()) if (entry.fn !== null) out.push(entry.fn);
    return out;
  }

  /** The entrypoint of the function's active version (null: none deployed, or unknown function). */
  entrypointOf(name: string): string | null {
    return this.entries.get(name)?.entrypoint ?? null;
  }

  /** The version the pool runs for `name` now (null: none), as the pool names it. */
  poolVersion(name: string): string | null {
    return this.entries.get(name)?.fn?.version ?? null;
  }

  /**
   * Takes a function's new state. `entrypoint` is that of `record.activeVersion` (null if none).
   * Returns false when the record is older than the one held (nothing changes then).
   */
  set(record: FunctionRecord, entrypoint: string | null, traits?: VersionTraits): boolean {
    const held = this.entries.get(record.name);
    if (held !== undefined && held.record.revision > record.revision) return false;
    // The active version's traits (its manifest); absent: the version did not change, keep what is held.
    const detail = traits?.errors ?? held?.fn?.errors ?? 'generic';
    const binding = traits !== undefined ? traits.binding : held?.binding ?? null;
    const event = traits !== undefined ? traits.event ?? 'platform' : held?.fn?.event ?? 'platform';
    if (held?.binding != null && binding === null) void this.data?.remove(record.name);
    const fn = record.activeVersion === null || entrypoint === null ? null : this.functionVersion(record, record.activeVersion, entrypoint, detail, binding, event);
    const auth = record.auth === 'token' ? this.invokeAuth(record.name) : null;
    const limit = this.limits === null ? null : callLimit(this.limits, record);
    const resolution: Resolution = Object.freeze({ found: true, fn, paused: record.status === 'paused', auth, limit, invocation: record.invocation });
    const { hookSecrets: _dropped, ...kept } = record;
    this.entries.set(record.name, { record: kept, entrypoint, fn, resolution, binding });
    if (record.status === 'paused') this.pausedKeys.add(record.name);
    else this.pausedKeys.delete(record.name);
    return true;
  }

  /** The functions paused now, by key. */
  paused(): ReadonlySet<string> {
    return this.pausedKeys;
  }

  /** The record held for `name` (null: unknown). */
  recordOf(name: string): FunctionRecord | null {
    return this.entries.get(name)?.record ?? null;
  }

  /** Every function held (deployed or not). */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The active version's data binding (null: none). */
  bindingOf(name: string): DataBindingSpec | null {
    return this.entries.get(name)?.binding ?? null;
  }

  remove(name: string): void {
    if (this.entries.get(name)?.binding != null) void this.data?.remove(name);
    this.entries.delete(name);
    this.pausedKeys.delete(name);
  }

  /**
   * What `version` of `record` would run as, for the start check before it is deployed
   * (docs/adr/0084-deploy-start-check.md). The active version's binding is reused as it is; a
   * binding the function has none of yet is made for the check, and `undo` takes it away again if
   * the version is not deployed after all. A version that binds another database than the active
   * one is not checked (`skip` says why): making its binding would revoke the serving version's
   * credential.
   */
  candidate(record: FunctionRecord, version: number, entrypoint: string, traits: VersionTraits): { fn: FunctionVersion; undo?: () => void } | { skip: string } {
    const base = this.functionVersion(record, version, entrypoint, traits.errors, null, traits.event);
    if (traits.binding === null || this.data === null) return { fn: base };
    const held = this.entries.get(record.name);
    if (held?.binding == null) {
      const data = this.data;
      return { fn: this.functionVersion(record, version, entrypoint, traits.errors, traits.binding, traits.event), undo: () => void data.remove(record.name) };
    }
    const same = held.binding.database === traits.binding.database && held.fn?.dataDir !== undefined;
    if (!same) return { skip: 'it binds another database than the serving version, whose credential the new binding would end' };
    const env = held.fn!.env;
    const bound: Record<string, string> = {};
    for (const key of ['FP_MONGO_URI', 'FP_MONGO_DATABASE']) if (env[key] !== undefined) bound[key] = env[key];
    return { fn: Object.freeze({ ...base, env: Object.freeze({ ...base.env, ...bound }), dataDir: held.fn!.dataDir! }) };
  }

  private functionVersion(record: FunctionRecord, version: number, entrypoint: string, errors: ErrorDetail, binding: DataBindingSpec | null, event: 'platform' | 'lambda' = 'platform'): FunctionVersion {
    const { limits } = record;
    const depsDir = this.depsDir(record.name, version);
    // Without a database server a bound version still loads; its context.db raises (FP_MONGO_URI
    // unset), saying which database platform.yaml binds and that the platform has no server for it
    // (FP_MONGO_UNCONFIGURED): it said "add data: … to platform.yaml", which the file already had.
    const data = binding !== null && this.data !== null
      ? this.data.runtimeBinding(record.name, binding)
      : binding !== null ? { env: { FP_MONGO_UNCONFIGURED: binding.database } } : null;
    return Object.freeze({
      name: record.name,
      // The pool keys instances by name@version; the run record shows the same string.
      version: String(version),
      dir: this.codeDir(record.name, version),
      entrypoint,
      // The binding's URI last: a function's own env or secret cannot replace it.
      env: Object.freeze({ ...runtimeEnv(record), ...data?.env }),
      memoryBytes: limits.memoryBytes,
      timeoutMs: limits.timeoutMs,
      concurrency: limits.concurrency,
      maxInstances: limits.maxInstances,
      minWarm: limits.minWarm,
      maxQueue: limits.maxQueue,
      errors,
      incarnation: record.createdAt,
      // Masked in its logs and errors (protocol/secret-mask.ts): a viewer reads those, not its secrets.
      ...(record.secrets !== undefined && Object.keys(record.secrets).length > 0 ? { secrets: Object.freeze({ ...record.secrets }) } : {}),
      ...(event === 'lambda' ? { event } : {}),
      ...(depsDir !== null ? { depsDir } : {}),
      ...(data !== null && 'dataDir' in data ? { dataDir: data.dataDir } : {}),
    });
  }

  /**
   * Checks a bearer secret against the live tokens (docs/adr/0011-tenants.md): this function's
   * invoke token, the root token, or a workspace token of the function's workspace with the role
   * invoker or above. A workspace token of another workspace, and another function's invoke
   * token, are told the function does not exist.
   */
  private invokeAuth(name: string): InvokeAuth {
    const tokens = this.tokens;
    const workspace = workspaceOfKey(name);
    return {
      check(secret: string): TokenVerdict {
        const entry = tokens.lookup(secret);
        if (entry === undefined) return 'invalid';
        // Another function's invoke token is told what a missing function's caller is (red team 10):
        // before, 403 against 404 told it which names exist.
        if (entry.kind === 'admin') return 'ok';
        if (entry.scope !== (entry.kind === 'invoke' ? name : workspace)) return 'elsewhere';
        // An invoke token issued by an expiring token ends with it (ADR 0074).
        if (tokens.expired(entry)) return 'expired';
        if (entry.kind === 'invoke') return 'ok';
        return entry.role !== null && roleAllows(entry.role, 'invoker') ? 'ok' : 'role';
      },
    };
  }
}

/**
 * A function's admission limits: its bucket (`limits.rate`) and its workspace's calls per minute,
 * read live (a quota change applies to the next call). With neither, `admit` answers null at once.
 */
function callLimit({ limiter, workspaces }: AdmissionLimits, record: FunctionRecord): CallLimit {
  const key = record.name;
  const workspace = workspaceOfKey(key);
  const { rate, burst } = record.limits;
  const bucket: Bucket | null = rate === undefined ? null : { fn: key, requests: rate.requests, periodMs: rate.periodMs, burst: burst ?? rate.requests };
  const refusal = (verdict: LimitVerdict, perMinute: number | null): PlatformError | null => {
    if (verdict.ok) return null;
    const retryAfterS = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
    if (verdict.reason === 'rate') {
      return new PlatformError('RATE_LIMITED', `function "${key}" allows ${formatRate(rate!)} (burst ${bucket!.burst}); retry in ${retryAfterS} s`, {
        function: key, limit: formatRate(rate!), burst: bucket!.burst, retryAfterS,
      });
    }
    return new PlatformError('QUOTA_EXCEEDED', `workspace "${workspace}" is at its invocationsPerMinute quota (${perMinute}); retry in ${retryAfterS} s`, {
      function: key, quota: 'invocationsPerMinute', workspace, limit: perMinute, used: verdict.used, retryAfterS,
    });
  };
  return {
    admit() {
      const perMinute = workspaces.quotas(workspace).invocationsPerMinute;
      if (bucket === null && perMinute === null) return null;
      const verdict = limiter.admit(workspace, bucket, perMinute);
      return verdict instanceof Promise ? verdict.then((v) => refusal(v, perMinute)) : refusal(verdict, perMinute);
    },
  };
}

/** What the runtime's `os.environ` gets from the function: `env`, then `secrets` over it. */
export function runtimeEnv(record: Pick<FunctionRecord, 'env' | 'secrets'>): Record<string, string> {
  return { ...record.env, ...record.secrets };
}
