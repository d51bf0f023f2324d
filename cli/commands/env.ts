/**
 * `env set|unset|list|pull|push <fn>`: a function's environment — plain `env` values and write-only
 * `secrets` (docs/cli.md, docs/secrets.md); `pull` and `push` sync it with a local `.env`
 * (./env-sync.ts). Each name lives in one place: setting it as a secret
 * removes it from the plain env and the other way round. Changes reach new instances (the next
 * cold start) without a redeploy. Secret values are never printed, not even in --json.
 */
import { flag, type ParsedArgs } from '../args.js';
import { checkFunctionName } from '../function-name.js';
import type { ApiClient, ApiFunction } from '../client.js';
import { clientOf, type Command, type Context } from '../context.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { functionFolderOf, functionOfFolder } from '../folder-function.js';
import { didYouMean } from '../suggest.js';
import { selfCommandOf } from '../self-command.js';
import { envStartFailure } from '../start-check.js';
import { table } from '../output.js';
import { ENV_NAME, FUNCTION_NAME, reservedEnvName } from '../../protocol/index.js';
import { pull, push } from './env-sync.js';

const HIDDEN = '(hidden)';
/** When a change of `count` values reaches the function: `get` (set) or `lose` (unset) them. */
function applies(verb: 'get' | 'lose', count: number): string {
  return `New instances ${verb === 'get' ? 'get' : 'start without'} ${count === 1 ? 'it' : 'them'} at their cold start; warm instances finish their calls and are replaced (no redeploy needed).`;
}

function functionName(args: ParsedArgs, action: string): string {
  const name = args.positionals[1];
  if (name === undefined) throw usageError(`env ${action} needs the function name: fastapi-platform env ${action} <fn> …${action === 'list' ? ' (or run it in a function\'s folder)' : ''}`);
  // `env set API_KEY=x` outside a function's folder: the name comes first.
  if ((action === 'set' || action === 'unset') && !FUNCTION_NAME.test(name) && /^[A-Za-z_][A-Za-z0-9_]*(=|$)/.test(name)) {
    throw usageError(`env ${action} needs the function name before ${JSON.stringify(name)}: fastapi-platform env ${action} <fn> ${name.includes('=') ? 'NAME=value' : 'NAME'} (or run it in a function's folder)`);
  }
  checkFunctionName(name);
  return name;
}

function validName(name: string): string {
  if (!ENV_NAME.test(name)) throw usageError(`${JSON.stringify(name)} is not an env name: letters, digits and _, not starting with a digit`);
  return name;
}

/** A name to set: valid and not reserved (a reserved one may still be unset: functions from before the rule). */
function checkedName(name: string): string {
  const reserved = reservedEnvName(validName(name));
  if (reserved !== null) throw usageError(`${name}: ${reserved}`);
  return name;
}

async function current(client: ApiClient, name: string): Promise<ApiFunction> {
  const found = await client.getFunction(name);
  if (found === null) throw new CliError(EXIT.API, 'FUNCTION_NOT_FOUND', `no function named "${name}"; deploy it first`);
  return found.function;
}

/** `NAME=value` pairs; a lone `NAME` takes its value from stdin (so it stays out of shell history). */
async function assignments(ctx: Context, items: readonly string[]): Promise<Map<string, string>> {
  if (items.length === 0) throw usageError('env set needs NAME=value (or NAME alone to read the value from stdin)');
  const out = new Map<string, string>();
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq === -1) {
      if (items.length > 1) throw usageError(`${JSON.stringify(item)}: give NAME=value, or a single NAME to read its value from stdin`);
      const key = checkedName(item);
      if (ctx.io.stdinKind === 'tty' && ctx.io.readSecret !== undefined) {
        // On a terminal: typed without echo, as a password (it stays off the screen and out of shell history).
        const typed = await ctx.io.readSecret(`Value of ${key} (not shown as you type; Enter ends it): `);
        if (typed === '') throw usageError(`${key}: no value was typed; type it at the prompt, give it with \`< file\` or a pipe, or write ${key}=value (${key}= for an empty value)`);
        out.set(key, typed);
        continue;
      }
      const value = (await ctx.io.readStdin()).toString('utf8').replace(/\r?\n$/, '');
      // An empty stdin is a forgotten `< file` (or `=`), not a value: `NAME=` sets an empty one on purpose.
      if (value === '') throw usageError(`${key}: stdin gave no value; give it with \`< file\` or a pipe, or write ${key}=value (${key}= for an empty value)`);
      out.set(key, value);
    } else {
      out.set(checkedName(item.slice(0, eq)), item.slice(eq + 1));
    }
  }
  return out;
}

