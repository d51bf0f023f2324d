/**
 * `usage <name> [--window 15m]`: invocations, errors, latency percentiles, cold starts and state.
 * Without a name: the function of the folder (cli/folder-scope.ts), else (or --all) one line per
 * function of the workspace, as the console's Functions list.
 */
import { choice, flag, positionals, type ParsedArgs } from '../args.js';
import { checkFunctionName } from '../function-name.js';
import type { ApiUsage } from '../client.js';
import { clientOf, type Command, type Context } from '../context.js';
import { EXIT, isCliError } from '../errors.js';
import { listedFunction, noteFolderScope, notDeployedError } from '../folder-scope.js';
import { formatAgo, formatMs, table } from '../output.js';

const WINDOWS = ['1m', '15m', '1h', '24h', '7d', '30d'];

const percent = (ratio: number): string => `${(ratio * 100).toFixed(1)} %`;
const ms = (value: number | null): string => (value === null ? '-' : formatMs(value));
const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** The text view of a usage answer. */
export function formatUsage(u: ApiUsage, now: number): string {
  // Fewer calls "all time" than in the window: the live totals began again with the process (the
  // embedded default keeps them in memory; a 7d/30d window comes from the stored history).
  const restarted = u.totals.invocations < u.invocations;
  return [
    `function      ${u.function} (last ${u.window})`,
    `state         ${u.state}, ${u.warmInstances} warm instance${u.warmInstances === 1 ? '' : 's'}`,
    // No calls: no rate to show (the table says "-"; "0.0 %" read as "no errors").
    `invocations   ${u.invocations}${u.invocations === 0 ? ' (no calls in the window)' : ` (errors ${u.errors}, ${percent(u.errorRate)})`}`,
    `latency       p50 ${ms(u.p50Ms)}  p95 ${ms(u.p95Ms)}  p99 ${ms(u.p99Ms)}`,
    `cold starts   ${u.coldStarts}${u.invocations === 0 ? '' : ` (${percent(u.coldStartRatio)})`}`,
    `all time      ${count(u.totals.invocations, 'invocation')}, ${count(u.totals.errors, 'error')}, ${count(u.totals.coldStarts, 'cold start')}${restarted ? ' (counted since the platform started: the embedded store keeps these in memory)' : ''}`,
    `last success  ${u.lastSuccess === null ? (restarted && u.invocations > u.errors ? '- (none since the platform started)' : '-') : `${formatAgo(u.lastSuccess.at, now)} (run ${u.lastSuccess.runId})`}`,
  ].join('\n');
}

/** The overview's rows: one per function, its usage over the window (`-` where it has none). */
export function formatUsageTable(all: readonly ApiUsage[]): string {
  return table(['NAME', 'STATE', 'CALLS', 'ERRORS', 'P50', 'P95', 'COLD'], all.map((u) => [
    u.function, u.state, String(u.invocations), u.invocations === 0 ? '-' : percent(u.errorRate), ms(u.p50Ms), ms(u.p95Ms), String(u.coldStarts),
  ]));
}

/** At most this many usage requests at once for the overview. */
const OVERVIEW_CONCURRENCY = 8;

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  const given = positionals(args, 1, 'usage')[0];
  if (given !== undefined) checkFunctionName(given);
  const listed = listedFunction(ctx, 'usage', given, flag(args, 'all'));
  const { name, fromFolder } = listed;
  const window = choice(args, 'window', WINDOWS, { near: false }) ?? '15m';
  const client = await clientOf(ctx, args);
  if (name === undefined) {
    const { items } = await client.listFunctions();
    const all: ApiUsage[] = new Array(items.length);
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(OVERVIEW_CONCURRENCY, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        all[i] = await client.usage(items[i]!.name, window);
      }
    }));
    ctx.out.data({ ok: true, window, items: all });
    ctx.out.line(items.length === 0 ? 'No functions in this workspace yet.' : `Last ${window}:\n${formatUsageTable(all)}`);
    return EXIT.OK;
  }
  const usage = await client.usage(name, window).catch((err: unknown) => {
    throw fromFolder && isCliError(err) && err.code === 'FUNCTION_NOT_FOUND' ? notDeployedError(name, 'usage') : err;
  });
  ctx.out.data({ ok: true, usage });
  ctx.out.line(formatUsage(usage, ctx.now()));
  noteFolderScope(ctx, 'usage', listed);
  return EXIT.OK;
}

export const usageCommand: Command = {
  name: 'usage',
  summary: 'show a function\'s invocations, error rate, p50/p95/p99, cold starts and warm state (--all, or no name outside a function\'s folder: every function, one line each)',
  usage: 'usage [name | --all] [--window 1m|15m|1h|24h|7d|30d]',
  examples: [
    'usage --all',
    'usage my-fn',
    'usage my-fn --window 24h',
  ],
  details: 'Without a name, in a function\'s folder (or below it): that function\'s usage; elsewhere, or with --all: one line per function of the workspace (calls, error rate, p50, p95, cold starts over the window). Windows up to 24h are live numbers from the platform\'s metrics (Redis in production mode, memory in the embedded default); 7d and 30d come from hourly rollups in the durable store (MongoDB, or SQLite embedded), written a few seconds after the calls. Latency percentiles are within ~19 %.',
  options: {
    all: { type: 'boolean', description: 'one line per function of the workspace, also in a function\'s folder' },
    window: { type: 'string', value: 'WINDOW', description: 'how far back: 1m, 15m (default), 1h, 24h, 7d or 30d' },
  },
  run,
};
