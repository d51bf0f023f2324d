/** /functions/:name/usage (docs/api.md, "Usage"): live counters from HotMetrics, the same in every mode. */
import { PlatformError } from '../../protocol/index.js';
import { getFunction } from '../service/functions.js';
import { isStoreError, type FunctionUsage } from '../store/index.js';
import { json, type ApiResponse } from './http.js';
import { readQuery, type Call } from './router.js';
import { usageQuery } from './schemas.js';
import { nameParam } from './validate.js';

export async function usage(call: Call): Promise<ApiResponse> {
  const name = nameParam(call.params[0]!);
  const { window } = readQuery(call, usageQuery);
  await getFunction(call.ctx, name);
  let answer: FunctionUsage;
  try {
    // This process's own warm count first, so a fresh start is not shown as cold.
    await call.ctx.warm.report();
    answer = await call.ctx.metrics.usage(name, window);
  } catch (err) {
    if (isStoreError(err) && err.code === 'STORE_CLOSED') throw err;
    throw new PlatformError('METRICS_UNAVAILABLE', `live metrics could not be read: ${(err as Error).message}`);
  }
  return json(200, answer);
}
