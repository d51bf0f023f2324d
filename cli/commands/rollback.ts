/** `rollback <name> [--to N]`: re-deploys the previous (or a named) version. */
import { flag, int, positionals, type ParsedArgs } from '../args.js';
import { checkFunctionName } from '../function-name.js';
import { clientOf, type Command, type Context } from '../context.js';
import { EXIT, usageError } from '../errors.js';
import { selfCommandOf } from '../self-command.js';
import { startFailure, startLine } from '../start-check.js';
import { functionOfFolder } from '../folder-function.js';

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  const name = positionals(args, 1, 'rollback')[0] ?? functionOfFolder(ctx.cwd) ?? undefined;
  if (name === undefined) throw usageError('rollback needs the function name: fastapi-platform rollback <name> [--to VERSION] (or run it in a function\'s folder)');
  checkFunctionName(name);
  const toText = args.values.to;
  if (toText !== undefined && (typeof toText !== 'string' || !/^[1-9]\d{0,8}$/.test(toText))) {
    throw usageError(`--to must be a version number (1, 2, …; \`fastapi-platform versions ${name}\` lists them), got ${JSON.stringify(toText)}`);
  }
  const target = toText === undefined ? undefined : int(args, 'to', 0, 1, Number.MAX_SAFE_INTEGER);
  const client = await clientOf(ctx, args);
  const fp = selfCommandOf(ctx);
  const { function: fn, deploy, start } = await client.rollback(name, target, !flag(args, 'no-check'))
    .catch((err: unknown) => {
      const again = `${fp} rollback ${name}${target !== undefined ? ` --to ${target}` : ''} --no-check`;
      throw startFailure(ctx.out, err, `Roll back to another version with --to (\`${fp} versions ${name}\` lists them), or \`${again}\` rolls back without this check.`, fp);
    });
  ctx.out.data({ ok: true, function: name, fromVersion: deploy.fromVersion, toVersion: deploy.toVersion, activeVersion: fn.activeVersion, status: fn.status, ...(start !== undefined ? { start } : {}) });
  const to = deploy.toVersion ?? fn.activeVersion ?? '-';
  // "Rolled back from version 1 to version 1" read as if something had changed.
  if (deploy.fromVersion !== null && deploy.fromVersion === deploy.toVersion) {
    ctx.out.line(`Version ${to} of "${name}" was already the active one: it stays active (\`functions show ${name}\` lists its versions).`);
    return EXIT.OK;
  }
  ctx.out.line(`Rolled back "${name}" from version ${deploy.fromVersion ?? '-'} to version ${to}.`);
  if (start !== undefined) ctx.out.line(startLine(start));
  // Only what a version holds comes back; a newcomer expected an env value changed by the last
  // deploy to come back too (docs/adr/0048-newcomer-round-3.md).
  ctx.out.line(`It now runs the code, triggers and data binding of version ${to}; settings (limits, invocation, auth), env and secrets stay as they are (\`deploy\` a folder, \`env set\` or \`env push\` to change them).`);
  return EXIT.OK;
}

export const rollbackCommand: Command = {
  name: 'rollback',
  summary: 'deploy the previous version again (or the one given with --to)',
  usage: 'rollback <name> [--to VERSION] [--no-check]',
  examples: [
    'rollback my-fn',
    'rollback my-fn --to 3',
  ],
  details: [
    "In a function's folder (platform.yaml with name: in the current directory) the name may be left out.",
    'Without --to: the newest version below the active one that served before (one never deployed, e.g.',
    'refused by its start check, is passed over). Versions are immutable, so a rollback is instant.',
    'A version holds the code, platform.yaml\'s triggers and its data binding: those come back. The',
    'function\'s settings (limits, invocation, auth), env and secrets are not part of a version and stay as they are.',
    'The platform starts the version before it serves it, as deploy does: one that does not load with',
    'today\'s env is refused (exit 4, DEPLOY_START_FAILED) and the active version keeps serving.',
  ].join('\n'),
  options: {
    to: { type: 'string', value: 'VERSION', description: 'the version number to make active' },
    'no-check': { type: 'boolean', description: 'roll back without starting the version first' },
  },
  run,
};
