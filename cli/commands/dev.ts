/**
 * `dev [dir]`: runs a function folder on a platform and redeploys it on every save, showing each
 * call as it happens. By default on a platform of its own, started in this process (cli/dev/local.ts:
 * the same runtime, sandbox, checks, limits and URLs as any platform, state in a temporary
 * folder); with --remote (or --url) on the platform the other commands use, under the function's
 * name. Decisions: docs/adr/0015-dev-loop.md.
 */
import { selfCommandOf } from '../self-command.js';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { flag, int, positionals, str, type ParsedArgs } from '../args.js';
import { ApiClient } from '../client.js';
import { targetOf, UNSAFE_WARNING, type Command, type Context } from '../context.js';
import { DEPS_BUILD_FAILED_LINE } from '../../protocol/index.js';
import { readDotenv } from '../dotenv.js';
import { readManifestFile } from '../manifest-file.js';
import { CliError, EXIT, isCliError, usageError } from '../errors.js';
import { describeIsolation } from '../../platform/index.js';
import { describeData } from '../describe-data.js';
import { CallPrinter } from '../dev/calls.js';
import { notAFolder } from '../folder-arg.js';
import { followRuns, type RunFollower } from '../dev/follow.js';
import { devDepsRoot, startLocal, type LocalPlatform } from '../dev/local.js';
import { Reloader } from '../dev/reload.js';
import { watchFolder, type FolderWatch } from '../dev/watch.js';

/** Quiet time after a change before reloading: an editor's save (temp file, rename) is one change. */
const SETTLE_MS = 15;
/** How often `--remote` asks the platform for new runs. */
const FOLLOW_INTERVAL_MS = 500;

async function folderOf(ctx: Context, args: ParsedArgs): Promise<string> {
  const [dirArg] = positionals(args, 1, 'dev');
  const dir = resolve(ctx.cwd, dirArg ?? '.');
  const info = await stat(dir).catch(() => null);
  if (info === null || !info.isDirectory()) throw notAFolder('dev', dirArg ?? '.', dir, ctx.cwd);
  return dir;
}

interface Session {
  client: ApiClient;
  /** Lines for the banner, after the first line. */
  banner: string[];
  /** The `started` event's fields. */
  started: Record<string, unknown>;
  dotenv: boolean;
  /** Starts showing calls of `functionName()`; local sessions show them from the start. */
  follow(functionName: () => string | null): RunFollower | null;
  close(): Promise<void>;
}

async function localSession(ctx: Context, args: ParsedArgs, dir: string, printer: CallPrinter): Promise<Session> {
  const port = str(args, 'port') === undefined ? undefined : int(args, 'port', 0, 0, 65535);
  const local: LocalPlatform = await startLocal({
    depsRoot: devDepsRoot(ctx.env.cacheDir, dir),
    platformEnv: ctx.env.platformEnv,
    runtimeEnv: ctx.env.runtimeEnv,
    port,
    host: str(args, 'host') ?? '127.0.0.1',
    unsafeNoSandbox: flag(args, 'unsafe-no-sandbox'),
    observer: { logs: (fn, runId, lines) => printer.logs(fn, runId, lines), run: (record) => printer.run(record) },
    // A failed dependency build is dev's own news (the `refused` it prints, reload.ts, with the
    // build's last lines): the platform's line for the operator said it a second time before.
    log: (line) => { if (!line.startsWith(DEPS_BUILD_FAILED_LINE)) ctx.out.note(line); },
  });
  const { platform } = local;
  if (platform.isolation.mode === 'off') ctx.out.note(UNSAFE_WARNING);
  return {
    client: new ApiClient(local.url, local.token),
    banner: [
      `  platform:  its own, in this process (state in ${local.stateDir}, removed at exit)`,
      local.depsCacheRefused !== null
        ? `  deps:      built in that state (the cache ${devDepsRoot(ctx.env.cacheDir, dir)} is not used: ${local.depsCacheRefused}; FP_CACHE_DIR names another)`
        : local.depsCacheBusy
          ? `  deps:      built in that state (another dev of this folder holds its cache, ${devDepsRoot(ctx.env.cacheDir, dir)})`
          : `  deps:      ${local.depsRoot} (kept: the next start reuses what it built)`,
      `  sandbox:   ${describeIsolation(platform.isolation)}`,
      `  data:      ${describeData(platform)}${platform.data?.backend === 'ferretdb' ? ': its own database, removed at exit with the state' : ''}`,
      `  API:       FP_URL=${local.url} FP_TOKEN=${local.token} ${selfCommandOf(ctx)} runs …`,
    ],
    started: { mode: 'local', url: local.url, port: platform.port, stateDir: local.stateDir, depsDir: local.depsRoot, ...(local.depsCacheRefused !== null ? { depsCacheRefused: local.depsCacheRefused } : {}), sandbox: platform.isolation, adminToken: local.token },
    dotenv: true,
    follow: () => null,
    close: () => local.close(),
  };
}

