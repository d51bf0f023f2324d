/**
 * `triggers <name>` lists a function's triggers (its URLs, the active version's webhooks and cron
 * schedules with their next fire times); `triggers rotate-secret <name> <id> [--grace 1h]` makes a
 * new webhook secret and prints it this once (docs/triggers.md). Before, a newcomer needed curl,
 * the admin token and the API path to get a secret to give GitHub (docs/adr/0040-runnable-hints.md).
 */
import { positionals, str, type ParsedArgs } from '../args.js';
import { functionOfFolder } from '../folder-function.js';
import { checkFunctionName } from '../function-name.js';
import { clientOf, type Command, type Context } from '../context.js';
import { CliError, EXIT, isCliError, usageError } from '../errors.js';
import { didYouMean } from '../near-words.js';
import { graceOption } from '../when.js';
import { formatAgo, table } from '../output.js';
import type { ApiClient, MissedTicksNote, RefusedDeliveries } from '../client.js';
import { selfCommandOf } from '../self-command.js';

function nameOf(name: string | undefined, usage: string): string {
  // `triggers needs …`, as `invoke needs …` (it said `triggers <name> needs the function name`).
  if (name === undefined) throw usageError(`${usage.split(' <')[0]} needs the function name: fastapi-platform ${usage}${usage === 'triggers <name>' ? ' (or run it in a function\'s folder)' : ''}`);
  checkFunctionName(name);
  return name;
}

const INVOCATION_WORDS: Record<string, string> = {
  both: 'sync and async',
  sync: 'sync only (/async/ answers 409)',
  async: 'async only (/fn/ answers 409)',
};

/** The routes that take the function's calls: an async-only function's `/fn/` answers 409 (ADR 0046), so it is not shown as where to call it. */
function httpWhere(t: { invokeUrl: string; asyncUrl?: string | undefined; invocation: string }): string {
  if (t.invocation === 'async' && t.asyncUrl !== undefined) return `async: ${t.asyncUrl}`;
  return `${t.invokeUrl}${t.asyncUrl !== undefined && t.invocation !== 'sync' ? `  async: ${t.asyncUrl}` : ''}`;
}

/** A webhook's refused deliveries, as the platform counted them (ADR 0208): the sender's 401s, seen from the owner's side. */
function refusedWords(refused: RefusedDeliveries | null | undefined, now: number): string {
  if (refused === null || refused === undefined) return '';
  const { at, code, detail } = refused.last;
  return `; refused ${refused.count} since the platform started, last ${formatAgo(at, now)}: ${code}${detail !== undefined ? ` (${detail} header)` : ''}`;
}

/** A cron trigger's missed ticks (ADR 0238): the runs that never happened (CRON_TICK_MISSED records), seen in the listing. */
function missedWords(missed: MissedTicksNote | null | undefined, now: number): string {
  if (missed === null || missed === undefined || missed.lastAt === null) return '';
  const since = missed.sinceLastFired === 0 ? 'none since the last fired tick' : `${missed.sinceLastFired} since the last fired tick`;
  return `; missed ticks: last ${formatAgo(missed.lastAt, now)}, ${since} (\`runs\` lists them as CRON_TICK_MISSED)`;
}

/**
 * TRIGGER_NOT_FOUND with the webhooks the function has, and the one meant (new-user round 9:
 * `rotate-secret hook githb` said only that there was no "githb").
 */
