/**
 * The `fastapi-platform` command. `main(argv)` parses, dispatches and maps every failure to a
 * documented exit code (docs/cli.md); bin/fastapi-platform.js calls it with process.argv.
 */
import { fstatSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { flag, formatOptions, GLOBAL_OPTIONS, parseCommandArgs, splitCommand, type ParsedArgs } from './args.js';
import { loadCliEnv, PACKAGE_ROOT } from './config.js';
import type { Command, Context } from './context.js';
import { CliError, EXIT, usageError } from './errors.js';
import { documentError } from './json-document.js';
import { folderNotDeployed } from './folder-scope.js';
import { Output, type Io } from './output.js';
import { processOutput } from './process-io.js';
import { PythonChecker, pythonPath } from './python.js';
import { selfCommand, spelledAs } from './self-command.js';
import { didYouMean, elsewhereText, nearFunctionName, nearWorkspaceName, workspacesHolding, workspaceTokenElsewhere } from './suggest.js';
import { safeLines, terminalSafe } from './terminal.js';

/**
 * The commands, each loaded when it runs: a command's module brings what it needs (`up` the
 * platform, `deploy` the manifest parser and the preflight), and nothing of the others. Loading
 * all of them cost ~70 ms of CPU at every start (bench/README.md, section 9); `--help` loads all.
 */
/**
 * A subcommand typed as a command (`delete shop`, as `vercel remove`/`fly apps destroy` users do):
 * the command it belongs to (newcomer round 12: `delete` got only the list of commands).
 */
const SUBCOMMAND_OF: Readonly<Record<string, string>> = {
  delete: 'functions delete', remove: 'functions delete', pause: 'functions pause', resume: 'functions resume',
  show: 'functions show', 'rotate-token': 'functions rotate-token', replay: 'runs replay', cancel: 'runs cancel',
  'rotate-secret': 'triggers rotate-secret',
};

/**
 * Other tools' words for a command this CLI names otherwise, too far apart for `didYouMean`
 * (new-user round 8: `stats` got only the list of commands).
 */
const OTHER_TOOLS_WORD: Readonly<Record<string, string>> = {
  stats: 'usage', metrics: 'usage', ls: 'functions', list: 'functions', history: 'runs', call: 'invoke',
  new: 'init', start: 'up', serve: 'dev', revert: 'rollback',
  // A secret is an env value stored encrypted: where it is set, not only the command (new-user round 10).
  secrets: 'env set <name> NAME=… --secret', secret: 'env set <name> NAME=… --secret',
};

/**
 * Other tools' commands this CLI has no one command for, with the ones that do their job
 * (new-user round 15: `status`, `doctor` and `completion` got only the list of commands).
 */
const OTHER_TOOLS_JOB: Readonly<Record<string, string>> = {
  status: '`functions show <name>` shows a function\'s state, URL and limits, `usage <name>` its calls, `whoami` the platform and token in use',
  doctor: '`whoami` checks the platform and the token, `validate [dir]` a function folder',
  completion: 'there is no shell completion script: each command\'s `--help` lists its options, and a mistyped command or option names the one meant',
};

/** The usage error for a command name the CLI does not have, with the one meant when it can tell. */
function unknownCommand(name: string): CliError {
  // Own keys only: `constructor` named Object's source as the command meant (new-user round 15).
  const own = (table: Readonly<Record<string, string>>): string | undefined => (Object.hasOwn(table, name) ? table[name] : undefined);
  const sub = own(SUBCOMMAND_OF) ?? own(OTHER_TOOLS_WORD);
  const job = own(OTHER_TOOLS_JOB);
  const meant = sub !== undefined ? `; did you mean \`${sub}\`?` : job !== undefined ? `; ${job}` : didYouMean(name, COMMANDS.map((c) => c.name));
  return usageError(`unknown command ${JSON.stringify(name)}${meant}; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
}

export interface CommandEntry {
  name: string;
  load: () => Promise<Command>;
  /**
   * It checks a folder with runtime/validate.py: the interpreter is started before the command
   * loads, so Python's start-up runs beside Node's loading of the command's modules instead of
   * after it (bench/README.md, section 9), and the check itself is a request to a ready process.
   */
  python?: true;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'init', load: async () => (await import('./commands/init.js')).initCommand },
  { name: 'validate', load: async () => (await import('./commands/validate.js')).validateCommand, python: true },
  { name: 'dev', load: async () => (await import('./commands/dev.js')).devCommand },
  { name: 'deploy', load: async () => (await import('./commands/deploy.js')).deployCommand, python: true },
  { name: 'invoke', load: async () => (await import('./commands/invoke.js')).invokeCommand },
  { name: 'functions', load: async () => (await import('./commands/functions.js')).functionsCommand },
  { name: 'env', load: async () => (await import('./commands/env.js')).envCommand },
  { name: 'logs', load: async () => (await import('./commands/logs.js')).logsCommand },
  { name: 'runs', load: async () => (await import('./commands/runs.js')).runsCommand },
  { name: 'triggers', load: async () => (await import('./commands/triggers.js')).triggersCommand },
  { name: 'data', load: async () => (await import('./commands/data.js')).dataCommand },
  { name: 'usage', load: async () => (await import('./commands/usage.js')).usageCommand },
  { name: 'rollback', load: async () => (await import('./commands/rollback.js')).rollbackCommand },
  { name: 'versions', load: async () => (await import('./commands/versions.js')).versionsCommand },
  { name: 'up', load: async () => (await import('./commands/up.js')).upCommand },
  { name: 'login', load: async () => (await import('./commands/login.js')).loginCommand },
  { name: 'logout', load: async () => (await import('./commands/login.js')).logoutCommand },
  { name: 'whoami', load: async () => (await import('./commands/whoami.js')).whoamiCommand },
  { name: 'workspaces', load: async () => (await import('./commands/workspaces.js')).workspacesCommand },
  { name: 'tokens', load: async () => (await import('./commands/tokens.js')).tokensCommand },
  { name: 'audit', load: async () => (await import('./commands/audit.js')).auditCommand },
];

export function cliVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export async function topHelp(): Promise<string> {
  const commands = await Promise.all(COMMANDS.map((c) => c.load()));
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'fastapi-platform: deploy and operate Python functions',
    '',
    'Usage: fastapi-platform <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options (anywhere on the line):',
    formatOptions(GLOBAL_OPTIONS),
    '',
    'Exit codes: 0 ok, 1 failed (the command, or the function called), 2 usage error, 3 validation failed,',
    '4 refused by the platform (API or gateway: auth, not found, paused, a limit), 5 platform unreachable.',
    'With --json: one object on stdout with ok; a list in items; a failure in error {code, message, exitCode}.',
    'Run `fastapi-platform <command> --help` for a command\'s options. Documentation: docs/cli.md.',
    '',
  ].join('\n');
}

export function commandHelp(c: Command): string {
  const options = Object.keys(c.options).length > 0 ? ['', 'Options:', formatOptions(c.options)] : [];
  return [
    `fastapi-platform ${c.name}: ${c.summary}`,
    '',
    `Usage: fastapi-platform ${c.usage}`,
    ...options,
    '',
    'Global options:',
    formatOptions(GLOBAL_OPTIONS),
    ...(c.details ? ['', c.details] : []),
    '',
    'Examples:',
    ...c.examples.map((e) => `  fastapi-platform ${e}`),
    '',
  ].join('\n');
}

export interface MainOptions {
  io: Io;
  env: Record<string, string | undefined>;
  cwd: string;
  waitForSignal: () => Promise<string>;
}

/** Runs one command line; returns the exit code. Never throws. */
export async function main(argv: readonly string[], options: MainOptions): Promise<number> {
  const json = argv.includes('--json');
  const out = new Output(options.io, json);
  // Computed once, when a note or an error first names a command (a PATH look-up).
  let self: string | undefined;
  out.spell = (text) => text.includes('fastapi-platform') ? spelledAs(text, self ??= selfCommand(options.env['PATH'], options.cwd)) : text;
  let python: PythonChecker | null = null;
  try {
    const { command: name, rest } = splitCommand(argv);
    if (name === null || name === 'help') {
      const about = name === 'help' ? rest.find((a) => !a.startsWith('-')) : undefined;
      const topic = about !== undefined ? COMMANDS.find((c) => c.name === about) : undefined;
      // `help deplyo`: the command meant, as `deplyo` alone says it (it printed the CLI's help, exit 0).
      if (about !== undefined && topic === undefined) throw unknownCommand(about);
      if (rest.includes('--version')) {
        options.io.stdout(`${cliVersion()}\n`);
        return EXIT.OK;
      }
      const asked = name === 'help' || rest.includes('--help') || rest.includes('-h');
      // `--json` alone: the usage error as the one JSON document, not the help text.
      if (!asked && json) throw usageError(`no command given; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
      options.io.stdout(topic ? commandHelp(await topic.load()) : await topHelp());
      return asked ? EXIT.OK : EXIT.USAGE;
    }
    const entry = COMMANDS.find((c) => c.name === name);
    if (entry === undefined) throw unknownCommand(name);
    const env = loadCliEnv(options.env, homedir());
    const onlyHelp = rest.some((a) => a === '--help' || a === '-h' || a === '--version');
    if (entry.python === true && !onlyHelp) python = new PythonChecker().start(pythonPath(env.python));
    const command = await entry.load();
    const args = parseCommandArgs(rest, command.options, command.name, command.usage);
    if (flag(args, 'help')) {
      options.io.stdout(commandHelp(command));
      return EXIT.OK;
    }
    if (flag(args, 'version')) {
      options.io.stdout(`${cliVersion()}\n`);
      return EXIT.OK;
    }
    if (command.streams?.(args) === true) out.streams();
    const ctx: Context = { out, io: options.io, env, cwd: options.cwd, now: Date.now, waitForSignal: options.waitForSignal, ...(python !== null ? { python: python.check } : {}) };
    return await command.run(ctx, args).catch(async (err: unknown) => { throw notThePlatform(ctx, err) ?? await withSuggestion(ctx, args, err); });
  } catch (err) {
    return report(out, err);
  } finally {
    python?.close();
  }
}

