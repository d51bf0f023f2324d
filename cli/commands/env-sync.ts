/**
 * `env pull <fn>` and `env push <fn>`: a function's environment to and from a local `.env`
 * (dotenv format, cli/dotenv.ts; docs/cli.md, docs/secrets.md).
 *
 * pull writes the plain values and lists secrets by name only (`# secret: NAME`): a secret's value
 * never leaves the platform, so it is never on disk by this command. It refuses to replace a file
 * that exists unless --force (no merge: the file is the function's state at pull time).
 *
 * push makes the function's configuration what the file says: plain env = platform.yaml's `env`
 * (when a platform.yaml of this function is in the directory: what `deploy` would set) overridden by
 * the file's plain values; values marked `# secret` on their line, or named with --as-secret, are set as
 * secrets. Plain values not in either are removed; secrets not in the file are kept (remove one with
 * `env unset`). It shows the diff (secret values never), asks (or --yes), and applies it as one
 * PATCH: new instances get it at their next cold start, no redeploy.
 */
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { flag, list, str, type ParsedArgs } from '../args.js';
import type { ApiClient, ApiFunction } from '../client.js';
import { clientOf, targetOf, type Context } from '../context.js';
import { dotenvText, dotenvTree, formatDotenv, parseDotenv, type DotenvFile } from '../dotenv.js';
import { smallFileText } from '../small-file.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { confirmOrStop } from '../confirm.js';
import { MANIFEST_FILE, readManifestFile } from '../manifest-file.js';
import { terminalSafe } from '../terminal.js';
import { selfCommandOf, shellWord } from '../self-command.js';
import { functionFolderOf, functionFoldersIn, functionOfFolder } from '../folder-function.js';
import { envStartFailure } from '../start-check.js';
import { ENV_NAME } from '../../protocol/index.js';

export const DEFAULT_ENV_FILE = '.env';

/** What a push changes, by name; plain values with their old and new text. */
export interface EnvDiff {
  added: { name: string; value: string }[];
  changed: { name: string; from: string; to: string }[];
  removed: { name: string; value: string }[];
  /** Secrets set from the file (new or replaced: a secret's value cannot be compared). */
  secretsSet: { name: string; was: 'new' | 'secret' | 'plain' }[];
  /** Secrets that become plain values (the file gives them unmarked). */
  secretsToPlain: string[];
  /** Secrets on the platform the file does not name (left as they are). */
  secretsKept: string[];
  /** The plain env after the push. */
  env: Record<string, string>;
}

/** The desired state (plain base + file) against the function's: pure. */
export function envDiff(current: { env: Record<string, string>; secrets: readonly string[] }, base: Record<string, string>, file: DotenvFile, secretNames: ReadonlySet<string>): EnvDiff {
  const env: Record<string, string> = { ...base };
  const secrets = new Map<string, string>();
  for (const e of file.entries) {
    if (e.secret || secretNames.has(e.name)) {
      secrets.set(e.name, e.value);
      delete env[e.name];
    } else {
      env[e.name] = e.value;
    }
  }
  const wasSecret = new Set(current.secrets);
  const diff: EnvDiff = { added: [], changed: [], removed: [], secretsSet: [], secretsToPlain: [], secretsKept: [], env };
  for (const name of Object.keys(env).sort()) {
    const before = current.env[name];
    if (wasSecret.has(name)) diff.secretsToPlain.push(name);
    if (before === undefined) diff.added.push({ name, value: env[name]! });
    else if (before !== env[name]) diff.changed.push({ name, from: before, to: env[name]! });
  }
  for (const name of Object.keys(current.env).sort()) {
    if (!(name in env) && !secrets.has(name)) diff.removed.push({ name, value: current.env[name]! });
  }
  for (const name of [...secrets.keys()].sort()) diff.secretsSet.push({ name, was: wasSecret.has(name) ? 'secret' : name in current.env ? 'plain' : 'new' });
  for (const name of [...wasSecret].sort()) if (!secrets.has(name) && !(name in env)) diff.secretsKept.push(name);
  return diff;
}

export function diffIsEmpty(d: EnvDiff): boolean {
  return d.added.length + d.changed.length + d.removed.length + d.secretsSet.length + d.secretsToPlain.length === 0;
}

