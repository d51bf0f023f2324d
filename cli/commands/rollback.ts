/** `rollback <name> [--to N]`: re-deploys the previous (or a named) version. */
import { flag, positionals, type ParsedArgs } from '../args.js';
import { checkFunctionName } from '../function-name.js';
import { clientOf, type Command, type Context } from '../context.js';
import { EXIT, usageError } from '../errors.js';
import { selfCommandOf } from '../self-command.js';
import { startFailure, startLine } from '../start-check.js';
import { functionOfFolder } from '../folder-function.js';

/** A version number as the CLI takes it. */
const VERSION_TEXT = /^[1-9]\d{0,8}$/;

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  const given = positionals(args, 2, 'rollback');
  // `rollback my-fn 1`, as `versions delete my-fn 1` takes its version (new-user round 10: it was
  // "unexpected argument"); a number alone in a function's folder is the version too.
  const [first, second] = given.length === 1 && VERSION_TEXT.test(given[0]!) && functionOfFolder(ctx.cwd) !== null ? [undefined, given[0]] : given;
  const name = first ?? functionOfFolder(ctx.cwd) ?? undefined;
  if (name === undefined) throw usageError('rollback needs the function name: fastapi-platform rollback <name> [VERSION] (or run it in a function\'s folder)');
  checkFunctionName(name);
  if (second !== undefined && args.values.to !== undefined) throw usageError(`the version is given twice (${JSON.stringify(second)} and --to): give one`);
  const toText = second ?? args.values.to;
  if (toText !== undefined && (typeof toText !== 'string' || !VERSION_TEXT.test(toText))) {
    throw usageError(`${second !== undefined ? 'the version' : '--to'} must be a version number (1, 2, …; \`fastapi-platform versions ${name}\` lists them), got ${JSON.stringify(toText)}`);
  }
  const target = toText === undefined ? undefined : Number(toText);
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
  summary: 'deploy the previous version again (or the one given)',
  usage: 'rollback <name> [VERSION | --to VERSION] [--no-check]',
  examples: [
    'rollback my-fn',
    'rollback my-fn 3',
  ],
  details: [
    "In a function's folder (platform.yaml with name: in the current directory) the name may be left out.",
    'The version is given as an argument or with --to (the same). Without one: the newest version below the active one that served before (one never deployed, e.g.',
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
