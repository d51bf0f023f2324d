/**
 * The `function` label of every Prometheus family (docs/gateway.md, "Metrics"): bounded, so a
 * platform with many functions cannot blow up a scrape. The first `max` distinct names are labels
 * of their own; every later one shares `_other` (function names are DNS labels, so no function is
 * called `_other`). One cap per metrics registry, shared by everything that registers in it (the
 * gateway's families and the control plane's), so a function has the same label everywhere.
 *
 * Shared fairly between workspaces (red team, December 2026: one workspace with many functions
 * took every label, and every other tenant's later functions went dark into `_other`, which only
 * the root token sees): the last fifth of the labels is kept for workspaces that hold fewer than a
 * tenth of them. One workspace alone can name 400 of 500 functions; after that, any other
 * workspace still gets labels for its first 50.
 */

import { workspaceOfKey } from './function-key.js';

export const OTHER_FUNCTION = '_other';
export const DEFAULT_MAX_FUNCTION_LABELS = 500;

export class FunctionLabels {
  private readonly known = new Set<string>();
  /** Labels held per workspace. */
  private readonly held = new Map<string, number>();
  /** Labels only a workspace holding fewer than `small` may take. */
  private readonly reserved: number;
  private readonly small: number;

  constructor(readonly max: number = DEFAULT_MAX_FUNCTION_LABELS) {
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`max must be an integer ≥ 0, got ${max}`);
    this.reserved = Math.floor(max / 5);
    this.small = Math.max(1, Math.floor(max / 10));
  }

  /** What removes a function's series, one per family owner (the gateway's metrics). */
  private readonly forgetters = new Set<(label: string) => void>();

  /** Registers `forget`, called with a deleted function's label (below). */
  onForget(forget: (label: string) => void): void {
    this.forgetters.add(forget);
  }

  /**
   * A function was deleted: every series labelled with its name goes from the registry, so a
   * function created again under the key starts from zero instead of continuing the deleted one's
   * counters (red team 6), and its label is free again. Kept, every name a platform ever served
   * held its label until a restart: a team deploying a function per branch and deleting it after
   * the merge had used its workspace's 400 after 400 branches, and every function it created from
   * then on was `_other`, dark for its workspace token and its alerts (soak1). A name sharing
   * `_other` has no series of its own to remove.
   */
  forget(name: string): void {
    if (!this.known.has(name)) return;
    for (const forget of this.forgetters) forget(name);
    this.known.delete(name);
    const workspace = workspaceOfKey(name);
    const held = (this.held.get(workspace) ?? 1) - 1;
    if (held > 0) this.held.set(workspace, held);
    else this.held.delete(workspace);
  }

  /** Whether a function key names a function that exists now (null: every name may take a label). */
  private exists: ((name: string) => boolean) | null = null;

  /**
   * From now on only a function that `exists` may take a label (red team round 26). A deleted one's
   * async runs still queued were dead-lettered after its delete (`function_deleted`), its running
   * ones ended, a scrape read its draining instances: each asked for its label again, so the name
   * held one for ever (ADR 0153's give-back undone: 400 such deletes and the workspace's functions
   * are `_other` again) and its new series outlived it: a function created later under the key
   * showed the deleted one's dead letters and attempts as its own. Those go to `_other` now.
   */
  onlyExisting(exists: (name: string) => boolean): void {
    this.exists = exists;
  }

  /** Names holding a label of their own now (stats and tests). */
  get size(): number {
    return this.known.size;
  }

  /** The label of `name`: itself while there is room for its workspace (above), else `_other`. */
  of(name: string): string {
    if (this.known.has(name)) return name;
    if (this.known.size >= this.max || (this.exists !== null && !this.exists(name))) return OTHER_FUNCTION;
    const workspace = workspaceOfKey(name);
    const held = this.held.get(workspace) ?? 0;
    if (this.known.size >= this.max - this.reserved && held >= this.small) return OTHER_FUNCTION;
    this.known.add(name);
    this.held.set(workspace, held + 1);
    return name;
  }
}

const byRegistry = new WeakMap<object, FunctionLabels>();
/** The `onlyExisting` check of a registry whose cap is not made yet (the gateway makes it, with its `max`). */
const existsByRegistry = new WeakMap<object, (name: string) => boolean>();

/**
 * The label cap of `registry` gives labels only to functions that `exists` says are there
 * (FunctionLabels.onlyExisting), whether the cap is made already or later.
 */
export function labelOnlyExisting(registry: object, exists: (name: string) => boolean): void {
  existsByRegistry.set(registry, exists);
  byRegistry.get(registry)?.onlyExisting(exists);
}

/**
 * The label cap of one metrics registry (any object: a prom-client Registry), created with `max`
 * by its first caller. Keyed weakly: the cap goes when the registry does.
 */
export function functionLabelsOf(registry: object, max: number = DEFAULT_MAX_FUNCTION_LABELS): FunctionLabels {
  let labels = byRegistry.get(registry);
  if (labels === undefined) {
    labels = new FunctionLabels(max);
    const exists = existsByRegistry.get(registry);
    if (exists !== undefined) labels.onlyExisting(exists);
    byRegistry.set(registry, labels);
  }
  return labels;
}

/**
 * What one `/metrics` scrape may see (docs/adr/0036-metrics-scope.md): `all` (the root token, or
 * directory mode: one owner, no tokens), `platform` (no token: only the series without a
 * `function` label) or `workspace` (a workspace token: those plus the series of that workspace's
 * own functions; never `_other`, which mixes workspaces).
 */
export type MetricsView =
  | { readonly kind: 'all' }
  | { readonly kind: 'platform' }
  | {
      readonly kind: 'workspace';
      readonly workspace: string;
      /**
       * Whether a function key names a function that exists now (absent: every key of the
       * workspace). Series outlive their function in the process; a deleted function's, maybe
       * another tenant's under a recycled workspace name, are not the workspace's (red team 5).
       */
      readonly exists?: (functionKey: string) => boolean;
      /**
       * False: not the platform's own series either (FP_METRICS_PLATFORM_SERIES=root: the platform's
       * load, summed over every tenant, is the operator's; docs/adr/0139-who-sees-the-platform-series.md).
       */
      readonly platform?: false;
    };

/**
 * Who sees the platform's own series, those without a `function` label (FP_METRICS_PLATFORM_SERIES;
 * docs/adr/0139-who-sees-the-platform-series.md): `anyone` (without a token too), or `root` (the root token only).
 */
export const METRICS_PLATFORM_SERIES = ['anyone', 'root'] as const;
export type MetricsPlatformSeries = (typeof METRICS_PLATFORM_SERIES)[number];

export const ALL_METRICS: MetricsView = Object.freeze({ kind: 'all' });
export const PLATFORM_METRICS: MetricsView = Object.freeze({ kind: 'platform' });
