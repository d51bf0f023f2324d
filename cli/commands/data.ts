/**
 * `data` (docs/data-binding.md): `data` / `data list` shows the workspace's databases (bound, or left
 * by functions that no longer use them) and the functions using each; `data show <name>` which
 * database a function uses; `data rotate <name> [--grace 60s]` gives the binding new credentials
 * (never shown: the platform hands them to new instances); `data drop <database> [--yes]` drops a
 * database no function is bound to, with all its data (it asks first).
 */
import { flag, positionals, str, type ParsedArgs } from '../args.js';
import { checkFunctionName } from '../function-name.js';
import { clientOf, type Command, type Context } from '../context.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { graceOption } from '../when.js';
import { didYouMean } from '../suggest.js';
import { confirmOrStop } from '../confirm.js';
import { table } from '../output.js';
import { formatLongDurationMs } from '../../protocol/index.js';

function nameOf(verb: string, name: string | undefined): string {
  if (name === undefined) throw usageError(`data ${verb} needs the function name: fastapi-platform data ${verb} <name>`);
  checkFunctionName(name);
  return name;
}

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  const [verb = 'list', target] = positionals(args, 2, 'data');
  if (flag(args, 'yes') && verb !== 'drop') throw usageError('--yes goes with data drop');
  const client = await clientOf(ctx, args);
  if (verb === 'list') {
    const dbs = await client.dataDatabases();
    // `items` as every listing has it (ADR 0174); `databases`, the API's key, stays for the scripts that read it.
    ctx.out.data({ ok: true, items: dbs, databases: dbs });
    ctx.out.line(dbs.length === 0 ? 'No databases in this workspace.' : table(['WORKSPACE', 'DATABASE', 'ON THE SERVER', 'FUNCTIONS'], dbs.map((d) => [d.workspace, d.database, d.physical, d.functions.length === 0 ? '(none: `data drop` removes it)' : d.functions.join(', ')])));
    return EXIT.OK;
  }
  if (verb === 'show') {
    const name = nameOf(verb, target);
    const binding = await client.dataBinding(name);
    ctx.out.data({ ok: true, function: name, binding });
    ctx.out.line(binding === null ? `"${name}" has no data binding.` : `"${name}" uses database ${binding.database} of workspace ${binding.workspace} (${binding.physical} on the server; create: ${binding.create}).`);
    return EXIT.OK;
  }
  if (verb === 'rotate') {
    const name = nameOf(verb, target);
    const grace = graceOption(str(args, 'grace'));
    const answer = await client.rotateDataCredentials(name, grace);
    ctx.out.data({ ok: true, function: name, graceMs: answer.graceMs });
    ctx.out.line(`New credentials for "${name}"'s binding; ${oldCredentials(answer.graceMs)}. Its instances are replaced as their calls finish.`);
    return EXIT.OK;
  }
  if (verb === 'drop') {
    if (target === undefined) throw usageError('data drop needs the database name: fastapi-platform data drop <database>');
    // Looked up before asking: `data drop ap` asked whether to delete "ap" and all its data for
    // good, and only then said there is none (and never that "app" was meant). The drop itself
    // still checks on the server.
    const databases = await client.dataDatabases();
    const names = databases.map((d) => d.database);
    // None listed (also a platform without a database server): the server's own answer says why.
    if (names.length > 0 && !names.includes(target)) {
      throw new CliError(EXIT.API, 'DATA_DATABASE_NOT_FOUND', `no database "${target}" in this workspace${didYouMean(target, names)}; nothing was dropped (\`fastapi-platform data\` lists them)`, { database: target });
    }
    // One a function is bound to is refused by the server: said before asking too (it asked, and
    // only a "y" learned that it could not be dropped).
    const users = databases.find((d) => d.database === target)?.functions ?? [];
    if (users.length > 0) {
      throw new CliError(EXIT.API, 'DATA_DATABASE_IN_USE', `database ${target} is bound to ${users.join(', ')}: ${users.length === 1 ? 'deploy it without data.mongo, or delete it' : 'deploy them without data.mongo, or delete them'}, first; nothing was dropped`, { database: target, functions: users });
    }
    await confirmOrStop(ctx, args, {
      question: `Drop database "${target}" and all its data, for good? [y/N] `,
      noTerminal: `data drop deletes database "${target}" and all its data for good: pass --yes to drop it without asking (no terminal to ask on)`,
      declined: 'not confirmed; nothing was dropped',
    });
    const answer = await client.dropDatabase(target);
    ctx.out.data({ ok: true, ...answer });
    ctx.out.line(`Dropped database ${answer.database} of workspace ${answer.workspace} (${answer.physical} on the server) and all its data.`);
    return EXIT.OK;
  }
  throw usageError(`unknown data command ${JSON.stringify(verb)}${didYouMean(verb, ['list', 'show', 'rotate', 'drop'])}: use list, show <name>, rotate <name> or drop <database>`);
}

export const dataCommand: Command = {
  name: 'data',
  summary: 'which database each function of the workspace uses and which functions use each; rotate a binding\'s credentials; drop a database',
  usage: 'data [list]   |   data show <name>   |   data rotate <name> [--grace 60s]   |   data drop <database> [--yes]',
  examples: [
    'data',
    'data show my-fn',
    'data rotate my-fn --grace 0s',
  ],
  details: [
    'A function binds a database of its workspace with `data: {mongo: {database: NAME}}` in platform.yaml;',
    'its handler gets it as `context.db` (docs/data-binding.md). Credentials are never shown.',
    'Deleting a function never drops its database: `data list` shows a database no function uses any more,',
    '`data drop` removes it with all its data (refused while a function is bound to it; it asks first).',
    'Reading needs the role viewer, rotate needs deployer, drop needs owner; all act in the profile\'s workspace.',
  ].join('\n'),
  options: {
    grace: { type: 'string', value: 'DURATION', description: 'rotate: how long the old credentials keep working (default 60s, 0s: at once, at most 168h)' },
    yes: { type: 'boolean', description: 'drop: do not ask' },
  },
  run,
};

/** When the rotated-out credential stops working, in words (`--grace 0s` read "stop working in 0 s"). */
export function oldCredentials(graceMs: number): string {
  return graceMs <= 0 ? 'the old ones stopped working at once' : `the old ones keep working for ${formatLongDurationMs(graceMs)}`;
}