/**
 * The change by name, merged on the server (`envChanges`, `secrets`): no read of the env first, so
 * a value set meanwhile by another client (another `env set`, a console tab) is kept (ADR 0159).
 * A name lives in one place: each value set removes the name from the other kind (a no-op there
 * when it is absent).
 */
async function set(ctx: Context, args: ParsedArgs): Promise<number> {
  const name = functionName(args, 'set');
  const values = await assignments(ctx, args.positionals.slice(2));
  const secret = flag(args, 'secret');
  const client = await clientOf(ctx, args);
  const names = [...values.keys()];
  const set = Object.fromEntries(values);
  const removed = Object.fromEntries(names.map((key) => [key, null]));
  await change(ctx, client, name, secret ? { secrets: set, envChanges: removed } : { envChanges: set, secrets: removed }, args);
  ctx.out.data({ ok: true, function: name, set: names, secret });
  ctx.out.line(`Set ${names.join(', ')}${secret ? ' (secret: stored encrypted, shown by name only)' : ''} on "${name}". ${applies('get', names.length)}`);
  // Both cases said (new-user round 6): the note told only to use --secret, also for a name
  // platform.yaml's env has, whose value the next deploy sets back.
  if (!secret) ctx.out.note('note: the next `fastapi-platform deploy` sets plain env from platform.yaml again: a name its env has gets that value back, one it lacks is removed; to keep a value, put it in platform.yaml, or set it with --secret.');
  return EXIT.OK;
}

/** `PATCH` with the changes by name; a function that is not there is said as `env list` says it. */
async function change(ctx: Context, client: ApiClient, name: string, patch: Record<string, unknown>, args: ParsedArgs): Promise<void> {
  try {
    await client.updateFunction(name, { ...patch, check: !flag(args, 'no-check') });
  } catch (err) {
    if (err instanceof CliError && err.code === 'FUNCTION_NOT_FOUND') throw new CliError(EXIT.API, 'FUNCTION_NOT_FOUND', `no function named "${name}"; deploy it first`);
    throw envStartFailure(ctx.out, err, selfCommandOf(ctx));
  }
}

async function unset(ctx: Context, args: ParsedArgs): Promise<number> {
  const name = functionName(args, 'unset');
  const names = args.positionals.slice(2).map(validName);
  if (names.length === 0) throw usageError('env unset needs at least one NAME');
  const client = await clientOf(ctx, args);
  // Read for the report alone (which names were set); the change is by name, so nothing set
  // meanwhile under another name is undone.
  const fn = await current(client, name);
  const secretNames = fn.secrets ?? [];
  const removed = names.filter((key) => Object.hasOwn(fn.env, key) || secretNames.includes(key));
  if (removed.length > 0) {
    const gone = (keys: readonly string[]) => Object.fromEntries(keys.map((key) => [key, null]));
    const inEnv = removed.filter((key) => Object.hasOwn(fn.env, key));
    const inSecrets = removed.filter((key) => secretNames.includes(key));
    await change(ctx, client, name, { ...(inEnv.length > 0 ? { envChanges: gone(inEnv) } : {}), ...(inSecrets.length > 0 ? { secrets: gone(inSecrets) } : {}) }, args);
  }
  const missing = names.filter((key) => !removed.includes(key));
  ctx.out.data({ ok: true, function: name, removed, notSet: missing });
  if (removed.length > 0) ctx.out.line(`Removed ${removed.join(', ')} from "${name}". ${applies('lose', removed.length)}`);
  if (missing.length > 0) ctx.out.line(`Not set on "${name}": ${missing.map((key) => `${key}${nearName(key, fn, removed)}`).join(', ')}.`);
  return EXIT.OK;
}

