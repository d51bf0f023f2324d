/**
 * The `function` label of every Prometheus family (docs/gateway.md, "Metrics"): bounded, so a
 * platform with many functions cannot blow up a scrape. The first `max` distinct names are labels
 * of their own; every later one shares `_other` (function names are DNS labels, so no function is
 * called `_other`). One cap per metrics registry, shared by everything that registers in it (the
 * gateway's families and the control plane's), so a function has the same label everywhere.
 */

export const OTHER_FUNCTION = '_other';
export const DEFAULT_MAX_FUNCTION_LABELS = 500;

export class FunctionLabels {
  private readonly known = new Set<string>();

  constructor(readonly max: number = DEFAULT_MAX_FUNCTION_LABELS) {
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`max must be an integer ≥ 0, got ${max}`);
  }

  /** The label of `name`: itself while fewer than `max` names were seen, else `_other`. */
  of(name: string): string {
    if (this.known.has(name)) return name;
    if (this.known.size >= this.max) return OTHER_FUNCTION;
    this.known.add(name);
    return name;
  }
}

const byRegistry = new WeakMap<object, FunctionLabels>();

/**
 * The label cap of one metrics registry (any object: a prom-client Registry), created with `max`
 * by its first caller. Keyed weakly: the cap goes when the registry does.
 */
export function functionLabelsOf(registry: object, max: number = DEFAULT_MAX_FUNCTION_LABELS): FunctionLabels {
  let labels = byRegistry.get(registry);
  if (labels === undefined) {
    labels = new FunctionLabels(max);
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
  | { readonly kind: 'workspace'; readonly workspace: string };

export const ALL_METRICS: MetricsView = Object.freeze({ kind: 'all' });
export const PLATFORM_METRICS: MetricsView = Object.freeze({ kind: 'platform' });