/** The diff for people: plain values shown (escaped), secret values never. */
export function formatDiff(d: EnvDiff): string[] {
  const show = (v: string): string => terminalSafe(JSON.stringify(v), 200);
  const lines: string[] = [];
  for (const a of d.added) lines.push(`  + ${a.name}=${show(a.value)}${d.secretsToPlain.includes(a.name) ? '  (was a secret)' : ''}`);
  for (const c of d.changed) lines.push(`  ~ ${c.name}: ${show(c.from)} → ${show(c.to)}`);
  for (const r of d.removed) lines.push(`  - ${r.name} (was ${show(r.value)})`);
  for (const s of d.secretsSet) lines.push(`  ${s.was === 'secret' ? '~' : '+'} ${s.name} (secret: value hidden${s.was === 'secret' ? ', replaced' : s.was === 'plain' ? ', was a plain value' : ''})`);
  for (const name of d.secretsToPlain) if (!d.added.some((a) => a.name === name)) lines.push(`  ~ ${name} (secret → plain value)`);
  return lines;
}

function functionName(args: ParsedArgs, action: string): string {
  const name = args.positionals[1];
  if (name === undefined) throw usageError(`env ${action} needs the function name: fastapi-platform env ${action} <fn> (or run it in the function's folder, where its platform.yaml is)`);
  if (args.positionals.length > 2) throw usageError(`unexpected argument ${JSON.stringify(args.positionals[2])}`);
  return name;
}

async function current(client: ApiClient, name: string): Promise<ApiFunction> {
  const found = await client.getFunction(name);
  if (found === null) throw new CliError(EXIT.API, 'FUNCTION_NOT_FOUND', `no function named "${name}"; deploy it first`);
  return found.function;
}

