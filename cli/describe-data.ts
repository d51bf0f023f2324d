/** The `data:` line of the `up` and `dev` banners. */
import { join } from 'node:path';
import { PRODUCTION_NEEDS_DATA_URL, type StartedPlatform } from '../platform/index.js';

/**
 * What serves `context.db` (docs/data-binding.md): the banner said nothing, so whether a
 * `data: mongo:` function would work was found out only at its deploy (DATA_BACKEND_NOT_CONFIGURED).
 */
export function describeData(started: Pick<StartedPlatform, 'data' | 'stateDir'> & { config: Pick<StartedPlatform['config'], 'data'> & Partial<Pick<StartedPlatform['config'], 'store'>> }): string {
  // Turned off is not "not found" (with FerretDB installed, the banner said it was missing: reliability round).
  if (started.data === null && started.config.data === 'off') return 'off (FP_DATA=off); deploying a function with data.mongo is refused (DATA_BACKEND_NOT_CONFIGURED)';
  if (started.data === null && started.config.store === 'production') return `none: ${PRODUCTION_NEEDS_DATA_URL}; deploying a function with data.mongo is refused (DATA_BACKEND_NOT_CONFIGURED)`;
  if (started.data === null) return 'none: no FerretDB found and no FP_DATA_MONGO_URL (bash scripts/services.sh installs FerretDB); deploying a function with data.mongo is refused (DATA_BACKEND_NOT_CONFIGURED)';
  if (started.data.backend === 'external') return 'FP_DATA_MONGO_URL, for context.db (platform.yaml data.mongo; docs/data-binding.md)';
  return `FerretDB, started here (${join(started.stateDir, 'data', 'ferretdb')}), for context.db (platform.yaml data.mongo; docs/data-binding.md)`;
}