/**
 * A command that failed on an answer it could not read, from a server that is not a fastapi-platform
 * (no `FP-API` header): that server named, not a stack trace of the CLI (`FP_URL` at a FastAPI app of
 * the user's own, :8000, answered `GET /api/v1/functions` with JSON of its own: "TypeError: page.items
 * is not iterable"). A refusal without a platform's code (HTTP_404) from it the same. Null when the
 * error is the CLI's own or a platform's, or every answer was the platform's.
 */
function notThePlatform(ctx: Context, err: unknown): CliError | null {
  const foreign = ctx.foreignAnswer;
  // A platform's refusal has its own code; HTTP_404 is an answer without one. A 5xx without one is
  // most often a proxy in front of a platform that is down: its own message says so already.
  if (foreign === undefined || (err instanceof CliError && err.code !== 'BAD_RESPONSE' && !/^HTTP_4\d\d$/.test(err.code))) return null;
  // A 413 without FP-API is a proxy's own body limit (nginx's default, 1m), in front of a platform
  // that answered the requests before it: "not a fastapi-platform" sent the operator to check the
  // URL (ops round 5). The platform's own 413s carry their code (PAYLOAD_TOO_LARGE, BUNDLE_…).
  if (err instanceof CliError && err.code === 'HTTP_413') {
    return new CliError(EXIT.API, err.code, `a server in front of the platform at ${foreign.url} (a reverse proxy) refused ${foreign.request} as too large (413, without the platform's FP-API header): raise its body limit to the platform's (nginx: \`client_max_body_size 70m;\`, README "Production mode")`, { url: foreign.url, request: foreign.request });
  }
  const why = err instanceof Error ? err.message : String(err);
  return new CliError(EXIT.API, 'BAD_RESPONSE', `the server at ${foreign.url} is not a fastapi-platform (or one older than this CLI): it answered ${foreign.request} without the platform's FP-API header (${why}). Is --url, FP_URL or the profile's URL the platform's address? \`up\` prints it; an app of your own answers at its own port`, { url: foreign.url, request: foreign.request });
}