/** Writes `text` to `path` with mode 0600: a new file only (O_EXCL: never through a link), or replaced whole with `force`. */
async function writeEnvFile(path: string, text: string, force: boolean): Promise<void> {
  if (!force) {
    let handle;
    try {
      handle = await open(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(EXIT.FAILURE, 'ENV_FILE_EXISTS', `${path} exists; nothing was written (--force replaces it, --file writes elsewhere, --file - prints it)`);
      throw new CliError(EXIT.FAILURE, 'ENV_FILE_INVALID', `cannot write ${path}: ${(err as Error).message}`);
    }
    try {
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
    return;
  }
  // A fresh file next to it, renamed over it: the old one (or a link in its place) is replaced, not written through.
  const temp = join(dirname(path), `.env.fp-${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw new CliError(EXIT.FAILURE, 'ENV_FILE_INVALID', `cannot write ${path}: ${(err as Error).message}`);
  }
}

/** A note when a .gitignore next to the file does not mention .env. */
async function gitignoreNote(ctx: Context, dir: string): Promise<void> {
  const text = await smallFileText(join(dir, '.gitignore'), 1024 * 1024, null, ''); // not /dev/zero's 2 GiB (red team round 39)
  if (typeof text !== 'string') return;
  if (!text.split(/\r?\n/).some((l) => /^\/?\.env\*?$/.test(l.trim()))) ctx.out.note('note: .gitignore here does not list .env; add it so the file is not committed');
}

export async function pull(ctx: Context, args: ParsedArgs): Promise<number> {
  const name = functionName(args, 'pull');
  const client = await clientOf(ctx, args);
  const fn = await current(client, name);
  const secrets = [...(fn.secrets ?? [])].sort();
  const env = Object.fromEntries(Object.entries(fn.env).filter(([key]) => !secrets.includes(key)));
  const { target } = await targetOf(ctx, args);
  const file = str(args, 'file') ?? DEFAULT_ENV_FILE;
  // The command that applies it, as the CLI runs here and with the file it reads (ADR 0040): the
  // bare `fastapi-platform env push <fn>` of a `--file prod.env` pull read .env (new-user round 4).
  const fp = selfCommandOf(ctx);
  const push = `${fp} env push ${name}${file === DEFAULT_ENV_FILE || file === '-' ? '' : ` --file ${shellWord(file)}`}`;
  const text = formatDotenv([
    `Environment of "${name}" at ${target.url}, pulled ${new Date(ctx.now()).toISOString()} by \`${fp} env pull\`.`,
    'Plain values below. Secrets are listed by name only: their values never leave the platform.',
    `\`${push}\` applies this file; mark a value \`# secret\` on its line to push it as a secret.`,
  ], env, secrets);
  if (file === '-') {
    // --json: one document, the file's text in it (never the text alone).
    if (ctx.out.json) ctx.out.data({ ok: true, function: name, file: '-', env, secrets, text });
    // On a terminal a value's control characters are shown escaped, as every table shows them (a
    // value holding ESC [ 31m coloured the screen); to a pipe or a file, the file as it is.
    else ctx.io.stdout(ctx.io.stdoutIsTTY === true ? text.split('\n').map((line) => terminalSafe(line, Infinity)).join('\n') : text);
    return EXIT.OK;
  }
  const path = resolve(ctx.cwd, file);
  await writeEnvFile(path, text, flag(args, 'force'));
  ctx.out.data({ ok: true, function: name, file: path, env, secrets });
  ctx.out.line(`Wrote ${path}: ${Object.keys(env).length} value${Object.keys(env).length === 1 ? '' : 's'}${secrets.length > 0 ? `; secrets by name only: ${secrets.join(', ')}` : ''}.`);
  await gitignoreNote(ctx, dirname(path));
  if (file === DEFAULT_ENV_FILE) folderNote(ctx, name, path);
  return EXIT.OK;
}

/**
 * Pulled beside the function's folder (`env pull my-fn` in the folder holding `my-fn/`): `dev` and
 * `env push` in that folder read the .env there, not this one (new-user round 9: the values went to
 * the parent and dev never saw them). Said, with the --file that writes it there.
 */
function folderNote(ctx: Context, name: string, path: string): void {
  const dir = dirname(path);
  if (functionFolderOf(dir) !== null) return;
  const folders = functionFoldersIn(dir).filter((sub) => functionOfFolder(join(dir, sub)) === name);
  const folder = folders.includes(name) ? name : folders[0];
  if (folder === undefined) return;
  const there = relative(ctx.cwd, join(dir, folder, basename(path)));
  ctx.out.note(`note: "${name}" has its folder here, ${folder}/, where dev and env push read their .env; \`--file ${shellWord(there)}\` writes it there`);
}

/** platform.yaml's env (resolved like deploy does) when the directory has this function's manifest; else {}. */
async function manifestBase(ctx: Context, dir: string, name: string): Promise<{ env: Record<string, string>; used: boolean }> {
  const read = await readManifestFile(dir, ctx.env.manifestEnv);
  if (read.raw === null && read.problems[0]?.message.startsWith('not found')) return { env: {}, used: false };
  if (read.manifest === null) {
    const p = read.problems[0]!;
    throw new CliError(EXIT.INVALID, 'BAD_MANIFEST', `${MANIFEST_FILE}${p.line !== null ? `:${p.line}` : ''}: ${p.path ? `${p.path}: ` : ''}${p.message} (--no-manifest pushes the .env alone)`);
  }
  if (read.manifest.name !== name) return { env: {}, used: false };
  return { env: { ...read.manifest.env }, used: true };
}

export async function push(ctx: Context, args: ParsedArgs): Promise<number> {
  const name = functionName(args, 'push');
  const named = str(args, 'file');
  const fileArg = named ?? DEFAULT_ENV_FILE;
  const path = resolve(ctx.cwd, fileArg);
  // The folder's own .env is read as `dev` reads it (inside its repository: a hostile clone's link to
  // ~/.aws/credentials was pushed into its function); a file named with --file wherever it is.
  const text = await dotenvText(path, named === undefined ? await dotenvTree(ctx.cwd) : null);
  if (text === null) throw new CliError(EXIT.FAILURE, 'ENV_FILE_INVALID', `cannot read ${path}: no such file (create it, or \`env pull\` it first)`);
  if (typeof text !== 'string') throw new CliError(EXIT.FAILURE, 'ENV_FILE_INVALID', `${path} ${text.refused}`);
  const file = parseDotenv(text);
  if (file.problems.length > 0) {
    // Each line's problem (at most 10), as validate lists them: "(and 1 more)" named no line (new-user round 9).
    const shown = file.problems.slice(0, 10).map((p) => `${fileArg}:${p.line}: ${p.message}`);
    const more = file.problems.length - shown.length;
    throw new CliError(EXIT.FAILURE, 'ENV_FILE_INVALID', `${shown.join('\n')}${more > 0 ? `\n(and ${more} more)` : ''}\nnothing was pushed; fix ${file.problems.length === 1 ? 'it' : 'them'} and push again`, { problems: file.problems });
  }
  const secretNames = new Set(list(args, 'as-secret'));
  for (const s of secretNames) {
    if (!ENV_NAME.test(s)) throw usageError(`--as-secret ${JSON.stringify(s)} is not an env name`);
    if (!file.entries.some((e) => e.name === s)) throw usageError(`--as-secret ${s}: ${fileArg} gives no value for ${s}`);
  }
  const base = flag(args, 'no-manifest') ? { env: {}, used: false } : await manifestBase(ctx, ctx.cwd, name);
  const client = await clientOf(ctx, args);
  const fn = await current(client, name);
  const diff = envDiff({ env: fn.env, secrets: fn.secrets ?? [] }, base.env, file, secretNames);
  const summary = {
    added: diff.added.map((a) => a.name), changed: diff.changed.map((c) => c.name), removed: diff.removed.map((r) => r.name),
    secretsSet: diff.secretsSet.map((s) => s.name), secretsToPlain: diff.secretsToPlain, secretsKept: diff.secretsKept,
  };
  const dryRun = flag(args, 'dry-run');
  const source = `${fileArg}${base.used ? ` over ${MANIFEST_FILE}'s env` : ''}`;
  if (diffIsEmpty(diff)) {
    ctx.out.data({ ok: true, function: name, applied: false, dryRun, changes: summary, env: diff.env });
    ctx.out.line(`"${name}" already has the env of ${source}; nothing to push.`);
    return EXIT.OK;
  }
  if (!ctx.out.json) {
    ctx.out.line(`Changes to "${name}" from ${source}:`);
    for (const line of formatDiff(diff)) ctx.out.line(line);
    if (diff.secretsKept.length > 0) ctx.out.line(`  (secrets not in the file, kept: ${diff.secretsKept.join(', ')})`);
  }
  if (dryRun) {
    ctx.out.data({ ok: true, function: name, applied: false, dryRun, changes: summary, env: diff.env });
    ctx.out.line('Dry run: nothing applied.');
    return EXIT.OK;
  }
  await confirmOrStop(ctx, args, {
    question: `Apply these changes to "${name}"? [y/N] `,
    noTerminal: 'env push changes the function: pass --yes to apply without asking (no terminal to ask on), or --dry-run to only see the diff',
    declined: 'not confirmed; nothing was changed',
  });
  const secrets: Record<string, string | null> = {};
  for (const s of file.entries) if (s.secret || secretNames.has(s.name)) secrets[s.name] = s.value;
  for (const plain of diff.secretsToPlain) secrets[plain] = null;
  const envChanged = diff.added.length + diff.changed.length + diff.removed.length > 0;
  // The whole env goes, made from the env the diff was shown against: on the condition that it is
  // still that env (ADR 0159), or a value set meanwhile elsewhere would be removed without a word.
  const ifMatch = envChanged && fn.settingTags?.env !== undefined ? { ifMatch: { env: fn.settingTags.env } } : {};
  try {
    await client.updateFunction(name, { ...(envChanged ? { env: diff.env } : {}), ...(Object.keys(secrets).length > 0 ? { secrets } : {}), ...ifMatch, check: !flag(args, 'no-check') });
  } catch (err) {
    if (err instanceof CliError && err.code === 'SETTING_CONFLICT') {
      throw new CliError(EXIT.API, 'SETTING_CONFLICT', `the env of "${name}" changed since this diff was read (another \`env\` command, a console tab or a deploy); nothing was applied: run \`env push\` again to see the diff against it`, err.details);
    }
    throw envStartFailure(ctx.out, err, selfCommandOf(ctx));
  }
  ctx.out.data({ ok: true, function: name, applied: true, dryRun: false, changes: summary, env: diff.env });
  ctx.out.line(`Applied to "${name}". New instances start with the new values at their cold start; warm instances finish their calls and are replaced (no redeploy needed).`);
  const beyondManifest = Object.entries(diff.env).some(([key, value]) => base.env[key] !== value);
  if (envChanged && beyondManifest) ctx.out.note(`note: \`deploy\` sets plain env from ${MANIFEST_FILE} and replaces these values; keep them in ${MANIFEST_FILE} (or push again after deploying), or mark them # secret.`);
  return EXIT.OK;
}
