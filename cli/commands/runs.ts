/**
 * `runs [name]` lists recent runs; `runs <runId>` / `runs show <runId>` shows one in detail (an
 * async run with its state timeline and attempts); `runs cancel|replay <runId>` act on async runs.
 */
import { selfCommandOf } from '../self-command.js';
import { parseWhen } from '../when.js';
import { choice, flag, int, positionals, str, type ParsedArgs } from '../args.js';
import { isAsyncRun, type ApiAsyncRun, type ApiAsyncRunSummary, type ApiClient, type ApiRun, type ApiRunSummary } from '../client.js';
import { clientOf, type Command, type Context } from '../context.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { formatAgo, formatMs, indent, table } from '../output.js';
import { messageLines, terminalSafe } from '../terminal.js';
import { errorHint } from '../start-check.js';
import { listedFunction, noteFolderScope, notDeployedError } from '../folder-scope.js';
import { waitForRun } from './invoke.js';
import { ASYNC_RUN_STATES, asyncStateLost, callFailed, FUNCTION_NAME, omittedResultNote, RUN_STATUSES, RUN_TRIGGERS, timelineDetailText } from '../../protocol/index.js';

/** Run ids are UUIDs; a function name never is (it would be a valid DNS label, but who does that?). */
const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isRunId(text: string): boolean {
  return RUN_ID.test(text);
}

/** The first characters of a run id, as `logs` and the console print them (8 hex digits). */
const RUN_ID_PREFIX = /^[0-9a-f]{4,}(?:-[0-9a-f]*)*$/i;

/**
 * The full id of the one recent run (the newest 1000) whose id starts with `prefix`; null when
 * none does. Several: a usage error listing them. `logs` prints runs by their first 8 digits and
 * `runs 856954a4` said "no function" (docs/adr/0040-runnable-hints.md).
 */
export async function resolveRunPrefix(client: { listRuns: ApiClient['listRuns'] }, prefix: string): Promise<string | null> {
  if (!RUN_ID_PREFIX.test(prefix)) return null;
  const wanted = prefix.toLowerCase();
  const page = await client.listRuns({ limit: 1000 });
  const ids = [...new Set(page.items.map((r) => r.runId).filter((id) => id.toLowerCase().startsWith(wanted)))];
  if (ids.length > 1) throw usageError(`${JSON.stringify(prefix)} starts ${ids.length} run ids (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}); give more of it`);
  return ids[0] ?? null;
}

/** A run id as given, or the full id its first digits stand for; RUN_NOT_FOUND when none. */
async function fullRunId(client: { listRuns: ApiClient['listRuns'] }, id: string): Promise<string> {
  if (isRunId(id)) return id;
  const full = await resolveRunPrefix(client, id);
  if (full === null) throw new CliError(EXIT.API, 'RUN_NOT_FOUND', `no recent run whose id starts with ${JSON.stringify(id)} (\`fastapi-platform runs\` lists the newest)`);
  return full;
}

/** What `runs` should do with its positionals. */
export function runsTarget(pos: readonly string[]): { show: string } | { list: string | undefined } | { cancel: string } | { replay: string } {
  for (const verb of ['show', 'cancel', 'replay'] as const) {
    if (pos[0] !== verb) continue;
    if (pos[1] === undefined) throw usageError(`runs ${verb} needs a run id: fastapi-platform runs ${verb} <runId>`);
    if (verb === 'show') return { show: pos[1] };
    return verb === 'cancel' ? { cancel: pos[1] } : { replay: pos[1] };
  }
  if (pos[0] !== undefined && isRunId(pos[0])) return { show: pos[0] };
  if (pos[0] !== undefined && !FUNCTION_NAME.test(pos[0])) throw usageError(`${JSON.stringify(pos[0])} is neither a function name nor a run id`);
  return { list: pos[0] };
}

function statusText(r: ApiRunSummary): string {
  let status = r.status === 'succeeded' ? `ok ${r.httpStatus}` : `${r.errorCode ?? 'failed'} ${r.httpStatus}`;
  // A stream the client abandoned ends `succeeded` with the app's status (its generator was closed):
  // without this the list shows it as a plain `ok 200` (apps round 15).
  if (r.clientAborted === true) status += ', client went away';
  return (r.attempt ?? 1) > 1 ? `${status} (attempt ${r.attempt})` : status;
}

/** Multi-line text from a function (a stack, a body): each line escaped, the line breaks kept. */
function safeLines(text: string): string {
  return text.split(/\r?\n/).map((l) => terminalSafe(l, 16_384)).join('\n');
}

