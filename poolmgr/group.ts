/**
 * Everything the pool holds for one function version (`name@version`): its live instances, its
 * wait queue, and the limits read from the FunctionVersion with their defaults applied.
 */
import { secretMask, workspaceOfKey, type FunctionSpec, type SecretMask } from '../protocol/index.js';
import type { Call } from './call.js';
import type { Instance } from './instance.js';
import type { Placement } from './host/types.js';
import type { FunctionTemplate } from './template.js';
import type { FunctionStats, FunctionVersion, InvocationError } from './types.js';
import type { Preset } from './preset.js';
import { TimedWaitQueue } from './wait-queue.js';

export const FUNCTION_DEFAULTS = Object.freeze({ concurrency: 1, maxInstances: 10, minWarm: 0, maxQueue: 100 });

const MAX_TIMER_MS = 2_147_483_647;

export interface Limits {
  concurrency: number;
  maxInstances: number;
  minWarm: number;
  maxQueue: number;
  /** 0 = no timeout. */
  timeoutMs: number;
}

export class FunctionGroup {
  /** Instances that take calls: specializing or ready. Drained and discarded ones are not here. */
  readonly instances: Instance[] = [];
  readonly queue = new TimedWaitQueue<Call>();
  fn!: FunctionVersion;
  spec!: FunctionSpec;
  limits!: Limits;
  /** The version's secret values masked in its log lines and errors (protocol/secret-mask.ts); null: none. */
  mask: SecretMask | null = null;
  /** Set by drain(): minWarm no longer applies, so the version scales to zero. */
  retired = false;
  /** The runtime preset its instances start on (poolmgr/preset.ts), decided at its first instance. */
  preset: Preset | null = null;
  /** The version's template, forking its scale-out instances (docs/adr/0030-function-templates.md); null: none. */
  template: FunctionTemplate | null = null;
  /** A template of this version failed or refused (threads at import): it gets no other. */
  templateRefused = false;
  /** The version callers get (PoolManager.keepWarm): the reaper starts its minWarm instances again when one ended. */
  keptWarm = false;
  /** An instance started for minWarm did not load: no other is started ahead until the next keepWarm (a deploy, a settings change). */
  warmRefused = false;
  /**
   * The reaper's replacements of ended minWarm instances back off (pool.ts reap): the wait before the
   * next one, when it may start, and since when the version has held its minWarm (a minute of it
   * ends the backoff). An instance that loads and then ends was started again every second, for good.
   */
  warmBackoffMs = 0;
  warmRetryAt = 0;
  warmFullSince: number | null = null;
  /** Pumps the queue when the start budget after crashes holds a start again (pool.ts pumpAfter, ADR 0158). */
  budgetTimer: NodeJS.Timeout | undefined = undefined;
  /** Calls waiting for the slot of an instance that only finishes (pool.ts, awaitFinishing), at most as many as those slots. */
  finishWaiters = 0;
  /** Set when the pool forgot this group; a cached reference must be looked up again. */
  removed = false;
  /** The workspace of the function's key (its instances count against the workspace's cap). */
  readonly workspace: string;
  /**
   * Why a call that cannot get a slot is refused when the workspace's instance cap (not this
   * version's maxInstances) holds it back: QUOTA_EXCEEDED; null otherwise (FUNCTION_BUSY). Set by the pool.
   */
  quotaRefusal: () => InvocationError | null = () => null;
  /** The calls in hand of its workspace (one object per workspace, shared by its groups; set by the pool). */
  workspaceCalls: { n: number } = { n: 0 };
  /** Told when one of its calls ends (the pool counts the calls in hand). Set by the pool. */
  callEnded: () => void = () => {};

  constructor(readonly key: string, fn: FunctionVersion) {
    this.workspace = workspaceOfKey(fn.name);
    this.update(fn);
  }

  /** Takes the limits from a (possibly newer) FunctionVersion object of the same version. */
  update(fn: FunctionVersion): void {
    this.mask = secretMask(fn.secrets);
    this.fn = fn;
    this.limits = limitsOf(fn);
    this.spec = {
      name: fn.name, version: fn.version, dir: fn.dir, entrypoint: fn.entrypoint, env: fn.env ?? {},
      ...(fn.depsDir !== undefined ? { depsDir: fn.depsDir } : {}),
      ...(fn.dataDir !== undefined ? { dataDir: fn.dataDir } : {}),
      ...(fn.event === 'lambda' ? { event: fn.event } : {}),
      memoryBytes: fn.memoryBytes > 0 ? fn.memoryBytes : 0,
      timeoutMs: this.limits.timeoutMs,
      concurrency: this.limits.concurrency,
    };
  }

  /** What the host is told when a runtime takes this version on. */
  placement(): Placement {
    const spec = this.spec;
    return {
      name: spec.name, version: spec.version, dir: spec.dir, memoryBytes: spec.memoryBytes, maxInstances: this.limits.maxInstances,
      ...(spec.depsDir !== undefined ? { depsDir: spec.depsDir } : {}), ...(spec.dataDir !== undefined ? { dataDir: spec.dataDir } : {}),
    };
  }

  stats(): FunctionStats {
    let specializing = 0;
    let warm = 0;
    let busy = 0;
    for (const inst of this.instances) {
      if (inst.state === 'starting') specializing++;
      else if (inst.state === 'ready') {
        warm++;
        if (inst.inflight > 0) busy++;
      }
    }
    const template = this.template === null ? null : this.template.usable ? 'ready' : 'starting';
    return { name: this.fn.name, version: this.fn.version, specializing, warm, busy, queued: this.queue.length, template };
  }
}

export function keyOf(fn: Pick<FunctionVersion, 'name' | 'version'>): string {
  return `${fn.name}@${fn.version}`;
}

function limitsOf(fn: FunctionVersion): Limits {
  return {
    concurrency: positive(fn.concurrency, FUNCTION_DEFAULTS.concurrency),
    maxInstances: positive(fn.maxInstances, FUNCTION_DEFAULTS.maxInstances),
    minWarm: atLeastZero(fn.minWarm, FUNCTION_DEFAULTS.minWarm),
    maxQueue: atLeastZero(fn.maxQueue, FUNCTION_DEFAULTS.maxQueue),
    // setTimeout cannot wait longer than 2^31-1 ms (it would fire at once).
    timeoutMs: Math.min(atLeastZero(fn.timeoutMs, 0), MAX_TIMER_MS),
  };
}

function positive(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && value >= 1 ? Math.floor(value) : fallback;
}

function atLeastZero(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && value >= 0 ? Math.floor(value) : fallback;
}
