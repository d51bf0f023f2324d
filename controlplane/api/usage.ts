/**
 * /functions/{name}/usage (docs/api.md, "Usage"), the same in every mode: windows up to 24h from
 * HotMetrics (Redis or memory); 7d and 30d from the durable store's hourly rollups (MongoDB or
 * SQLite), with the live fields (state, warm instances, totals, last success) from HotMetrics.
 */
import { nameOfKey, PlatformError, workspaceOfKey } from '../../protocol/index.js';
import { getFunction } from '../service/functions.js';
import type { ServiceContext } from '../service/context.js';
import { isHistoryWindow, isStoreError, shownState, type FunctionUsage, type HistoryWindow } from '../store/index.js';
import { buildUsage } from '../store/metrics/usage.js';
import { usageAnswer } from './answers.js';
import { json } from './http.js';
import { operation } from './router.js';
import { usageQuery } from './schemas.js';
import { functionParam } from './validate.js';

async function historyUsage(ctx: ServiceContext, name: string, window: HistoryWindow): Promise<FunctionUsage> {
  const history = ctx.store.usageHistory;
  if (history === undefined) throw new PlatformError('METRICS_UNAVAILABLE', `this store keeps no usage history; use a window up to 24h`);
  const live = await ctx.metrics.usage(name, '1m');
  let rolled: Awaited<ReturnType<typeof history.usage>>;
  try {
    rolled = await history.usage(name, window);
  } catch (err) {
    if (isStoreError(err)) throw err;
    ctx.log(`controlplane: usage history of ${name} could not be read: ${detail(err)}`);
    throw new PlatformError('METRICS_UNAVAILABLE', 'the usage history could not be read; try again shortly');
  }
  return buildUsage({ ...rolled, function: name, window, totals: live.totals, warmInstances: live.warmInstances, paused: live.state === 'paused', lastSuccess: live.lastSuccess });
}

export const usage = operation(
  {
    id: 'usage', tag: 'usage', role: 'viewer', summary: "A function's invocations, errors, cold starts and latency over a window",
    query: usageQuery,
    answers: { 200: { description: 'The numbers of the window', schema: usageAnswer } },
    errors: ['METRICS_UNAVAILABLE'],
  },
  async (call, input) => {
    const { key: name } = functionParam(call.params[0]!, call.scope);
    const { window } = input.query();
    const fn = await getFunction(call.ctx, name);
    let answer: FunctionUsage;
    try {
      // This process's own warm count first, so a fresh start is not shown as cold.
      await call.ctx.warm.report();
      answer = isHistoryWindow(window) ? await historyUsage(call.ctx, name, window) : await call.ctx.metrics.usage(name, window);
    } catch (err) {
      if (err instanceof PlatformError) throw err;
      if (isStoreError(err) && err.code === 'STORE_CLOSED') throw err;
      // The answer says what failed in plain words; the driver's own message is for the operator only.
      call.ctx.log(`controlplane: live metrics of ${name} could not be read: ${detail(err)}`);
      throw new PlatformError('METRICS_UNAVAILABLE', 'the live metrics (Redis) could not be read; try again shortly');
    }
    if (answer.lastSuccess === null) answer = { ...answer, lastSuccess: await lastSuccessOfRuns(call.ctx, name) };
    return json(200, { ...answer, state: shownState(answer.state, fn.activeVersion), function: nameOfKey(answer.function), workspace: workspaceOfKey(answer.function) });
  },
);

/**
 * The newest succeeded run in the run store, when the live metrics know none: the embedded
 * platform keeps them in memory, and after a restart the console's list said "Last success:
 * never" (and `usage` "-") for functions with successful runs minutes old. One indexed query, only
 * until this process records a success of its own; null if the store cannot answer.
 */
async function lastSuccessOfRuns(ctx: ServiceContext, name: string): Promise<{ runId: string; at: number } | null> {
  try {
    const page = await ctx.store.runs.list({ function: name, status: 'succeeded', limit: 1 });
    const run = page.items[0];
    return run === undefined ? null : { runId: run.runId, at: run.startedAt };
  } catch (err) {
    ctx.log(`controlplane: the last successful run of ${name} could not be read: ${detail(err)}`);
    return null;
  }
}

function detail(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