/**
 * ` (did you mean "GREETING"?)` after a name not set that is a slip from one that is (`GRETING`):
 * the unset exits 0 (nothing to remove), so without it a typo left the value in place unsaid
 * (new-user round 15). Names still set after this unset only.
 */
function nearName(key: string, fn: ApiFunction, removed: readonly string[]): string {
  const set = [...Object.keys(fn.env), ...(fn.secrets ?? [])].filter((k) => !removed.includes(k));
  const near = didYouMean(key, set);
  return near === '' ? '' : ` (${near.slice('; '.length)})`;
}

async function listEnv(ctx: Context, args: ParsedArgs): Promise<number> {
  const name = functionName(args, 'list');
  if (args.positionals.length > 2) throw usageError(`unexpected argument ${JSON.stringify(args.positionals[2])}`);
  const fn = await current(await clientOf(ctx, args), name);
  const secrets = [...(fn.secrets ?? [])].sort();
  ctx.out.data({ ok: true, function: name, env: fn.env, secrets });
  const rows = [
    ...Object.entries(fn.env).filter(([key]) => !secrets.includes(key)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => [key, 'env', value]),
    ...secrets.map((key) => [key, 'secret', HIDDEN]),
  ];
  ctx.out.line(rows.length === 0 ? `"${name}" has no env values and no secrets.` : table(['NAME', 'KIND', 'VALUE'], rows));
  return EXIT.OK;
}

async function run(ctx: Context, parsed: ParsedArgs): Promise<number> {
  const args = withFolderFunction(ctx, parsed);
  const action = args.positionals[0];
  if (action === 'set') return set(ctx, args);
  if (action === 'unset') return unset(ctx, args);
  if (action === 'list' || action === 'ls') return listEnv(ctx, args);
  if (action === 'pull' || action === 'push') {
    const name = args.positionals[1];
    if (name !== undefined) checkFunctionName(name);
    return action === 'pull' ? pull(ctx, args) : push(ctx, args);
  }
  // `env my-fn` lists, as `triggers my-fn` and `runs my-fn` do (a newcomer typed it first).
  if (action !== undefined && args.positionals.length === 1 && FUNCTION_NAME.test(action)) return listEnv(ctx, { ...args, positionals: ['list', action] });
  throw usageError(`env needs an action: set, unset, list, pull or push (got ${action === undefined ? 'none' : JSON.stringify(action)}${action === undefined ? '' : didYouMean(action, ['set', 'unset', 'list', 'pull', 'push'])})\nRun \`fastapi-platform env --help\` for usage.`);
}

/**
 * In a function's folder the name may be left out of `env`, `env list`, `env pull` and `env push`, as
 * of `logs` and `invoke` (new-user round 8: `env pull` there asked for it). `pull` and `push` read
 * and write `.env` where they run: the folder of platform.yaml itself, not a folder below it.
 * `set` and `unset` leave it out only when what follows cannot be a function's name (`API_KEY=…`,
 * `API_KEY`): `env unset shop` names the function `shop`.
 */
