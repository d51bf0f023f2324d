/**
 * The platform's start check as `deploy` and `rollback` report it (docs/api.md, "Deploys"): a
 * line for a version that loaded, and for one that did not (DEPLOY_START_FAILED) what its load
 * printed and its traceback, then the refusal with how to go on.
 */
import { RESERVED_ENV_PREFIX } from '../protocol/index.js';
import type { ApiStartReport } from './client.js';
import { CliError } from './errors.js';
import type { Output } from './output.js';
import { safeLines, terminalSafe } from './terminal.js';

/** The line after "Version N deployed": how the check went. */
export function startLine(start: ApiStartReport): string {
  if (!start.checked) return `Start check: not made (${terminalSafe(start.reason)}); the first call shows whether it loads.`;
  const line = `Start check: it loaded in ${start.initMs} ms (then stopped: the first call starts it).`;
  // Its process could not be a template: each instance it scales out to loads it again (ADR 0201).
  return start.noTemplate === undefined ? line
    : `${line}\nwarning: scale-out: no instance can be forked from a template, so each new instance loads it again: ${terminalSafe(start.noTemplate)}`;
}

/**
 * A DEPLOY_START_FAILED refusal: the load's lines and traceback said first (the function's own
 * text, control characters shown escaped), then the error with `next` (what to do). Anything else
 * passes through unchanged.
 */
export function startFailure(out: Output, err: unknown, next: string, self = 'fastapi-platform'): unknown {
  if (!(err instanceof CliError) || err.code !== 'DEPLOY_START_FAILED') return err;
  for (const line of loadReport(err)) out.note(line);
  const hint = errorHint(err.details, self);
  return new CliError(err.exitCode, err.code, `${safeLines(err.message)}${hint !== null ? `\n${hint}` : ''}\n${next}`, err.details);
}

/**
 * The same refusal for `env set`, `env unset` and `env push`, which start the deployed version with
 * the new values first: the load's report and the hints as deploy gives them (dx round 4: they
 * showed the traceback without the import hint). The command is not repeated: it may hold a secret.
 */
export function envStartFailure(out: Output, err: unknown, self = 'fastapi-platform'): unknown {
  return startFailure(out, err, 'Fix the value, or run the command again with --no-check to change it anyway (its next cold start then fails the same way).', self);
}

/**
 * When the load failed on env the function does not have (apps round 13): `os.environ["NAME"]`'s
 * KeyError, or a pydantic-settings model's required fields, what sets them. `deploy` sends
 * platform.yaml's `env:` and never reads `.env`, so an app that ran under uvicorn with a `.env`
 * (or an exported variable) stops here with only a traceback. Null for any other failure.
 */
