/**
 * `functions [list]`, `functions show <name>`: the workspace's functions, one with its contract card;
 * `functions pause|resume <name>` and `functions delete <name>`: the API's pause, resume and DELETE;
 * `functions rotate-token <name>`: a new invoke token.
 */
import { startedCell } from '../version-start.js';
import { selfCommandOf } from '../self-command.js';
import { flag, positionals, str, type ParsedArgs } from '../args.js';
import { checkFunctionName } from '../function-name.js';
import { clientOf, type Command, type Context } from '../context.js';
import { contractLines } from '../contract.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import { confirmOrStop } from '../confirm.js';
import { table } from '../output.js';
import { DEFAULT_WORKSPACE, FUNCTION_NAME, functionKey } from '../../protocol/index.js';
import { describeSettings, saveInvokeToken } from './deploy.js';
import type { ApiVersionSummary } from '../client.js';

const VERBS = ['list', 'show', 'pause', 'resume', 'delete', 'rotate-token'] as const;

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  // No API moves a function between workspaces (its key, URLs, runs and audit are the workspace's):
  // said with the way to do it (new-user round 16: a lead got only the list of verbs). Alone,
  // `functions move` still shows a function named move.
  const first = args.positionals[0];
  if ((first === 'move' || first === 'transfer') && args.positionals.length > 1) throw usageError(`no command moves a function to another workspace (its URL, runs, versions and audit entries belong to this one): deploy its folder with a token of the other (\`deploy --profile <other>\`, or -w <other> with the admin token), set its env and secrets there (\`env pull <name>\` here, \`env push <name> --profile <other>\`; secrets again by hand), then \`functions delete <name>\` here (docs/cli.md, "workspaces")`);
  let pos = positionals(args, 2, 'functions');
  // `functions my-fn` shows it, as `env my-fn` lists its env and `runs <id>` shows a run; a word
  // close to a verb (`shop`, `puase`) too, and when no function has that name the error names the verb.
  const implicit = pos[0] !== undefined && pos[1] === undefined && !(VERBS as readonly string[]).includes(pos[0]) && FUNCTION_NAME.test(pos[0]);
  if (implicit) pos = ['show', pos[0]!];
  const verb = pos[0] ?? 'list';
  if (!(VERBS as readonly string[]).includes(verb)) throw usageError(`unknown subcommand ${JSON.stringify(verb)}${didYouMean(verb, VERBS)}; functions ${VERBS.join('|')}`);
  if (verb !== 'list' && pos[1] === undefined) throw usageError(`functions ${verb} needs a function name: fastapi-platform functions ${verb} <name>`);
  if (verb !== 'list') checkFunctionName(pos[1]!);
  if (str(args, 'note') !== undefined && verb !== 'pause' && verb !== 'resume') throw usageError('--note goes with functions pause or resume');
  if (flag(args, 'yes') && verb !== 'delete') throw usageError('--yes goes with functions delete');
  const client = await clientOf(ctx, args);
  if (verb === 'list') {
    const { items } = await client.listFunctions();
    ctx.out.data({ ok: true, items });
    if (items.length === 0) ctx.out.line(`No functions in this workspace yet: ${selfCommandOf(ctx)} init my-fn, then deploy from its folder`);
    // "active" with version "-" read as serving; the console says "not deployed" too.
    else ctx.out.line(table(['NAME', 'STATUS', 'VERSION', 'SETTINGS'], items.map((f) => [f.name, f.activeVersion === null ? 'not deployed' : f.status, f.activeVersion === null ? '-' : String(f.activeVersion), describeSettings(f)])));
    // One left by a refused first deploy held a slot of the workspace's functions quota, unsaid (ADR 0170).
    const idle = items.filter((f) => f.activeVersion === null).map((f) => f.name);
    if (idle.length > 0) ctx.out.line(`Not deployed: ${idle.join(', ')} (${idle.length === 1 ? 'it counts' : 'each counts'} in the workspace's functions quota): deploy from ${idle.length === 1 ? 'its' : 'the'} folder, or remove with ${selfCommandOf(ctx)} functions delete <name>`);
    return EXIT.OK;
  }
  const name = pos[1]!;
  if (verb === 'pause' || verb === 'resume') {
    const note = str(args, 'note');
    const { function: fn } = verb === 'pause' ? await client.pause(name, note) : await client.resume(name, note);
    ctx.out.data({ ok: true, function: name, status: fn.status, activeVersion: fn.activeVersion });
    ctx.out.line(fn.status === 'paused'
      ? `Paused "${name}": calls (also /async/) answer 503 FUNCTION_PAUSED, its instances drain, cron triggers do not fire. Resume: ${selfCommandOf(ctx)} functions resume ${name}`
      : `Resumed "${name}": serving version ${fn.activeVersion ?? '-'} again.`);
    return EXIT.OK;
  }
  if (verb === 'rotate-token') {
    // The console had a button and the API a route; from the terminal a leaked invoke token needed
    // curl and the admin token (docs/adr/0048-newcomer-round-3.md).
    const found = await client.getFunction(name);
    if (found === null) throw new CliError(EXIT.API, 'FUNCTION_NOT_FOUND', `no function named "${name}" in this workspace`);
    if (found.function.auth !== 'token') throw usageError(`"${name}" is public (auth public): it has no invoke token to rotate; \`deploy --auth token\` makes it need one`);
    const { invokeToken, invokeTokenExpiresAt } = await client.rotateInvokeToken(name);
    await saveInvokeToken(ctx, args, functionKey(name, found.function.workspace ?? DEFAULT_WORKSPACE), invokeToken);
    ctx.out.data({ ok: true, function: name, invokeToken, ...(invokeTokenExpiresAt !== undefined ? { invokeTokenExpiresAt } : {}) });
    const saved = `saved to the credentials file for \`${selfCommandOf(ctx)} invoke\`; the old one stopped working`;
    // Piped (`TOKEN=$(… functions rotate-token …)`), the token alone (ADR 0199).
    ctx.out.shownOnce([`New invoke token for "${name}" (shown once; ${saved}):`], invokeToken, `New invoke token for "${name}" (shown once) is on stdout; ${saved}.`);
    // ADR 0074: issued by a token with an expiry, it ends with it.
    const ends = invokeTokenExpiresAt === undefined ? null : `It ends at ${new Date(invokeTokenExpiresAt).toISOString()}, with the token that made this call; rotate it with a token without an expiry for one that does not end.`;
    if (ends !== null && !ctx.out.json) {
      if (ctx.io.stdoutIsTTY === true) ctx.out.line(ends);
      else ctx.out.note(ends);
    }
    return EXIT.OK;
  }
  if (verb === 'delete') {
    // A name that is no function is said before any question (new-user round 9: `functions delete
    // my-fm` without a terminal answered CONFIRMATION_REQUIRED, "removes "my-fm" …", for a typo).
    if ((await client.getFunction(name)) === null) throw new CliError(EXIT.API, 'FUNCTION_NOT_FOUND', `no function named "${name}" in this workspace`);
    // Its database outlives it (docs/data-binding.md): said before and after, so nobody takes the
    // delete for the data's (or drops the data thinking the delete kept nothing). Best effort.
    const database = (await client.dataBinding(name).catch(() => null))?.database;
    const kept = database === undefined ? '' : `; its database "${database}" is kept (\`${selfCommandOf(ctx)} data drop ${database}\` removes it once no function uses it)`;
    await confirmOrStop(ctx, args, {
      question: `Delete function "${name}" with its versions, runs and invoke tokens${kept}? [y/N] `,
      noTerminal: `functions delete removes "${name}" with its versions, runs and invoke tokens${kept}: pass --yes to delete without asking (no terminal to ask on)`,
      declined: 'not confirmed; nothing was deleted',
    });
    await client.deleteFunction(name);
    ctx.out.data({ ok: true, function: name, deleted: true, ...(database !== undefined ? { keptDatabase: database } : {}) });
    ctx.out.line(`Deleted "${name}" with its versions, runs and invoke tokens${kept}.`);
    return EXIT.OK;
  }
  const found = await client.getFunction(name);
  if (found === null && implicit && didYouMean(name, VERBS) !== '') throw usageError(`no function named "${name}" in this workspace, and no subcommand "${name}"${didYouMean(name, VERBS)}; functions ${VERBS.join('|')}`);
  if (found === null) throw new CliError(EXIT.API, 'FUNCTION_NOT_FOUND', `no function named "${name}" in this workspace`);
  // `rollback --to N` needs the numbers, and the paused hint of `invoke` sends here for who paused
  // it: both were nowhere in the CLI (docs/adr/0055-newcomer-round-4.md).
  const [versions, deploys] = await Promise.all([client.listVersions(name, SHOWN), client.listDeploys(name, SHOWN)]);
  ctx.out.data({ ok: true, ...found, versions, deploys });
  // Never deployed: "active" (its status) read as serving; the listing says "not deployed".
  const state = found.function.activeVersion === null ? 'not deployed' : `${found.function.status}, version ${found.function.activeVersion}`;
  ctx.out.line(`${found.function.name}  (${state}, workspace ${found.function.workspace ?? 'default'})`);
  // Only the URLs that take its calls (ADR 0046): an async-only function's /fn/ answers 409.
  if (found.function.invocation !== 'async') ctx.out.line(`URL:     ${found.invokeUrl}`);
  if (found.hostUrl !== undefined) ctx.out.line(`Host:    ${found.hostUrl}  (at / of its own host, as under uvicorn)`);
  if (found.asyncUrl !== undefined && found.function.invocation !== 'sync') ctx.out.line(`Async:   ${found.asyncUrl}`);
  if (found.function.invocation !== 'both') ctx.out.line(`Calls:   ${found.function.invocation} only (the other route answers 409 INVOCATION_MODE_NOT_ALLOWED; invocation: both takes either)`);
  if (found.contract !== undefined) for (const line of contractLines(found.contract)) ctx.out.line(line);
  if (versions.length > 0) {
    ctx.out.line();
    ctx.out.line(`Versions (newest ${versions.length}; \`rollback ${name} --to N\` makes one active):`);
    const changed = (v: ApiVersionSummary) => `+${v.changes.added.length} ~${v.changes.modified.length} -${v.changes.removed.length}`;
    ctx.out.line(indent(table(['VERSION', '', 'STARTED', 'CREATED (UTC)', 'BY', 'FILES', 'NOTE'], versions.map((v) => [
      String(v.version), v.version === found.function.activeVersion ? 'active' : '', startedCell(v), utc(v.createdAt), v.createdBy, changed(v), v.note,
    ]))));
  }
  if (deploys.length > 0) {
    ctx.out.line();
    ctx.out.line(`Deploy log (newest ${deploys.length}):`);
    ctx.out.line(indent(table(['WHEN (UTC)', 'ACTION', 'VERSION', 'BY', 'NOTE'], deploys.map((d) => [
      utc(d.at), d.action, d.fromVersion === d.toVersion ? String(d.toVersion ?? '-') : `${d.fromVersion ?? '-'} → ${d.toVersion ?? '-'}`, d.actor, d.note,
    ]))));
  }
  return EXIT.OK;
}