/**
 * A FUNCTION_NOT_FOUND for a name one or two letters from a function of the workspace (`my-fm`)
 * gets `did you mean "my-fn"?`; a WORKSPACE_NOT_FOUND the same from the workspaces the token may list. Best effort: a listing that fails leaves the error as it was.
 */
async function withSuggestion(ctx: Context, args: ParsedArgs, err: unknown): Promise<unknown> {
  if (!(err instanceof CliError) || (err.code !== 'FUNCTION_NOT_FOUND' && err.code !== 'WORKSPACE_NOT_FOUND')) return err;
  // The name came from the folder's platform.yaml, not a typo: not deployed here (no "did you mean").
  const folder = folderNotDeployed(ctx, args.positionals, err);
  if (folder !== null) return folder;
  const asked = /"([a-z0-9][a-z0-9-]*)"/.exec(err.message)?.[1];
  if (asked === undefined) return err;
  const own = err.code === 'WORKSPACE_NOT_FOUND' ? await workspaceTokenElsewhere(ctx, args, asked) : null;
  if (own !== null) {
    return new CliError(err.exitCode, err.code, `the token in use is a workspace token of "${own}", and a workspace token acts in its own workspace only (another's is "not found" to it, whether or not it exists): leave out --workspace (or FP_WORKSPACE, or the profile's workspace) to act in "${own}", or use a token of "${asked}" (save one with \`fastapi-platform login <url> --profile <name>\`, which asks for the token) or the admin token`, { ...err.details, tokenWorkspace: own });
  }
  const near = err.code === 'FUNCTION_NOT_FOUND' ? await nearFunctionName(ctx, args, asked) : await nearWorkspaceName(ctx, args, asked);
  if (near === null && err.code === 'FUNCTION_NOT_FOUND') {
    // Not a typo: maybe another workspace's (deployed with its token, asked with the admin token's default).
    const holding = await workspacesHolding(ctx, args, asked);
    return holding.length === 0 ? err : new CliError(err.exitCode, err.code, `${err.message.replace(/; deploy it first$/, '')}${elsewhereText(holding)}`, { ...err.details, workspaces: holding });
  }
  if (near === null) return err;
  // "deploy it first" is advice for a name nothing is near; the one meant exists (`env my-fm`).
  const message = err.message.replace(/; deploy it first$/, '');
  return new CliError(err.exitCode, err.code, `${message}; did you mean ${JSON.stringify(near)}?`, { ...err.details, suggestion: near });
}