export function missingEnvHint(details: Record<string, unknown>, self: string, where: 'deploy' | 'dev' = 'deploy'): string | null {
  const cause = details.cause as { type?: unknown; message?: unknown; stack?: unknown } | undefined;
  const type = typeof cause?.type === 'string' ? cause.type : '';
  const message = typeof cause?.message === 'string' ? cause.message : '';
  const stack = typeof cause?.stack === 'string' ? cause.stack : '';
  const fn = typeof details.function === 'string' ? details.function : '<function>';
  let names: string[] = [];
  let what = '';
  const key = /^'([A-Za-z_][A-Za-z0-9_]*)'$/.exec(message);
  if (type === 'KeyError' && key !== null && /environ\s*\[/.test(stack)) {
    names = [key[1]!];
    what = `It reads env ${names[0]}, which the function does not have`;
  } else if (type === 'ValidationError' && stack.includes('pydantic_settings')) {
    // pydantic's text: the field's name on a line of its own, then "  Field required [type=missing".
    const lines = message.split('\n');
    const fields = lines.flatMap((l, i) => (i > 0 && /^\s+Field required \[type=missing/.test(l) && /^[A-Za-z_][\w.]*$/.test(lines[i - 1]!) ? [lines[i - 1]!] : []));
    if (fields.length === 0) return null;
    names = fields.map((f) => f.split('.')[0]!.toUpperCase());
    what = `Its settings (pydantic-settings) need ${fields.join(', ')}, read from env ${names.join(', ')} (case-insensitive, after the model's env_prefix), which the function does not have`;
  } else return null;
  const reserved = names.filter((n) => n.startsWith(RESERVED_ENV_PREFIX));
  if (reserved.length > 0) {
    // The platform's own names (a data binding's FP_MONGO_URI, the CLI's FP_TOKEN): no env or
    // secret can set one (the API refuses the name), and a hint to "set a secret FP_TOKEN=…" in a
    // run any workspace member may read asked for the reader's token (red team round 16).
    return `${terminalSafe(what)}: names starting with ${RESERVED_ENV_PREFIX} are the platform's, and no env or secret sets them `
      + `(${reserved.map((n) => terminalSafe(n)).join(', ')}). FP_MONGO_URI and FP_MONGO_DATABASE come with a data binding (platform.yaml \`data:\`, docs/data-binding.md); for anything else, rename the variable.`;
  }
  const first = terminalSafe(names[0]!);
  // dev reads the folder's .env (new-user round 9: dev said nothing, so the fix was a guess).
  if (where === 'dev') return `${terminalSafe(what)}: dev sets the folder's .env and platform.yaml's \`env:\`. Add ${first}=… to .env (dev reloads on save), or to platform.yaml's \`env:\` to deploy ${names.length === 1 ? 'it' : 'them'} too.`;
  return `${terminalSafe(what)}: deploy sets platform.yaml's \`env:\` and does not read .env. Add ${names.length === 1 ? 'it' : 'them'} there, or set a secret with \`${self} env set ${terminalSafe(fn)} ${first}=… --secret\` (docs/secrets.md).`;
}

/** A DEPLOY_START_FAILED refusal's load lines and traceback, as lines to print (escaped); none for another error. */
export function loadReport(err: unknown): string[] {
  if (!(err instanceof CliError) || err.code !== 'DEPLOY_START_FAILED') return [];
  const out: string[] = [];
  const logs = Array.isArray(err.details.logs) ? (err.details.logs as { stream?: unknown; msg?: unknown }[]) : [];
  if (logs.length > 0) {
    out.push('What its load printed (last lines):');
    for (const l of logs) out.push(`  ${terminalSafe(String(l.msg ?? ''))}`);
  }
  const cause = err.details.cause as { stack?: unknown } | undefined;
  if (typeof cause?.stack === 'string' && cause.stack !== '') for (const line of cause.stack.trimEnd().split('\n')) out.push(terminalSafe(line));
  return out;
}

/**
 * A server socket the box refused (apps round 14): a function may not listen (docs/security.md,
 * seccomp), so `multiprocessing.Manager()`, whose server process listens on a Unix socket, dies
 * at its start and the app sees only `EOFError` with no message; the `forkserver` start method
 * (Python 3.14's default on Linux), `multiprocessing.connection.Listener` and the app's own
 * `sock.listen()` / `sock.bind(("127.0.0.1", 0))` get `PermissionError: [Errno 1]`. Under uvicorn
 * all of them work. Null for any other failure.
 */
/** How the runtime's hint on a refused listen begins (runtime/fp_runtime/errors.py `_user_hint`). */
const RUNTIME_LISTEN_HINT = 'a function may not listen on a socket';

export function listenHint(details: Record<string, unknown>): string | null {
  const cause = details.cause as { type?: unknown; message?: unknown; stack?: unknown } | undefined;
  const type = typeof cause?.type === 'string' ? cause.type : '';
  const message = typeof cause?.message === 'string' ? cause.message : '';
  const stack = typeof cause?.stack === 'string' ? cause.stack : '';
  // The runtime's own words in the message (fp_runtime/errors.py `_user_hint`, a forkserver or a
  // Manager refused its listen): said once, there.
  if (message.includes(RUNTIME_LISTEN_HINT)) return null;
  const manager = type === 'EOFError' && /multiprocessing[/\\]managers\.py", line \d+, in start\b/.test(stack);
  const refused = type === 'PermissionError' && /^\[Errno 1\] /.test(message)
    && (/multiprocessing[/\\](forkserver|connection)\.py"/.test(stack) || /\.(listen|bind)\([^\n]*\n(?:\s*[~^]+\n)?\s*PermissionError\b/.test(stack));
  if (!manager && !refused) return null;
  return 'A function cannot listen on a socket, nor bind an inet one (docs/security.md, "System calls"): multiprocessing\'s Manager() starts a server process that listens, and so do the forkserver start method and multiprocessing.connection.Listener; the box refused it, where uvicorn allowed it. '
    + 'For a process pool use mp.get_context("fork") or ("spawn") (Pool, ProcessPoolExecutor(mp_context=…), Queue and Lock work); for state shared between calls use the data binding (docs/data-binding.md): a Manager\'s state would be one instance\'s anyway.';
}

/**
 * An import the load could not find (new-user round 3): `ModuleNotFoundError: No module named
 * 'humanize'` ended with "Fix it and deploy again", and validate's warning about the import had
 * scrolled away above the traceback. Says where a module comes from on the platform. Null for any
 * other failure.
 */
export function missingModuleHint(details: Record<string, unknown>): string | null {
  const cause = details.cause as { type?: unknown; message?: unknown } | undefined;
  const message = typeof cause?.message === 'string' ? cause.message : '';
  const name = /^No module named '([A-Za-z_][\w.]*)'/.exec(message)?.[1];
  if (cause?.type !== 'ModuleNotFoundError' || name === undefined) return null;
  const top = name.split('.')[0]!;
  return `It imports ${name}, which the function's environment does not have: a package goes in requirements.txt (by its distribution's name, which may differ from the module's: pyyaml for yaml, Pillow for PIL; docs/dependencies.md), `
    + `which the platform installs at deploy; a module of your own (${top}) must be among the uploaded files (not left out by .platformignore or a dot-folder).`;
}

/**
 * A relative import the load refused (new-user round 11): `from .routers import items` in a module
 * at the folder's top, which is in no package (as under `uvicorn main:app`), or `from ..x` above the
 * top package. The traceback said only "attempted relative import with no known parent package".
 * Null for any other failure.
 */
export function relativeImportHint(details: Record<string, unknown>): string | null {
  const cause = details.cause as { type?: unknown; message?: unknown } | undefined;
  const message = typeof cause?.message === 'string' ? cause.message : '';
  if (cause?.type !== 'ImportError' || !/^attempted relative import (with no known parent package|beyond top-level package)/.test(message)) return null;
  return 'A relative import (`from .x import y`) works in a module of a package only: a module at the function folder\'s top (main.py, entrypoint main:app) is imported as a top-level module, in no package, as `uvicorn main:app` imports it. '
    + 'Import it by its name (`from x import y`: the folder is on the import path), or keep the code in a package folder (app/__init__.py, app/main.py) with entrypoint: app.main:app, as `uvicorn app.main:app` runs it (docs/fastapi-app.md).';
}

/**
 * What the CLI adds under a failure's error, for every command that reports one (deploy, rollback,
 * env set/unset/push, `runs <id>`, dev): env the load lacked, a module it could not import, a relative
 * import outside a package, a refused listen; else null. `dev: true` gives dev's env hint (the folder's
 * .env, which deploy does not read).
 */
export function errorHint(details: Record<string, unknown>, self: string, options: { dev?: boolean } = {}): string | null {
  return missingEnvHint(details, self, options.dev === true ? 'dev' : 'deploy') ?? missingModuleHint(details) ?? relativeImportHint(details) ?? listenHint(details);
}
