/**
 * `up`: starts the whole platform in this process on the embedded default (platform/start.ts),
 * saves the admin token on first start, optionally deploys and calls the demo function, and
 * stops cleanly on SIGINT/SIGTERM.
 */
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { flag, int, positionals, str, type ParsedArgs } from '../args.js';
import { ApiClient } from '../client.js';
import { credentialsPath, PACKAGE_ROOT, writeCredentials, type Credentials } from '../config.js';
import { credentialsOf, UNSAFE_WARNING, type Command, type Context } from '../context.js';
import { deployFolder } from '../deploy-flow.js';
import { CliError, EXIT } from '../errors.js';
import { startError } from '../start-error.js';
import { describeIsolation, describeStore, loadConfig, loadServer, writeAdminToken, type PlatformConfig, type StartedPlatform, type StartOptions } from '../../platform/index.js';
import { selfCommandOf } from '../self-command.js';
import { describeData } from '../describe-data.js';
import { preflight, formatProblem } from '../preflight.js';
import { pythonPath } from '../python.js';
import { curlLine, printDeploy } from './deploy.js';
import { callDirect, formatBody, summaryLine } from './invoke.js';
import { isLoopback } from '../loopback.js';

export const DEMO_DIR = join(PACKAGE_ROOT, 'examples', 'hello');
const DEMO_NAME = 'hello';

/**
 * Saves or refreshes the credentials for this platform; returns the token the CLI can use and,
 * when this start issued it, that it is new (the platform hands it over once and forgets it).
 */
async function rememberCredentials(ctx: Context, started: StartedPlatform): Promise<{ token: string | undefined; issued: boolean; saved?: true }> {
  const { stateDir } = started;
  const saved = await credentialsOf(ctx);
  const issued = started.takeAdminToken();
  if (issued !== undefined) {
    // The default profile becomes this platform's; named profiles (`login --profile`) are kept,
    // and so is the default one when it held another platform's token (below).
    const profiles = { ...(saved?.profiles ?? {}) };
    const kept = saved !== null ? keptProfileName(saved, stateDir, profiles) : null;
    if (kept !== null && saved !== null) {
      profiles[kept] = { url: saved.url, token: saved.token, ...(saved.workspace !== undefined ? { workspace: saved.workspace } : {}), invokeTokens: saved.invokeTokens };
      ctx.out.note(`note: the default profile held the token of ${saved.url}${saved.stateDir !== undefined ? ` (state ${saved.stateDir})` : ''}: kept as profile "${kept}" (--profile ${kept}); this platform's is the default now.`);
    }
    await writeCredentials(ctx.env.configDir, { url: started.url, token: issued, stateDir, invokeTokens: {}, ...(Object.keys(profiles).length > 0 ? { profiles } : {}) });
    return { token: issued, issued: true };
  }
  if (saved !== null && saved.stateDir === stateDir) {
    // Same state directory: the token still holds, unless `--rotate-admin-token` replaced it since
    // (the banner sent the console's sign-in to that revoked token, and the demo failed on it:
    // new-user round 7); the URL may have changed (another port).
    if (saved.url !== started.url) await writeCredentials(ctx.env.configDir, { ...saved, url: started.url });
    if (saved.token !== undefined && await adminTokenRefused(started.url, saved.token)) {
      ctx.out.note(`note: the admin token saved for this state directory (in ${credentialsPath(ctx.env.configDir)}) was refused since it was saved (unknown, revoked or rotated: --rotate-admin-token replaces it). Give the new one to the CLI with \`${selfCommandOf(ctx)} login ${started.url}\`, which asks for it; the console takes it too.`);
      return { token: ctx.env.token, issued: false };
    }
    return { token: saved.token, issued: false, saved: true };
  }
  if (saved !== null && saved.stateDir !== undefined && saved.token !== undefined && await isAdminTokenOf(started.url, saved.token)) {
    // The same platform under another path: its state folder was moved or copied (a renamed
    // checkout moves ./.state; a backup restored elsewhere). The saved token is this platform's
    // admin token: the start said none was saved, and the CLI went on calling the old URL (new-user round 4).
    const profiles = { ...(saved.profiles ?? {}) };
    const kept = keptProfileName(saved, stateDir, profiles);
    if (kept !== null) profiles[kept] = { url: saved.url, token: saved.token, ...(saved.workspace !== undefined ? { workspace: saved.workspace } : {}), invokeTokens: saved.invokeTokens };
    await writeCredentials(ctx.env.configDir, { ...saved, url: started.url, stateDir, ...(Object.keys(profiles).length > 0 ? { profiles } : {}) });
    ctx.out.note(`note: the saved admin token, of ${saved.stateDir}, is this platform's: its state was moved or copied to ${stateDir}; the CLI uses ${started.url} now${kept !== null ? ` (the old one as profile "${kept}")` : ''}.`);
    return { token: saved.token, issued: false, saved: true };
  }
  if (ctx.env.token === undefined) {
    ctx.out.note('note: no admin token saved for this state directory (it is shown only on its first start); pass --token or set FP_TOKEN for other commands.');
  }
  return { token: ctx.env.token, issued: false };
}