/**
 * `HH:MM:SS.mmm` (UTC) of a line's time, or `invalid-time`: a line kept by a platform before red
 * team round 44 may carry any time its function stamped (1e300 made toISOString throw: `runs <id>`
 * ended in a RangeError, the run's lines unseen).
 */
function lineClock(ms: number): string {
  const at = new Date(ms);
  return Number.isNaN(at.getTime()) ? 'invalid-time' : at.toISOString().slice(11, 23);
}

/** A run's lines; what the function wrote is escaped (cli/terminal.ts): it must not drive the terminal. */
function logLines(logs: readonly { ts: number; stream: string; level?: string; msg: string }[], pad: string): string[] {
  return logs.flatMap((l) => {
    const columns = `${pad}${lineClock(l.ts)} ${terminalSafe(l.level ?? l.stream).padEnd(7)} `;
    return messageLines(l.msg.trimEnd()).map((text) => `${columns}${text}`);
  });
}

/** Other words for a run's status, as other tools and HTTP say it (new-user round 15). */
const STATUS_WORDS: Readonly<Record<string, (typeof ASYNC_RUN_STATES)[number]>> = {
  failure: 'failed', failures: 'failed', error: 'failed', errors: 'failed', errored: 'failed',
  success: 'succeeded', successful: 'succeeded', ok: 'succeeded', pending: 'queued', canceled: 'cancelled',
};

/** `where`: what narrowed the list besides the status (` started since 1h`, ` on this page`), '' for none. */
function printList(ctx: Context, runs: ApiRunSummary[], status?: string, where = ''): void {
  if (runs.length === 0) {
    ctx.out.line(status === undefined && where === '' ? 'No runs yet.' : `No ${status !== undefined ? `${status} ` : ''}runs${where}.`);
    return;
  }
  const now = ctx.now();
  ctx.out.line(table(
    ['RUN ID', 'FUNCTION', 'VERSION', 'TRIGGER', 'REQUEST', 'STATUS', 'START', 'DURATION', 'WHEN'],
    runs.map((r) => [r.runId, r.function, r.version, r.trigger, requestText(r, 40), statusText(r), r.cold ? 'cold' : 'warm', formatMs(r.durationMs), formatAgo(r.startedAt, now)]),
  ));
}

/** Async runs in one state (no version or timings before an attempt ran): when queued, when they got there. */
function printAsyncList(ctx: Context, runs: ApiAsyncRunSummary[], state: string, where: string): void {
  if (runs.length === 0) {
    ctx.out.line(`No ${state} runs${where}.`);
    return;
  }
  const now = ctx.now();
  ctx.out.line(table(
    ['RUN ID', 'FUNCTION', 'TRIGGER', 'STATE', 'ATTEMPTS', 'QUEUED', 'SINCE'],
    // `attempts` counts the ended ones: a running run's first attempt showed as 0.
    runs.map((r) => [r.runId, r.function, r.trigger, r.state, r.state === 'running' ? `${r.attempts + 1} (running)` : String(r.attempts), formatAgo(r.acceptedAt, now), formatAgo(r.updatedAt, now)]),
  ));
}

/** How the instance was obtained, in words (`warm (warm)` said nothing; `cold (pool)` little). */
const START_WORDS: Readonly<Record<string, string>> = {
  pool: 'a pre-started runtime from the pool, given the code',
  spawn: 'a runtime made for the call: forked from its preset\'s zygote when one is ready, else a new interpreter',
  template: 'forked from a template of this version',
};

function startText(r: Pick<ApiRun, 'cold' | 'start'>): string {
  const kind = r.cold ? 'cold' : 'warm';
  const how = r.start !== null && r.start !== 'warm' ? START_WORDS[r.start] ?? r.start : null;
  return how === null ? kind : `${kind} (${how})`;
}