/**
 * What to do next after a "not found" (a typo, most often) or a refusal the API names in its own
 * words only: added to the message unless it already says where to look (it names a command).
 */
function nextStep(code: string, details: Record<string, unknown>): string | null {
  switch (code) {
    case 'FUNCTION_NOT_FOUND': return 'the `functions` command lists this workspace\'s functions; --workspace or --profile picks another';
    case 'WORKSPACE_NOT_FOUND': return 'the `workspaces` command lists them';
    case 'TOKEN_NOT_FOUND': return 'the `tokens` command lists the live ones (--all: revoked ones too)';
    case 'VERSION_NOT_FOUND': return `the \`versions ${typeof details['function'] === 'string' ? details['function'] : '<fn>'}\` command lists its versions`;
    case 'WORKSPACE_NOT_EMPTY': return `delete its functions first (\`functions -w ${typeof details['workspace'] === 'string' ? details['workspace'] : '<workspace>'}\` lists them)`;
    case 'ROLE_FORBIDDEN': return roleNextStep(details['required']);
    default: return null;
  }
}

/**
 * Who can give the role a refusal names (new-user round 6: a second developer's viewer token read
 * "this call needs the role deployer or above; the token has viewer" and nothing of where one comes from).
 */
function roleNextStep(required: unknown): string {
  const check = '`whoami` shows the token in use';
  // New-user round 13: a service's first start writes it to FP_ADMIN_TOKEN_FILE instead (the systemd unit's
  // /etc/fastapi-platform/admin-token), and an admin who lost it needs the rotation, not a search of the journal.
  if (required === 'root') return `only the admin token may (the platform printed it at its first start, or wrote it to the file FP_ADMIN_TOKEN_FILE names, /etc/fastapi-platform/admin-token under the systemd unit, and \`up\` saved it as the default profile; lost: \`node dist/platform/main.js --rotate-admin-token\` on the platform's host, docs/platform.md): pass it with --token or FP_TOKEN, or --profile its profile; ${check}`;
  const role = typeof required === 'string' ? required : '<role>';
  return `an owner of the workspace (or the admin token, with -w <workspace>) creates ${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role} token with \`fastapi-platform tokens create --role ${role}\`; ${check}`;
}