/** Whether the platform at `url` refuses `token` as unknown, revoked or rotated (an answer that says so; not an error of another kind). */
async function adminTokenRefused(url: string, token: string): Promise<boolean> {
  try {
    await new ApiClient(url, token).whoami();
    return false;
  } catch (err) {
    return err instanceof CliError && err.code === 'ADMIN_TOKEN_INVALID';
  }
}

/** Whether `token` is the admin token of the platform at `url` (a wrong one, or a workspace's: false). */
async function isAdminTokenOf(url: string, token: string): Promise<boolean> {
  try {
    return (await new ApiClient(url, token).whoami()).kind === 'admin';
  } catch {
    return false;
  }
}

/**
 * The profile name under which the default profile's token is kept when this start replaces it,
 * or null when it is no loss: no token, the same state directory (started afresh: its token went
 * with the state), a state directory that no longer exists, or a named profile holding it already.
 * The token of a first start is shown once and kept only there: a second `up` (another checkout,
 * another `--state-dir`) dropped the first platform's, which only `--rotate-admin-token` replaced
 * (newcomer round 10).
 */
function keptProfileName(saved: Credentials, stateDir: string, profiles: Record<string, unknown>): string | null {
  if (saved.token === undefined || saved.stateDir === stateDir) return null;
  if (saved.stateDir !== undefined && !existsSync(saved.stateDir)) return null;
  const holders = Object.values(saved.profiles ?? {}) as { url: string; token?: string }[];
  if (holders.some((p) => p.url === saved.url && p.token === saved.token)) return null;
  const url = new URL(saved.url);
  const base = `${url.hostname}-${url.port || (url.protocol === 'https:' ? '443' : '80')}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60);
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    if (!(name in profiles)) return name;
  }
}

/**
 * The line under the demo's cold call on a machine busier than its CPUs (`null` otherwise): the cold
 * start shown there is then several times README's figure, which is measured quiet (new-user round 7:
 * 113 ms at load 10 on 2 cores, with nothing that said why).
 */
export function busyMachineNote(load: number, cpus: number): string | null {
  if (!(load >= cpus)) return null;
  return `(this machine is busy, load average ${load.toFixed(1)} on ${cpus} CPU${cpus === 1 ? '' : 's'}: a cold start takes longer than on a quiet one; README "Performance" has the quiet figures, about 5 ms p50 on 2 cores)`;
}

/** Deploys examples/hello if it is not deployed yet, then calls it twice (cold, then warm). */
async function demo(ctx: Context, client: ApiClient, token: string | undefined): Promise<void> {
  const existing = token === undefined ? null : await client.getFunction(DEMO_NAME);
  if (token !== undefined && (existing === null || existing.function.activeVersion === null)) {
    const checked = await preflight(DEMO_DIR, pythonPath(ctx.env.python), ctx.env.manifestEnv);
    if (!checked.ok) {
      for (const p of checked.problems) ctx.out.note(`error: examples/hello: ${formatProblem(p)}`);
      return;
    }
    const result = await deployFolder(client, checked);
    ctx.out.event({ event: 'deployed', ...result });
    ctx.out.line(`Deploying the example function examples/hello:`);
    printDeploy(ctx.out, result, selfCommandOf(ctx));
    ctx.out.line();
  }
  if (token === undefined) ctx.out.note('note: without the admin token the example cannot be deployed here; calling it as it is.');
  ctx.out.line('Invoking it (the first call is a cold start, the second is warm):');
  for (const _ of [1, 2]) {
    const answer = await callDirect(client, DEMO_NAME, { method: 'GET', path: '/?name=world', headers: {}, body: null }, undefined);
    ctx.out.event({ event: 'invoked', function: DEMO_NAME, status: answer.status, cold: answer.cold, durationMs: answer.durationMs, runId: answer.runId });
    ctx.out.line(`  ${summaryLine(answer)}`);
    const busy = answer.cold ? busyMachineNote(loadavg()[0]!, availableParallelism()) : null;
    if (busy !== null) ctx.out.line(`  ${busy}`);
    ctx.out.line(`  ${formatBody(answer).replace(/\n\s*/g, ' ')}`);
  }
  ctx.out.line();
  ctx.out.line(`Try it yourself:  ${curlLine(`${client.baseUrl}/fn/${DEMO_NAME}/?name=you`, 'public')}`);
  const fp = selfCommandOf(ctx);
  ctx.out.line(`Its runs:         ${fp} runs ${DEMO_NAME}`);
  ctx.out.line(`Your own function, in another terminal (README "Your own function, from the terminal"):`);
  ctx.out.line(`  ${fp} init my-fn && cd my-fn && ${fp} deploy && ${fp} invoke my-fn --file payload.json`);
}

/** The platform's configuration from FP_* variables, as `node dist/platform/main.js` reads them; BAD_CONFIG (exit 2) if invalid. */
export function platformConfig(platformEnv: Record<string, string | undefined>): PlatformConfig {
  try {
    return loadConfig(platformEnv);
  } catch (err) {
    throw new CliError(EXIT.USAGE, 'BAD_CONFIG', (err as Error).message);
  }
}

/** The platform's options: its FP_* variables (as `node dist/platform/main.js` reads them), then the flags. */
export async function platformOptions(ctx: Context, args: ParsedArgs): Promise<StartOptions> {
  const base = platformConfig(ctx.env.platformEnv);
  if (base.functionsDir !== undefined) {
    // `up` is the platform over its state directory; directory mode is the process's alone.
    throw new CliError(EXIT.USAGE, 'BAD_CONFIG', 'FP_FUNCTIONS_DIR is set: `up` serves the functions of its state directory; unset it, or serve a directory with `node dist/platform/main.js --functions DIR`');
  }
  const stateDir = str(args, 'state-dir');
  const host = str(args, 'host');
  const tokenFile = str(args, 'admin-token-file');
  // The secrets key next to the credentials (outside every state directory), unless configured.
  const keyConfigured = ctx.env.platformEnv['FP_SECRETS_KEY'] || ctx.env.platformEnv['FP_SECRETS_KEY_FILE'];
  return {
    ...base,
    ...(keyConfigured ? {} : { secretsKeyFile: join(ctx.env.configDir, 'secrets.key') }),
    ...(stateDir !== undefined ? { stateDir: resolve(ctx.cwd, stateDir) } : {}),
    // FP_ADMIN_TOKEN_FILE as main.ts takes it, relative to where `up` runs (ADR 0135): the flag wins.
    ...(tokenFile !== undefined || base.adminTokenFile !== undefined ? { adminTokenFile: resolve(ctx.cwd, tokenFile ?? base.adminTokenFile!) } : {}),
    port: int(args, 'port', base.port, 0, 65535),
    ...(host !== undefined ? { host } : {}),
    // On loopback (the default), only this machine's names are answered: a web page made to
    // resolve to 127.0.0.1 (DNS rebinding) read the public functions' answers otherwise (ADR 0122).
    ...(isLoopback(host ?? base.host) ? { localHostsOnly: true } : {}),
    ...(flag(args, 'unsafe-no-sandbox') ? { unsafeNoSandbox: true } : {}),
    runtimeEnv: ctx.env.runtimeEnv,
  };
}

/**
 * What `up` says of a token its start issued: shown on the terminal, or, with FP_ADMIN_TOKEN_FILE
 * (`--admin-token-file`), written to that file and not shown (`up` under a service manager, or
 * `npm start` piped to a log: the banner went to a log that is kept and shipped; ADR 0135). Saved
 * for the CLI either way. A file that cannot be written is said, and the token shown: it is never lost.
 */
export function adminTokenBanner(token: string, file: string | undefined, credentials: string): { lines: string[]; event: { adminToken: string } | { adminTokenFile: string } } {
  const written = file === undefined ? undefined : writeAdminToken(token, file);
  if (written !== undefined && written.failed === undefined) {
    return { lines: [`Admin token: written to ${written.path} (mode 0600, not shown here); saved for the CLI in ${credentials}. Delete the file once you have it.`], event: { adminTokenFile: written.path } };
  }
  return {
    lines: [
      ...(written !== undefined ? [`warning: the admin token could not be written to ${written.path} (${written.failed}): shown here instead`] : []),
      'Admin token (shown only this once; saved for the CLI):',
      `  ${token}`,
      `  saved to ${credentials}`,
    ],
    event: { adminToken: token },
  };
}

/**
 * A second `up` on the state directory a running `up` serves (`npm start` in a second terminal)
 * started beside it: a second FerretDB on the same data folder, whose exit took the first one's
 * socket (every `context.db` call then hung), and the credentials pointed at the second. The
 * credentials file says which state directory its URL serves: if that URL answers, refuse
 * (docs/adr/0055-newcomer-round-4.md).
 */
async function refuseIfRunning(ctx: Context, stateDir: string): Promise<void> {
  const saved = await credentialsOf(ctx);
  if (saved?.stateDir !== stateDir) return;
  const alive = await fetch(`${saved.url}/healthz`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false);
  if (!alive) return;
  throw new CliError(EXIT.FAILURE, 'STATE_DIR_IN_USE', `the platform of ${stateDir} is already running at ${saved.url}: use that one (the other commands already talk to it), stop it first (Ctrl-C in its terminal), or start another platform with --state-dir DIR`, { stateDir, url: saved.url });
}

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  positionals(args, 0, 'up');
  const options = await platformOptions(ctx, args);
  await refuseIfRunning(ctx, resolve(ctx.cwd, options.stateDir ?? '.state'));
  // Loaded here: only `up` needs the server (uWebSockets.js, SQLite, the pool).
  const { startPlatform } = await loadServer();
  const started = await startPlatform(options).catch((err: unknown) => { throw startError(err, options.port); });
  const stop = async (signal: string): Promise<number> => {
    ctx.out.line(`\n${signal}: stopping (calls in flight finish first)…`);
    await started.close();
    ctx.out.event({ event: 'stopped', signal });
    ctx.out.line('Stopped.');
    return EXIT.OK;
  };
  const signal = ctx.waitForSignal();

  try {
    const { token, issued, saved } = await rememberCredentials(ctx, started);
    const { secrets } = started;
    const banner = issued && token !== undefined ? adminTokenBanner(token, options.adminTokenFile, credentialsPath(ctx.env.configDir)) : null;
    ctx.out.event({ event: 'started', url: started.url, consoleUrl: started.consoleUrl, port: started.port, stateDir: started.stateDir, store: describeStore(started.config, started.stateDir), sandbox: started.isolation, credentials: credentialsPath(ctx.env.configDir), secretsKey: secrets.where, ...(banner !== null ? banner.event : {}) });
    ctx.out.line(`fastapi-platform is running at ${started.url}`);
    ctx.out.line(`  functions: ${started.url}/fn/<name>/    API: ${started.url}/api/v1/`);
    // After the first start the token is no longer on screen: say where it is (a newcomer's restart
    // left the console's sign-in page with nothing to paste; docs/adr/0048-newcomer-round-3.md).
    const where = issued ? (banner !== null && 'adminTokenFile' in banner.event ? `: in ${banner.event.adminTokenFile}` : ' below') : saved === true ? `: "token" in ${credentialsPath(ctx.env.configDir)}` : '';
    ctx.out.line(`  console:   ${started.consoleUrl} (sign in with the admin token${where})`);
    ctx.out.line(`  store:     ${describeStore(started.config, started.stateDir)}`);
    ctx.out.line(`  sandbox:   ${describeIsolation(started.isolation)}`);
    ctx.out.line(`  data:      ${describeData(started)}`);
    if (started.isolation.mode === 'off') ctx.out.note(UNSAFE_WARNING);
    if (secrets.created) ctx.out.line(`  secrets key: created ${secrets.where} (back it up, apart from the state: stored secrets cannot be read without it)`);
    if (banner !== null) {
      ctx.out.line();
      for (const line of banner.lines) ctx.out.line(line);
    }
    ctx.out.line();
    if (flag(args, 'demo')) {
      // A failed demo is reported, and the platform keeps running: it is still usable.
      const shown = demo(ctx, new ApiClient(started.url, token), token).catch((err: unknown) => {
        ctx.out.note(`the demo failed: ${(err as Error).message}`);
        ctx.out.event({ event: 'demo-failed', message: (err as Error).message, ...(err instanceof CliError ? { code: err.code } : {}) });
      });
      await Promise.race([shown, signal]);
    }
    ctx.out.line('Press Ctrl-C to stop.');
  } catch (err) {
    await started.close();
    throw err;
  }
  return stop(await signal);
}

export const upCommand: Command = {
  name: 'up',
  summary: 'start the whole platform locally (embedded store, gateway, API)',
  usage: 'up [--state-dir DIR] [--port N] [--host H] [--demo] [--admin-token-file FILE] [--unsafe-no-sandbox]',
  examples: [
    'up',
    'up --port 9000 --demo',
  ],
  details: [
    'Runs in the foreground until Ctrl-C (SIGINT) or SIGTERM, then lets calls in flight finish.',
    'On the first start of a state directory it prints the admin token once and saves {url, token}',
    'to the credentials file, so the other commands work without flags. With --json it prints one',
    'JSON object per line: started, deployed, invoked, demo-failed, stopped.',
  ].join('\n'),
  options: {
    'state-dir': { type: 'string', value: 'DIR', description: 'where functions, versions, runs and code live (default: FP_STATE_DIR or ./.state)' },
    port: { type: 'string', value: 'N', description: 'port for the gateway and the API (default: FP_PORT or 8080; 0 = any free port)' },
    host: { type: 'string', value: 'HOST', description: 'address to bind (default: FP_HOST or 127.0.0.1; on loopback only this machine\'s host names are answered, plus FP_BASE_DOMAIN\'s)' },
    demo: { type: 'boolean', description: 'deploy examples/hello if needed and call it cold, then warm' },
    'admin-token-file': { type: 'string', value: 'FILE', description: 'write a token this start issues to FILE (0600) instead of showing it, for output that goes to a log (default: FP_ADMIN_TOKEN_FILE; saved for the CLI either way)' },
    'unsafe-no-sandbox': { type: 'boolean', description: 'run functions WITHOUT isolation (trusted code only; docs/security.md)' },
  },
  streams: () => true,
  run,
};