/** `GET /items/3?q=1&api_key=***` (the query as the run keeps it, ADR 0251; escaped, at most `width` characters), or `-` for a record without it. */
export function requestText(r: Pick<ApiRun, 'method' | 'path' | 'query'>, width: number): string {
  if (r.method === undefined || r.path === undefined) return '-';
  const text = terminalSafe(`${r.method} ${r.path}${r.query !== undefined ? `?${r.query}` : ''}`);
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** The detail view of one run (text). */
export function formatRun(r: ApiRun, now: number, self = 'fastapi-platform'): string {
  const lines = [
    `run       ${r.runId}`,
    `function  ${r.function} (version ${r.version}, trigger ${r.trigger})`,
    ...(r.method !== undefined ? [`request   ${requestText(r, Infinity)}`] : []),
    `status    ${r.status}: HTTP ${r.httpStatus}${r.errorCode ? `, ${r.errorCode}` : ''}${r.errorClass ? ` (${r.errorClass})` : ''}${r.clientAborted ? ', client went away' : ''}`,
    `start     ${startText(r)}`,
    `timing    total ${formatMs(r.durationMs)} = queued ${formatMs(r.queuedMs)} + init ${formatMs(r.initMs)} + handler ${formatMs(r.handlerMs)} (+ gateway)`,
    `when      ${new Date(r.startedAt).toISOString()} (${formatAgo(r.startedAt, now)})`,
  ];
  if (r.error) {
    const at = r.error.file ? ` at ${terminalSafe(r.error.file)}${r.error.line !== undefined ? `:${r.error.line}` : ''}` : '';
    lines.push('', `error     ${terminalSafe(r.error.type)}: ${terminalSafe(r.error.message)}${at}`);
    if (r.error.stack) lines.push(indent(safeLines(r.error.stack.trimEnd()), '  '));
    // Env the function lacks, a write past the file cap: what to do (as a refused deploy says).
    const hint = errorHint({ function: r.function, cause: r.error }, self);
    if (hint !== null) lines.push(hint);
  }
  if (r.writes !== undefined) lines.push('', formatWrites(r.writes));
  const logs = r.logs ?? [];
  lines.push('', logs.length === 0 ? 'logs      (none)' : `logs (${logs.length})`);
  lines.push(...logLines(logs, '  '));
  return lines.join('\n');
}

/** What a run wrote through its data binding, one row per collection. */
export function formatWrites(writes: NonNullable<ApiRun['writes']>): string {
  if (writes.length === 0) return 'writes    (none)';
  return `writes (${writes.length} collection${writes.length === 1 ? '' : 's'})\n${indent(table(
    ['DATABASE', 'COLLECTION', 'INSERTED', 'UPDATED', 'DELETED', 'UPSERTED'],
    writes.map((w) => [w.database, w.collection, String(w.inserted), String(w.updated), String(w.deleted), String(w.upserted)]),
  ), '  ')}`;
}

/** The detail view of an async run: state, link, the state timeline and each attempt. */
export function formatAsyncRun(r: ApiAsyncRun, now: number): string {
  const lines = [
    `run       ${r.runId} (async)`,
    `function  ${r.function ?? '?'}`,
    `state     ${r.state}`,
  ];
  const lost = asyncStateLost(r);
  if (lost) lines.push('          its queued state was lost (the async store lost its data): no timeline, result or request are kept; it is final and cannot be replayed: call the function again (docs/adr/0193-a-run-whose-async-state-was-lost.md)');
  if (r.acceptedAt !== null) lines.push(`accepted  ${new Date(r.acceptedAt).toISOString()} (${formatAgo(r.acceptedAt, now)})`);
  if (r.replayOf !== null) lines.push(`replay of ${r.replayOf}`);
  if (r.replays.length > 0) lines.push(`replayed  as ${r.replays.join(', ')}`);
  lines.push('', lost ? 'timeline  (lost)' : 'timeline');
  // The detail in words (`max_attempts class:user_error` → `no attempts left: the function raised an exception`); --json keeps it raw.
  for (const t of r.transitions) lines.push(`  ${new Date(t.at).toISOString().slice(11, 23)} ${t.state.padEnd(9)} ${timelineDetailText(t.detail)}`.trimEnd());
  // The API lists ended attempts: a running run said `attempts  (none)` under `running  attempt 1`.
  const since = r.state === 'running' ? r.transitions.filter((t) => t.state === 'running').at(-1)?.at : undefined;
  const running = since !== undefined ? `attempt ${r.attempts.length + 1} is running since ${new Date(since).toISOString().slice(11, 23)}` : null;
  lines.push('', r.attempts.length === 0 ? `attempts  ${running !== null ? `(none ended yet; ${running})` : '(none)'}` : `attempts (${r.attempts.length}${running !== null ? ` ended; ${running}` : ''})`);
  for (const a of r.attempts) {
    const at = a.error?.file ? ` at ${terminalSafe(a.error.file)}${a.error.line !== undefined ? `:${a.error.line}` : ''}` : '';
    // Failed by its own answer, with no error (a 4xx or 5xx: protocol/run-outcome.ts): the status says why; it said `failed` alone.
    const answered = !a.error && a.status === 'failed' && a.httpStatus !== undefined && callFailed({ httpStatus: a.httpStatus, errored: false, queued: true }) ? `  answered HTTP ${a.httpStatus}` : '';
    const why = a.error ? `  ${a.errorCode ?? ''}${a.errorClass ? ` (${a.errorClass})` : ''} ${terminalSafe(a.error.type)}: ${terminalSafe(a.error.message)}${at}` : answered;
    lines.push(`  #${a.attempt} ${new Date(a.startedAt).toISOString().slice(11, 23)} ${a.status.padEnd(9)} ${formatMs(a.durationMs)} ${a.cold ? 'cold' : 'warm'}${why}`);
    const logs = a.logs ?? [];
    if (logs.length > 0) lines.push(...logLines(logs, '       '));
  }
  if (r.result !== null) {
    const body = omittedResultNote(r.result.headers) ?? ('bodyBase64' in r.result ? `(${Buffer.from(r.result.bodyBase64, 'base64').length} bytes)` : typeof r.result.body === 'string' ? r.result.body : JSON.stringify(r.result.body));
    lines.push('', `result    HTTP ${r.result.status} (attempt ${r.result.attempt})`, indent(safeLines(body), '  '));
  }
  return lines.join('\n');
}

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  const what = runsTarget(positionals(args, 2, 'runs'));
  if (flag(args, 'wait') && !('replay' in what)) throw usageError('--wait goes with `runs replay <runId>` (a run queued by invoke --async: `invoke --async --wait`)');
  if (flag(args, 'all') && !('list' in what)) throw usageError('--all lists the runs of every function (`runs --all`); a run id names one run');
  const listed = 'list' in what ? listedFunction(ctx, 'runs', what.list, flag(args, 'all')) : null;
  const client = await clientOf(ctx, args);
  if ('show' in what) {
    const r = await client.getRun(await fullRunId(client, what.show));
    if (flag(args, 'writes')) {
      const writes = isAsyncRun(r) ? null : r.writes ?? null;
      ctx.out.data({ ok: true, runId: r.runId, writes });
      ctx.out.line(writes === null ? `run ${r.runId} has no writes record (its function has no data binding)` : formatWrites(writes));
      return EXIT.OK;
    }
    ctx.out.data({ ok: true, run: r });
    ctx.out.line(isAsyncRun(r) ? formatAsyncRun(r, ctx.now()) : formatRun(r, ctx.now(), selfCommandOf(ctx)));
    return EXIT.OK;
  }
  if ('cancel' in what) {
    const id = await fullRunId(client, what.cancel);
    const r = await client.cancelRun(id);
    ctx.out.data({ ok: true, run: r });
    ctx.out.line(`run ${r.runId} cancelled`);
    return EXIT.OK;
  }
  if ('replay' in what) {
    const id = await fullRunId(client, what.replay);
    const r = await client.replayRun(id);
    // As `invoke --async --wait`: a replay after a fix is run to see whether it now succeeds.
    if (flag(args, 'wait')) {
      ctx.out.note(`run ${r.runId} queued (replay of ${r.replayOf}); waiting for it…`);
      const replayed = await client.getRun(r.runId);
      return waitForRun(ctx, client, replayed.function ?? '', r.runId);
    }
    ctx.out.data({ ok: true, runId: r.runId, replayOf: r.replayOf });
    ctx.out.line(`run ${r.runId} queued (replay of ${r.replayOf}); follow it with: ${selfCommandOf(ctx)} runs ${r.runId}  (or replay with --wait)`);
    return EXIT.OK;
  }
  const status = choice(args, 'status', ASYNC_RUN_STATES, { otherWords: STATUS_WORDS });
  const limit = int(args, 'limit', 20, 1, 1000);
  const since = str(args, 'since');
  const until = str(args, 'until');
  const cursor = str(args, 'cursor');
  const trigger = choice(args, 'trigger', RUN_TRIGGERS);
  const now = ctx.now(); // one instant for both: `--since 2h --until 1h` is one hour
  const fn = listed?.name;
  const query = {
    ...(fn !== undefined ? { function: fn } : {}), limit,
    ...(since !== undefined ? { since: parseWhen(since, now, 'since') } : {}),
    ...(until !== undefined ? { until: parseWhen(until, now, 'until') } : {}),
    ...(cursor !== undefined ? { cursor } : {}),
    ...(trigger !== undefined ? { trigger } : {}),
  };
  // A state an unfinished async run is in has no run record: the API lists those runs from the
  // async run index, in their own shape (docs/adr/0068-listing-async-runs-by-state.md).
  const asyncState = status !== undefined && !(RUN_STATUSES as readonly string[]).includes(status);
  const page = asyncState ? await client.listAsyncRuns({ ...query, status }) : await client.listRuns({ ...query, ...(status ? { status } : {}) });
  // No runs of a name that is no function (a typo, another workspace): say so, not "No runs yet".
  if (page.items.length === 0 && fn !== undefined && (await client.getFunction(fn)) === null) {
    if (listed?.fromFolder === true) throw notDeployedError(fn, 'runs');
    // No such function: perhaps the first digits of a run id, copied from `logs` (856954a4).
    const full = await resolveRunPrefix(client, fn);
    if (full !== null) return run(ctx, { ...args, positionals: ['show', full] });
    const orRun = RUN_ID_PREFIX.test(fn) ? ', nor a recent run whose id starts so' : '';
    const lists = RUN_ID_PREFIX.test(fn) ? '`runs` lists the newest runs, `functions` the functions' : '`functions` lists them';
    throw new CliError(EXIT.API, 'FUNCTION_NOT_FOUND', `no function "${fn}" in this workspace and no runs of one by that name${orRun} (${lists}; --workspace picks another workspace)`);
  }
  ctx.out.data({ ok: true, items: page.items, nextCursor: page.nextCursor });
  const verb = asyncState ? 'queued' : 'started';
  const where = since !== undefined && until !== undefined ? ` ${verb} between ${since} and ${until}` : since !== undefined ? ` ${verb} since ${since}` : until !== undefined ? ` ${verb} before ${until}` : cursor !== undefined ? ' on this page' : '';
  // What the list was filtered to, said when it is empty: `--trigger cron` read "No runs yet." and
  // `--status failed --trigger cron` "No failed runs." while the function had both (new-user round 6).
  const kind = [status, trigger].filter((w) => w !== undefined).join(' ');
  if (asyncState) printAsyncList(ctx, page.items as ApiAsyncRunSummary[], kind, where);
  else printList(ctx, page.items as ApiRunSummary[], kind === '' ? undefined : kind, where);
  noteFolderScope(ctx, 'runs', listed);
  // A full page says so: the newest N are not all the runs there are.
  if (page.nextCursor !== null) ctx.out.note(`(${cursor === undefined ? 'the newest' : 'these'} ${page.items.length}; there are more: the next page with --cursor ${page.nextCursor}${limit < 1000 && cursor === undefined ? `, or -n ${Math.min(limit * 5, 1000)}` : ''})`);
  return EXIT.OK;
}