async function withWebhooks(client: ApiClient, err: unknown, name: string, id: string): Promise<unknown> {
  if (!isCliError(err) || err.code !== 'TRIGGER_NOT_FOUND') return err;
  const ids = (await client.listTriggers(name).catch(() => null))?.flatMap((t) => (t.type === 'webhook' ? [t.id] : []));
  if (ids === undefined) return err;
  const has = ids.length === 0 ? 'it declares none: add one to platform.yaml (`triggers: [{type: webhook, id: github}]`) and deploy'
    : `its webhook triggers: ${ids.join(', ')}${didYouMean(id, ids)}`;
  return new CliError(err.exitCode, err.code, `${err.message}; ${has}`, err.details);
}

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  const pos = positionals(args, 3, 'triggers');
  const client = await clientOf(ctx, args);
  if (pos[0] === 'rotate-secret') {
    // In a function's folder `rotate-secret github` is its webhook's (new-user round 9: it took
    // `github` for the function's name and asked for the trigger id).
    const here = pos[2] === undefined && pos[1] !== undefined ? functionOfFolder(ctx.cwd) : null;
    const name = nameOf(here ?? pos[1], 'triggers rotate-secret <name> <triggerId>');
    const id = here !== null ? pos[1] : pos[2];
    if (id === undefined) throw usageError('triggers rotate-secret needs the webhook trigger id (`fastapi-platform triggers <name>` lists them): fastapi-platform triggers rotate-secret <name> <triggerId>');
    const grace = graceOption(str(args, 'grace'));
    const answer = await client.rotateHookSecret(name, id, grace).catch(async (err: unknown) => { throw await withWebhooks(client, err, name, id); });
    ctx.out.data({ ok: true, function: name, trigger: id, secret: answer.secret });
    // Piped (`SECRET=$(… triggers rotate-secret …)`, docs/api-invoke.md's signing example), the secret alone (ADR 0199).
    ctx.out.shownOnce([`New secret for webhook "${id}" of "${name}" (shown only this once; give it to the sender):`], answer.secret,
      `New secret for webhook "${id}" of "${name}" (shown only this once) is on stdout: give it to the sender.`);
    ctx.out.note(grace !== undefined && /^0+(ms|s|m|h)?$/.test(grace) ? 'the previous secret no longer works' : `the previous secret keeps working for ${grace ?? '1h'} (--grace 0s ends it at once)`);
    return EXIT.OK;
  }
  if (pos.length > 1) throw usageError('usage: fastapi-platform triggers <name> | triggers rotate-secret <name> <triggerId> [--grace 1h]');
  // In a function's folder (or below it) the name may be left out, as of `logs` (new-user round 8).
  const name = nameOf(pos[0] ?? functionOfFolder(ctx.cwd) ?? undefined, 'triggers <name>');
  const items = await client.listTriggers(name);
  ctx.out.data({ ok: true, function: name, items });
  // The command in the DETAILS cell is pasted as it is: spelled as the CLI runs here (ADR 0040; it
  // was the bare `triggers rotate-secret …`, which no shell finds; new-user round 3).
  const fp = selfCommandOf(ctx);
  const now = Date.now();
  const rows = items.map((t): string[] => {
    if (t.type === 'http') return ['http', '-', httpWhere(t), `auth ${t.auth}, ${INVOCATION_WORDS[t.invocation] ?? t.invocation}`];
    if (t.type === 'webhook') return ['webhook', t.id, t.url, `${t.style} signature${t.sync ? ', sync' : ''}; calls POST ${t.path}; secret: ${fp} triggers rotate-secret ${name} ${t.id}${refusedWords(t.refused, now)}`];
    return ['cron', t.id, `${t.schedule} (${t.timezone})`, `calls ${t.method} ${t.path}; ${t.active ? `next ${t.nextFires[0] !== undefined ? new Date(t.nextFires[0]).toISOString() : '-'}` : 'paused'}${missedWords(t.missed, now)}`];
  });
  ctx.out.line(table(['TYPE', 'ID', 'WHERE', 'DETAILS'], rows));
  return EXIT.OK;
}

export const triggersCommand: Command = {
  name: 'triggers',
  summary: "list a function's triggers (URLs, webhooks, cron schedules and next fires); rotate a webhook's secret",
  usage: 'triggers [name]   |   triggers rotate-secret [name] <triggerId> [--grace 1h]',
  examples: [
    'triggers my-hook',
    'triggers rotate-secret my-hook github --grace 0s',
  ],
  details: [
    'Triggers are declared in platform.yaml (`triggers: [{type: webhook, id: github}]`, `{type: cron, schedule: …}`)',
    'and exist while the version declaring them is active. A webhook\'s secret is generated at deploy and',
    'never shown: `triggers rotate-secret <name> <id>` makes a new one and prints it once (role deployer);',
    'the old one keeps working for --grace. A webhook\'s DETAILS also count the deliveries refused at their',
    'signature since the platform started (no run is made for them) and say the last one\'s code. A cron',
    'trigger\'s DETAILS say its last missed tick (the platform was down, or stopped between claiming and',
    'queueing it) and how many were missed since its last fired tick; `runs` lists them as CRON_TICK_MISSED.',
    'In a function\'s folder (or below it) the name may be left out: `triggers`, `triggers rotate-secret github`.',
    'Details: docs/triggers.md.',
  ].join('\n'),
  options: {
    grace: { type: 'string', value: 'DURATION', description: 'rotate-secret: how long the previous secret keeps working (default 1h; 0s: at once)' },
  },
  run,
};