function report(out: Output, err: unknown): number {
  const known = err instanceof CliError ? err : null;
  const code = known?.code ?? 'INTERNAL_ERROR';
  const exit = known?.exitCode ?? EXIT.FAILURE;
  const hint = known !== null && !known.message.includes('`') && known.details['suggestion'] === undefined ? nextStep(code, known.details) : null;
  const message = out.spell(known ? `${known.message}${hint !== null ? `; ${hint}` : ''}` : `unexpected error: ${(err as Error | undefined)?.stack ?? String(err)}`);
  if (out.json) out.data({ ok: false, error: documentError(code, message, exit, known?.details) });
  // Every stable code is shown, the CLI's own too (UNREACHABLE, PYTHON_UNAVAILABLE, …: docs/errors.md
  // says how to fix each); a usage error's `USAGE` says nothing its message does not. The message
  // and code are escaped: they quote what others wrote (an answer of the server at --url, a path,
  // a folder's file names), which must not drive the terminal (red team round 11).
  else out.io.stderr(`error: ${safeLines(message, 16_384)}${known !== null && code !== 'USAGE' ? ` [${terminalSafe(String(code))}]` : ''}\n`);
  return exit;
}

/** What fd 0 is (Io.stdinKind). */
function stdinKind(): 'tty' | 'file' | 'pipe' | 'other' {
  if (process.stdin.isTTY) return 'tty';
  try {
    const st = fstatSync(0);
    return st.isFile() ? 'file' : st.isFIFO() || st.isSocket() ? 'pipe' : 'other';
  } catch {
    return 'other';
  }
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Resolves on the first SIGINT/SIGTERM, or when stdout's reader is gone (`closed`: a command that
 * runs until stopped stops then, as on Ctrl-C); a signal after that exits at once (130).
 */
function waitForSignal(closed: Promise<string>): Promise<string> {
  return new Promise((resolvePromise) => {
    let stopped = false;
    const first = (signal: string): void => {
      if (stopped) return;
      stopped = true;
      process.removeListener('SIGINT', first);
      process.removeListener('SIGTERM', first);
      const again = (): never => process.exit(130);
      process.once('SIGINT', again);
      process.once('SIGTERM', again);
      resolvePromise(signal);
    };
    process.once('SIGINT', first);
    process.once('SIGTERM', first);
    void closed.then(first);
  });
}

/** A y/N question on the terminal (stderr, so --json output stays clean); only yes/y is yes. */
async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** A secret typed on the terminal, not echoed (cli/secret-prompt.ts); Ctrl-C interrupts as it would outside raw mode. */
async function readSecret(prompt: string): Promise<string> {
  const { readHidden } = await import('./secret-prompt.js');
  const value = await readHidden(process.stdin, (t) => process.stderr.write(t), prompt, () => process.kill(process.pid, 'SIGINT'));
  // Interrupted: the SIGINT ends the process (exit 130) before this resolves anything.
  return value ?? new Promise<string>(() => undefined);
}

/** The process entry (bin/fastapi-platform.js): real stdio, environment, signals. */
export async function runFromProcess(): Promise<void> {
  const output = processOutput();
  process.exitCode = await main(process.argv.slice(2), {
    io: { stdout: output.stdout, stderr: output.stderr, readStdin, stdinKind: stdinKind(), stdoutIsTTY: process.stdout.isTTY === true, ...(process.stdin.isTTY ? { confirm, readSecret } : {}) },
    env: process.env,
    cwd: process.cwd(),
    waitForSignal: () => waitForSignal(output.closed),
  });
}