export const runsCommand: Command = {
  name: 'runs',
  summary: 'list recent runs, show one run (async: its state timeline), cancel or replay an async run',
  usage: 'runs [name | --all] [--status succeeded|failed|queued|running|retried|cancelled] [--trigger T] [--since WHEN] [--until WHEN] [--limit N] [--cursor C]   |   runs [show] <runId> [--writes]   |   runs cancel <runId>   |   runs replay <runId> [--wait]',
  examples: [
    'runs my-fn --status failed',
    'runs my-fn --status queued',
    'runs 856954a4',
    'runs replay <runId> --wait',
  ],
  details: [
    'Without a name, in a function\'s folder (or below it): that function\'s runs; elsewhere, or with --all,',
    'the runs of every function of the workspace.',
    'A run id is a UUID (X-Run-Id of every invocation); its first digits, as `logs` prints them',
    '(`runs 856954a4`), also do when no function has that name and one recent run id starts so.',
    '`runs cancel <id>` removes an async run still waiting in the queue; `runs replay <id>` queues a',
    'failed async run\'s request again as a new run (against the version deployed now).',
    '--status succeeded|failed lists run records (finished attempts); --status queued|running|retried|cancelled',
    'lists async runs in that state now, by when they were queued (--since/--until too).',
  ].join('\n'),
  options: {
    status: { type: 'string', value: 'S', description: `only runs with this status (${RUN_STATUSES.join(', ')}), or async runs in this state now (queued, running, retried, cancelled)` },
    limit: { type: 'string', short: 'n', value: 'N', description: 'at most N runs, newest first (default 20, at most 1000)' },
    since: { type: 'string', value: 'WHEN', description: 'only runs started since then: 10m, 2h, 1d, 1w ago, or an ISO 8601 time / Unix ms' },
    until: { type: 'string', value: 'WHEN', description: 'only runs started before then (as --since)' },
    trigger: { type: 'string', value: 'T', description: `only runs of this trigger (${RUN_TRIGGERS.join(', ')})` },
    cursor: { type: 'string', value: 'C', description: 'the next page: the cursor the previous list named (--json: nextCursor)' },
    all: { type: 'boolean', description: "every function's runs, also in a function's folder (where the name may be left out)" },
    writes: { type: 'boolean', description: "with a run id: only what the run wrote through its data binding, per collection" },
    wait: { type: 'boolean', description: 'with replay: wait until the replayed run is final and show its result (as invoke --async --wait)' },
  },
  run,
};
