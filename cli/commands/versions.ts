/**
 * `versions [list] <name>`: a function's versions, newest first; `versions delete <name> <version>…`:
 * deletes versions (the API's DELETE …/versions/{version}; docs/adr/0098-deleting-versions.md).
 */
import { flag, int, positionals, type ParsedArgs } from '../args.js';
import { checkFunctionName } from '../function-name.js';
import { clientOf, type Command, type Context } from '../context.js';
import { confirmOrStop } from '../confirm.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { table } from '../output.js';
import { startedCell } from '../version-start.js';
import { terminalSafe } from '../terminal.js';
import { selfCommandOf } from '../self-command.js';
import { didYouMean } from '../suggest.js';
import { functionOfFolder } from '../folder-function.js';

const VERBS = ['list', 'delete'] as const;
const VERSION = /^[1-9]\d{0,8}$/;
/** Versions one `versions delete` takes (one request each). */
const MAX_AT_ONCE = 64;

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  let pos = positionals(args, 2 + MAX_AT_ONCE, 'versions');
  // `versions my-fn` lists, as `functions my-fn` shows.
  if (pos[0] === undefined || !(VERBS as readonly string[]).includes(pos[0])) {
    if (pos[0] !== undefined && didYouMean(pos[0], VERBS) !== '' && pos.length > 2) throw usageError(`unknown subcommand ${JSON.stringify(pos[0])}${didYouMean(pos[0], VERBS)}; versions ${VERBS.join('|')}`);
    pos = ['list', ...pos];
  }
  const verb = pos[0] as (typeof VERBS)[number];
  const name = pos[1] ?? functionOfFolder(ctx.cwd) ?? undefined;
  if (name === undefined) throw usageError(`versions ${verb} needs the function name: fastapi-platform versions ${verb} <name>${verb === 'delete' ? ' <version>…' : ''} (or run it in a function's folder)`);
  checkFunctionName(name);
  if (flag(args, 'yes') && verb !== 'delete') throw usageError('--yes goes with versions delete');
  if (args.values.limit !== undefined && verb !== 'list') throw usageError('--limit goes with versions list');
  const fp = selfCommandOf(ctx);
  if (verb === 'list') {
    if (pos.length > 2) throw usageError(`unexpected argument ${JSON.stringify(pos[2])}\nRun \`${fp} versions --help\` for usage.`);
    const client = await clientOf(ctx, args);
    const found = await client.getFunction(name);
    const items = await client.listVersions(name, int(args, 'limit', 100, 1, 1000));
    const active = found?.function.activeVersion ?? null;
    ctx.out.data({ ok: true, function: name, activeVersion: active, items });
    if (items.length === 0) {
      ctx.out.line(`"${name}" has no versions yet: deploy from its folder.`);
      return EXIT.OK;
    }
    ctx.out.line(table(['VERSION', '', 'STARTED', 'CREATED (UTC)', 'BY', 'FILES', 'BYTES', 'NOTE'], items.map((v) => [
      String(v.version), v.version === active ? 'active' : '', startedCell(v), new Date(v.createdAt).toISOString().slice(0, 16).replace('T', ' '), v.createdBy, String(v.fileCount), String(v.totalBytes), v.note,
    ])));
    // A version a deploy refused says so, with what the deploy answered (ADR 0252): it read as any other.
    for (const v of items) {
      if (v.startCheck?.ok !== false) continue;
      ctx.out.line(`Version ${v.version} did not start at its last deploy (${terminalSafe(v.startCheck.code ?? 'failed', 64)}, ${new Date(v.startCheck.at).toISOString().slice(0, 16).replace('T', ' ')} UTC): ${terminalSafe(v.startCheck.message ?? '', 400)}`);
    }
    return EXIT.OK;
  }
  const numbers = pos.slice(2);
  if (numbers.length === 0) throw usageError(`versions delete needs the version number(s): ${fp} versions delete ${name} <version>… (\`${fp} versions ${name}\` lists them)`);
  const bad = numbers.find((n) => !VERSION.test(n));
  if (bad !== undefined) throw usageError(`a version is a number (1, 2, …; \`${fp} versions ${name}\` lists them), got ${JSON.stringify(bad)}`);
  const versions = [...new Set(numbers.map(Number))];
  const what = `version${versions.length === 1 ? '' : 's'} ${versions.join(', ')} of "${name}"`;
  const client = await clientOf(ctx, args);
  // The active version is refused by the platform: said before the question, not after a "y"
  // (new-user round 3: the README's `versions delete my-fn 1` came right after a rollback to 1). An
  // unknown function is the API's FUNCTION_NOT_FOUND, before the question too.
  const active = (await client.request<{ function: { activeVersion: number | null } }>('GET', `/functions/${encodeURIComponent(name)}`)).function.activeVersion;
  if (active !== null && versions.includes(active)) {
    throw new CliError(EXIT.API, 'VERSION_ACTIVE', `version ${active} is the one ${name} serves: deploy or roll back to another first (\`${fp} versions ${name}\` lists them); nothing was deleted`, { function: name, version: active });
  }
  await confirmOrStop(ctx, args, {
    question: `Delete ${what}? Its code can no longer be deployed or rolled back to. [y/N] `,
    noTerminal: `versions delete removes ${what} for good: pass --yes to delete without asking (no terminal to ask on)`,
    declined: 'not confirmed; nothing was deleted',
  });
  const deleted: number[] = [];
  try {
    for (const version of versions) {
      await client.deleteVersion(name, version);
      deleted.push(version);
    }
  } finally {
    // Those deleted before one was refused are said too (the error follows).
    if (deleted.length > 0 && deleted.length < versions.length) ctx.out.line(`Deleted version${deleted.length === 1 ? '' : 's'} ${deleted.join(', ')} of "${name}".`);
  }
  ctx.out.data({ ok: true, function: name, deleted });
  ctx.out.line(`Deleted ${what}; the workspace's codeBytes no longer counts ${versions.length === 1 ? 'it' : 'them'}.`);
  return EXIT.OK;
}

export const versionsCommand: Command = {
  name: 'versions',
  summary: "list a function's versions, or delete ones no longer needed",
  usage: 'versions [list] <name> [--limit N] | versions delete <name> <version>… [--yes]',
  examples: [
    'versions my-fn',
    'versions delete my-fn 3',
    'versions delete my-fn 3 4 5 --yes',
  ],
  details: [
    "In a function's folder (platform.yaml with name: in the current directory) the name may be left out of list.",
    'list: newest first, the active one marked, with each version\'s files and bytes (what it counts in the',
    'workspace\'s codeBytes quota) and STARTED: what its last deploy or rollback found when it started it (ok;',
    'failed and the code, DEPLOY_START_FAILED or a dependency build\'s DEPS_*, said with its message under the',
    'table; - never checked). delete (role deployer) removes versions for good: they can no longer be',
    'deployed or rolled back to, and the workspace\'s codeBytes no longer counts them; their files go once no',
    'other version uses them. It asks first, or takes --yes. Refused: the active version (VERSION_ACTIVE:',
    'deploy or roll back to another first) and the version the console\'s draft is based on (VERSION_IN_USE).',
    'A call running on a deleted version finishes. Each deploy also deletes all but the last FP_KEEP_VERSIONS',
    '(default 20) versions, never the active one nor the one a bare `rollback` goes to (docs/cli.md).',
  ].join('\n'),
  options: {
    limit: { type: 'string', value: 'N', description: 'with list: at most N versions (default 100)' },
    yes: { type: 'boolean', description: 'with delete: do not ask' },
  },
  run,
};
