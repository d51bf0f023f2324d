/**
 * `workspaces list|create|show|set|delete`: the workspaces of a platform and their quotas (the admin
 * token's; a workspace owner sees its own with `list` and `show`). Docs: docs/cli.md.
 */
import { selfCommandOf } from '../self-command.js';
import { positionals, str, type ParsedArgs } from '../args.js';
import type { ApiQuotas, ApiWorkspace } from '../client.js';
import { clientOf, type Command, type Context } from '../context.js';
import { EXIT, usageError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import { formatBytes, table } from '../output.js';
import { isWorkspaceName, parseMemoryBytes, type UnitError } from '../../protocol/index.js';

const COUNT_OPTIONS = { functions: 'functions', instances: 'instances', 'invocations-per-minute': 'invocationsPerMinute' } as const;
const BYTE_OPTIONS = { 'code-bytes': 'codeBytes', 'log-bytes': 'logBytes' } as const;

/** The quotas given on the command line: a number (bytes may have units, 500Mi), or `none` to remove one. */
export function quotasFromArgs(args: ParsedArgs): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [option, key] of [...Object.entries(COUNT_OPTIONS), ...Object.entries(BYTE_OPTIONS)]) {
    const text = str(args, option);
    if (text === undefined) continue;
    if (text === 'none') {
      out[key] = null;
      continue;
    }
    const bytes = option in BYTE_OPTIONS;
    let value: number;
    try {
      value = bytes ? parseMemoryBytes(text) : /^\d{1,15}$/.test(text) ? Number(text) : NaN;
    } catch (err) {
      throw usageError(`--${option}: ${(err as UnitError).message}`);
    }
    if (!Number.isSafeInteger(value)) throw usageError(`--${option} must be a whole number${bytes ? ' of bytes (units allowed: 500Mi, 2Gi)' : ''}, or none`);
    out[key] = value;
  }
  return out;
}

function limitText(limit: number | null, bytes: boolean): string {
  return limit === null ? '-' : bytes ? formatBytes(limit) : String(limit);
}

function printList(ctx: Context, items: ApiWorkspace[]): void {
  // The quotas' limits, not their use: `acme  FUNCTIONS 20` read as twenty functions where it had one.
  ctx.out.line(table(
    ['WORKSPACE', 'MAX FUNCTIONS', 'MAX INSTANCES', 'MAX CALLS/MIN', 'MAX CODE', 'MAX LOGS'],
    items.map((w) => [w.name, limitText(w.quotas.functions, false), limitText(w.quotas.instances, false), limitText(w.quotas.invocationsPerMinute, false), limitText(w.quotas.codeBytes, true), limitText(w.quotas.logBytes, true)]),
  ));
  if (items.length > 0) ctx.out.line(`Quota limits ("-": none). What each workspace uses now: ${selfCommandOf(ctx)} workspaces show <name>`);
}

function printUsage(ctx: Context, w: ApiWorkspace, usage: ApiQuotas): void {
  ctx.out.line(`workspace ${w.name}  (created ${new Date(w.createdAt).toISOString().slice(0, 16).replace('T', ' ')})`);
  const rows = (Object.keys(usage) as (keyof ApiQuotas)[]).map((key) => {
    const bytes = key === 'codeBytes' || key === 'logBytes';
    const q = usage[key];
    return [key, bytes ? formatBytes(q.used) : String(q.used), limitText(q.limit, bytes)];
  });
  ctx.out.line(table(['QUOTA', 'USED', 'LIMIT'], rows));
}