/** How many versions and deploy-log entries `functions show` prints. */
const SHOWN = 5;

function utc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

function indent(text: string): string {
  return text.replace(/\n$/, '').split('\n').map((l) => `  ${l}`).join('\n');
}

export const functionsCommand: Command = {
  name: 'functions',
  summary: "list the workspace's functions, show one with its URL and contract card, pause, resume or delete one",
  usage: 'functions [list] | functions [show] <name> | functions pause|resume <name> [--note TEXT] | functions delete <name> [--yes] | functions rotate-token <name>',
  examples: [
    'functions',
    'functions show my-fn',
    'functions pause my-fn --note \'bad deploy\'',
    'functions delete my-fn --yes',
    'functions rotate-token my-fn',
  ],
  details: [
    '`functions <name>` is `functions show <name>` (when no function has that name and it is close to a',
    'subcommand, the error names the subcommand).',
    'pause: calls answer 503 FUNCTION_PAUSED, instances drain, cron triggers stop; resume serves the',
    'active version again (role deployer). delete removes the function with its versions, deploy log,',
    'runs and invoke tokens (role owner); it asks first, or takes --yes. rotate-token: a new invoke token',
    'for an auth: token function, shown once and saved for invoke; the old one stops working at once (role deployer).',
  ].join('\n'),
  options: {
    note: { type: 'string', value: 'TEXT', description: 'with pause or resume: a note for the deploy log' },
    yes: { type: 'boolean', description: 'with delete: do not ask' },
  },
  run,
};
