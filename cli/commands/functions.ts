/** `functions [list]` and `functions show <name>`: the workspace's functions, one with its contract card. */
import { positionals, type ParsedArgs } from '../args.js';
import { clientOf, type Command, type Context } from '../context.js';
import { contractLines } from '../contract.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { table } from '../output.js';
import { FUNCTION_NAME } from '../../protocol/index.js';
import { describeSettings } from './deploy.js';

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  const pos = positionals(args, 2, 'functions');
  const verb = pos[0] ?? 'list';
  const client = await clientOf(ctx, args);
  if (verb === 'list') {
    const { items } = await client.listFunctions();
    ctx.out.data({ ok: true, items });
    if (items.length === 0) ctx.out.line('No functions in this workspace yet: fastapi-platform deploy');
    else ctx.out.line(table(['NAME', 'STATUS', 'VERSION', 'SETTINGS'], items.map((f) => [f.name, f.status, f.activeVersion === null ? '-' : String(f.activeVersion), describeSettings(f)])));
    return EXIT.OK;
  }
  if (verb !== 'show') throw usageError(`unknown subcommand ${JSON.stringify(verb)}; functions list|show <name>`);
  const name = pos[1];
  if (name === undefined || !FUNCTION_NAME.test(name)) throw usageError('functions show needs a function name: fastapi-platform functions show <name>');
  const found = await client.getFunction(name);
  if (found === null) throw new CliError(EXIT.API, 'FUNCTION_NOT_FOUND', `no function named "${name}" in this workspace`);
  ctx.out.data({ ok: true, ...found });
  ctx.out.line(`${found.function.name}  (${found.function.status}, version ${found.function.activeVersion ?? '-'}, workspace ${found.function.workspace ?? 'default'})`);
  ctx.out.line(`URL:     ${found.invokeUrl}`);
  if (found.asyncUrl !== undefined) ctx.out.line(`Async:   ${found.asyncUrl}`);
  if (found.contract !== undefined) for (const line of contractLines(found.contract)) ctx.out.line(line);
  return EXIT.OK;
}

export const functionsCommand: Command = {
  name: 'functions',
  summary: "list the workspace's functions, or show one with its URL and contract card (limits, rate, quotas)",
  usage: 'functions [list] | functions show <name>',
  options: {},
  run,
};