function nameArg(pos: readonly string[], verb: string): string {
  const name = pos[1];
  if (name === undefined) throw usageError(`workspaces ${verb} needs a name: fastapi-platform workspaces ${verb} <name>`);
  if (!isWorkspaceName(name)) {
    // `Acme` → did you mean "acme"? (a name made only of the allowed characters once lower-cased)
    const lower = name.toLowerCase();
    const near = lower !== name && isWorkspaceName(lower) ? `; did you mean ${JSON.stringify(lower)}?` : '';
    throw usageError(`${JSON.stringify(name)} is not a workspace name: 1-30 lowercase letters, digits or hyphens${near}`);
  }
  return name;
}

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  const pos = positionals(args, 2, 'workspaces');
  const verb = pos[0] ?? 'list';
  const client = await clientOf(ctx, args);
  switch (verb) {
    case 'list': {
      const { items } = await client.listWorkspaces();
      ctx.out.data({ ok: true, items });
      printList(ctx, items);
      return EXIT.OK;
    }
    case 'create': {
      const name = nameArg(pos, verb);
      const quotas = quotasFromArgs(args);
      const made = await client.createWorkspace({ name, ...(Object.keys(quotas).length > 0 ? { quotas } : {}) });
      ctx.out.data({ ok: true, ...made });
      ctx.out.line(`Created workspace "${name}". Its first token: ${selfCommandOf(ctx)} tokens create --role owner --workspace ${name}`);
      printUsage(ctx, made.workspace, made.usage);
      return EXIT.OK;
    }
    case 'show': {
      const answer = await client.getWorkspace(nameArg(pos, verb));
      ctx.out.data({ ok: true, ...answer });
      printUsage(ctx, answer.workspace, answer.usage);
      return EXIT.OK;
    }
    case 'set': {
      const name = nameArg(pos, verb);
      const quotas = quotasFromArgs(args);
      if (Object.keys(quotas).length === 0) throw usageError('workspaces set needs at least one quota, e.g. --functions 20');
      const answer = await client.updateWorkspace(name, quotas);
      ctx.out.data({ ok: true, ...answer });
      printUsage(ctx, answer.workspace, answer.usage);
      return EXIT.OK;
    }
    case 'delete': {
      const name = nameArg(pos, verb);
      await client.deleteWorkspace(name);
      ctx.out.data({ ok: true, deleted: name });
      ctx.out.line(`Deleted workspace "${name}" and its tokens.`);
      return EXIT.OK;
    }
    default:
      throw usageError(`unknown subcommand ${JSON.stringify(verb)}${didYouMean(verb, ['list', 'create', 'show', 'set', 'delete'])}; workspaces list|create|show|set|delete`);
  }
}

export const workspacesCommand: Command = {
  name: 'workspaces',
  summary: 'list, create, show, change the quotas of, or delete workspaces (the admin token)',
  usage: 'workspaces [list] | create NAME [quotas] | show NAME | set NAME [quotas] | delete NAME',
  examples: [
    'workspaces',
    'workspaces create acme --functions 20 --invocations-per-minute 6000',
    'workspaces set acme --code-bytes 200MiB',
  ],
  details: [
    'Quotas (create and set): --functions N, --instances N, --invocations-per-minute N, --code-bytes SIZE,',
    '--log-bytes SIZE (sizes with units: 500Mi, 2Gi); `none` removes one. A new workspace gets the',
    "platform's FP_WORKSPACE_QUOTA_* unless given. Deleting a workspace that still has functions is",
    'refused (exit 4, WORKSPACE_NOT_EMPTY) and changes nothing; `default` cannot be deleted.',
    'A function stays in its workspace (no command moves one: deploy its folder with a token of the',
    'other, carry its env over with env pull/push, then delete it in the first; docs/cli.md). People:',
    '`tokens create --role ROLE -w NAME` gives one a token (`tokens --help`: what to send them).',
  ].join('\n'),
  options: {
    functions: { type: 'string', value: 'N', description: 'most functions' },
    instances: { type: 'string', value: 'N', description: 'most runtime instances at once (per platform process)' },
    'invocations-per-minute': { type: 'string', value: 'N', description: 'most calls a minute (every function of the workspace together)' },
    'code-bytes': { type: 'string', value: 'SIZE', description: 'most stored code (every version)' },
    'log-bytes': { type: 'string', value: 'SIZE', description: 'most run logs kept (past it, runs keep no log lines)' },
  },
  run,
};