async function remoteSession(ctx: Context, args: ParsedArgs, dir: string, printer: CallPrinter): Promise<Session> {
  for (const local of ['port', 'host', 'unsafe-no-sandbox'] as const) {
    if (args.values[local] !== undefined) throw usageError(`--${local} is for the platform dev starts itself; with --remote the platform is already running`);
  }
  const { target } = await targetOf(ctx, args);
  // FP-Workspace when a workspace is named (an admin token acting in it); a workspace token acts in its own.
  const client = new ApiClient(target.url, target.token, () => ctx.out.note(UNSAFE_WARNING), target.workspace);
  // Fails now (exit 4 or 5) rather than on the first save: the platform is there and the token works.
  // Unreachable: dev needs no platform of its own making, said too (new-user round 9).
  await client.listRuns({ limit: 1 }).catch((err: unknown) => {
    throw isCliError(err) && err.code === 'UNREACHABLE' ? new CliError(err.exitCode, err.code, `${err.message} Or run \`${selfCommandOf(ctx)} dev\` without --remote or --url: it starts a platform of its own.`, err.details) : err;
  });
  const dotenvPresent = (await readDotenv(dir)).present;
  // The hint below is a command to run: with the function's name and the CLI as it runs here (ADR 0040).
  const raw = (await readManifestFile(dir, ctx.env.manifestEnv)).raw as { name?: unknown } | null;
  const fnName = typeof raw?.name === 'string' ? raw.name : '<name>';
  const since = ctx.now();
  return {
    client,
    banner: [
      `  platform:  ${target.url} (every valid save deploys a new version there)`,
      ...(dotenvPresent ? [`  .env:      not sent (its values stay on this machine); \`${selfCommandOf(ctx)} env set ${fnName} NAME=… --secret\` sets values there that reloads keep (plain env comes from platform.yaml at each one)`] : []),
    ],
    started: { mode: 'remote', url: target.url },
    dotenv: false,
    follow: (functionName) => followRuns({
      client, functionName, intervalMs: FOLLOW_INTERVAL_MS, since, onRun: (run) => printer.run(run),
      onError: (err) => ctx.out.note(`warning: cannot follow runs: ${err.message}`),
    }),
    close: async () => undefined,
  };
}

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  const dir = await folderOf(ctx, args);
  const remote = flag(args, 'remote') || str(args, 'url') !== undefined;
  // Only dev's own platform reads the folder's .env (the sessions' `dotenv`): the calls' env hints say so.
  const printer = new CallPrinter(ctx.out, { dotenv: !remote, self: selfCommandOf(ctx) });
  const signal = ctx.waitForSignal();
  const session = remote ? await remoteSession(ctx, args, dir, printer) : await localSession(ctx, args, dir, printer);
  let watch: FolderWatch | null = null;
  let follower: RunFollower | null = null;
  const reloader = new Reloader(ctx, { dir, client: session.client, dotenv: session.dotenv });
  try {
    ctx.out.event({ event: 'started', dir, ...session.started });
    ctx.out.line(`fastapi-platform dev: ${dir}`);
    for (const line of session.banner) ctx.out.line(line);
    ctx.out.line('  Reloads on every save; calls show here. Ctrl-C stops.');
    ctx.out.line();
    follower = session.follow(() => reloader.serving?.function ?? null);
    watch = watchFolder(dir, {
      settleMs: SETTLE_MS,
      onChange: (paths) => reloader.request(paths),
      onError: (err) => ctx.out.note(`warning: watching ${dir} failed: ${err.message}`),
    });
    reloader.request([]);
    const received = await signal;
    watch.close();
    watch = null;
    follower?.stop();
    follower = null;
    ctx.out.line(`\n${received}: stopping…`);
    reloader.stop();
    await reloader.idle();
  } finally {
    watch?.close();
    follower?.stop();
    reloader.close();
    await session.close();
  }
  ctx.out.event({ event: 'stopped' });
  ctx.out.line('Stopped.');
  return EXIT.OK;
}

export const devCommand: Command = {
  name: 'dev',
  summary: 'run a function folder locally and reload it on every save, showing each call',
  usage: 'dev [dir] [--port N] [--host H] [--unsafe-no-sandbox] | dev [dir] --remote [--url URL]',
  examples: [
    'dev',
    'dev ./my-fn --port 8091',
    'dev --remote',
  ],
  details: [
    'Starts a platform of its own in this process (the same runtime, sandbox, checks and limits as',
    'any platform; state in a temporary folder, removed at exit), deploys the folder to it, and',
    'serves it at http://127.0.0.1:8090/fn/<name>/ (another free port if 8090 is taken) and',
    '/async/<name>/. Every save runs the checks of `validate` and deploys what changed: the next',
    'call answers with the new code. A save with problems deploys nothing; the last good version',
    'keeps serving and the problems are printed with file and line. Each call is shown with its',
    'status, duration, cold or warm start, version, run id and log lines.',
    '',
    'Declared dependencies (requirements.txt) are built once and kept for the folder in the CLI\'s',
    'cache (FP_CACHE_DIR, default ~/.cache/fastapi-platform): the next start reuses them. A cache',
    'another user could change, or one that cannot be written, is not used (the deps: line says why).',
    '',
    'The folder\'s .env (NAME=value lines) gives the function local values: they override',
    'platform.yaml\'s env and resolve its ${VAR} references. They go to the platform dev started',
    'and nowhere else.',
    '',
    'With --remote (or --url), every valid save deploys to the platform the other commands use',
    '(--url, FP_URL or the saved credentials), and its runs are followed there (.env is not sent).',
    '',
    'Ctrl-C stops: calls in flight finish, every runtime ends, the temporary state is removed.',
    'With --json it prints one JSON object per line: started, reloaded, unchanged, invalid,',
    'refused, log, call, stopped (docs/cli.md).',
  ].join('\n'),
  options: {
    port: { type: 'string', value: 'N', description: 'port of the platform dev starts (default 8090, or any free one if taken; 0 = any)' },
    host: { type: 'string', value: 'HOST', description: 'address it binds (default 127.0.0.1)' },
    remote: { type: 'boolean', description: 'deploy to the running platform (--url, FP_URL or the saved login) instead' },
    'unsafe-no-sandbox': { type: 'boolean', description: 'run the function WITHOUT isolation (trusted code only; docs/security.md)' },
  },
  streams: () => true,
  run,
};
