/**
 * Who sees what at the gateway's `/metrics` (docs/adr/0036-metrics-scope.md): the token check of
 * the API (./auth.ts), answered as a view. No Authorization header: the platform's own series
 * only (health scraping keeps working without a token). The root token: everything. A workspace
 * token, whatever its role (a viewer may read its workspace): the platform's series and its own
 * workspace's functions. Any Authorization header that does not carry a usable token is refused
 * with the API's code (401 ADMIN_TOKEN_REQUIRED / ADMIN_TOKEN_INVALID / TOKEN_EXPIRED, 403
 * ADMIN_TOKEN_FORBIDDEN for an invoke token), never answered as if no token had been sent.
 *
 * `platformSeries` (FP_METRICS_PLATFORM_SERIES, docs/adr/0139-who-sees-the-platform-series.md):
 * `anyone` as above; `root`: the platform's own series (its load, summed over every tenant) to the
 * root token only: a scrape without a token is ADMIN_TOKEN_REQUIRED, a workspace token sees its
 * own functions' series alone.
 */
import { PlatformError, PLATFORM_METRICS, ALL_METRICS, type MetricsPlatformSeries, type MetricsView, type Pairs } from '../../protocol/index.js';
import { toPlatformError } from '../errors.js';
import type { TokenIndex } from '../service/tokens.js';
import type { WorkspaceRegistry } from '../tenancy/workspace-registry.js';
import { authenticate } from './auth.js';

/** The view of a scrape with these headers, or the error to answer it with. */
export function metricsView(tokens: TokenIndex, workspaces: WorkspaceRegistry, headers: Pairs, now: number = Date.now(), exists?: (functionKey: string) => boolean,
  platformSeries: MetricsPlatformSeries = 'anyone'): MetricsView | PlatformError {
  if (!headers.some(([key]) => key === 'authorization')) {
    return platformSeries === 'anyone' ? PLATFORM_METRICS
      : new PlatformError('ADMIN_TOKEN_REQUIRED', 'this platform serves /metrics only with a token (FP_METRICS_PLATFORM_SERIES=root): send Authorization: Bearer <token>');
  }
  try {
    const principal = authenticate(tokens, headers, now);
    if (principal.workspace === null) return ALL_METRICS;
    // A deleted workspace's tokens go with it; this only closes the moment in between (as resolveScope does).
    if (!workspaces.has(principal.workspace)) return new PlatformError('WORKSPACE_NOT_FOUND', `no workspace ${JSON.stringify(principal.workspace)}`);
    // Only functions that exist now: a deleted one's series stay in the process (red team 5).
    return { kind: 'workspace', workspace: principal.workspace, ...(exists !== undefined ? { exists } : {}), ...(platformSeries === 'root' ? { platform: false as const } : {}) };
  } catch (err) {
    return toPlatformError(err);
  }
}