function withFolderFunction(ctx: Context, args: ParsedArgs): ParsedArgs {
  const [action, name] = args.positionals;
  if ((action === 'set' || action === 'unset') && name !== undefined && !FUNCTION_NAME.test(name)) {
    const here = functionOfFolder(ctx.cwd);
    return here === null ? args : { ...args, positionals: [action, here, ...args.positionals.slice(1)] };
  }
  if (name !== undefined || args.positionals.length > 1) return args;
  const here = action === 'pull' || action === 'push' ? (functionFolderOf(ctx.cwd) === ctx.cwd ? functionOfFolder(ctx.cwd) : null)
    : action === undefined || action === 'list' || action === 'ls' ? functionOfFolder(ctx.cwd) : null;
  return here === null ? args : { ...args, positionals: [action ?? 'list', here] };
}

export const envCommand: Command = {
  name: 'env',
  summary: 'set, unset, list, pull or push a function\'s env values and secrets (applies at the next cold start)',
  usage: 'env set <fn> NAME=value [NAME=value…] [--secret] | env unset <fn> NAME… | env [list] <fn> | env pull <fn> [--file F] [--force] | env push <fn> [--file F] [--as-secret NAME] [--dry-run] [--yes] [--no-manifest] [--no-check]',
  examples: [
    'env set my-fn GREETING=hi',
    'env set my-fn API_KEY --secret < api-key.txt',
    'env pull my-fn',
    'env push my-fn --dry-run',
  ],
  details: [
    'Secrets (--secret) are write-only: stored encrypted, listed by name only, never printed. A lone NAME',
    '(`env set <fn> DB_PASSWORD --secret < file`) reads the value from stdin, keeping it out of shell history;',
    'on a terminal it asks for it and reads it without echo, as a password prompt (Enter ends it).',
    'A name lives in one place: setting it as a secret removes the plain value and the other way round;',
    'a secret wins over a plain value of the same name. Plain env is also replaced by `deploy` from',
    'platform.yaml; secrets are left alone by deploys. Changes reach new instances without a redeploy:',
    'warm instances finish their calls and are replaced.',
    'In a function\'s folder (where its platform.yaml is) `env`, `env list`, `env pull` and `env push` may',
    'leave out <fn>: the folder\'s function (`env list` also below that folder), and so may `env set API_KEY=…`',
    'and `env unset API_KEY` (a name in capitals or with = or _ is no function\'s).',
    '',
    '`env pull` writes the plain values to .env (mode 0600) and lists secrets as `# secret: NAME` lines:',
    'secret values are never pulled. It refuses to replace an existing file unless --force.',
    '`env push` makes the function\'s env what .env says, over the env of platform.yaml when the folder',
    'has this function\'s platform.yaml (what deploy would set): plain values not in either are removed;',
    'a value marked `# secret` on its line (DB_PASSWORD=\'…\'  # secret) or named with --as-secret is',
    'set as a secret; secrets not in the file are kept (remove one with `env unset`). It shows the diff',
    '(secret values hidden) and asks before applying; --yes applies without asking, --dry-run only shows.',
    '',
    'set, unset and push start the deployed version with the new values first, as deploy does: a value it',
    'does not start with (a lifespan that raises on it) is refused (DEPLOY_START_FAILED, its load\'s lines,',
    'traceback and hint, as deploy shows them),',
    'nothing is changed and the function keeps serving. --no-check changes it anyway.',
  ].join('\n'),
  options: {
    secret: { type: 'boolean', description: 'with set: store the values as secrets (encrypted, shown by name only)' },
    file: { type: 'string', value: 'FILE', description: 'with pull/push: the dotenv file (default .env; pull --file - prints it)' },
    force: { type: 'boolean', description: 'with pull: replace the file if it exists' },
    'as-secret': { type: 'string', multiple: true, value: 'NAME', description: 'with push: push this value of the file as a secret' },
    'dry-run': { type: 'boolean', description: 'with push: show the diff, change nothing' },
    yes: { type: 'boolean', short: 'y', description: 'with push: apply without asking' },
    'no-manifest': { type: 'boolean', description: 'with push: ignore platform.yaml (push the file alone)' },
    'no-check': { type: 'boolean', description: 'with set, unset and push: change the values without starting the deployed version with them first' },
  },
  run,
};
