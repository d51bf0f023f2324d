/**
 * The one process entry point: `node dist/platform/main.js [--state-dir DIR] [--port N] [--host H]
 * [--rotate-admin-token] [--rotate-secrets-key]`, or in directory mode `--functions DIR`. Reads
 * the configuration (the only place that reads process.env), starts the platform
 * (platform/start.ts) or directory mode (platform/directory.ts), prints its URL — and the admin
 * token on the first start of a state directory, once — and shuts down cleanly on SIGINT/SIGTERM/SIGHUP.
 * Exit codes: 0 after a clean shutdown, 1 when it cannot start, 2 for a usage error.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isDiskFull, isErrorCode, type ErrorCode } from '../protocol/index.js';
import { adminTokenLines } from './admin-token-file.js';
import { loadConfig, unknownSettings, type PlatformConfig } from './config.js';
import type { StartedDirectory } from './directory.js';
import { describeIsolation } from './isolation.js';
import { formatLogLine, type LogFormat } from './log-format.js';
import { fullDiskAtStart } from './state-disk.js';
import { describeStore } from './store-description.js';
import type { StartedPlatform } from './start.js';

const USAGE = `usage: node dist/platform/main.js [--state-dir <dir>] [--port <n>] [--host <addr>] [--rotate-admin-token] [--rotate-secrets-key] [--unsafe-no-sandbox]
       node dist/platform/main.js --functions <dir> [--port <n>] [--host <addr>] [--unsafe-no-sandbox]
  --state-dir           where functions, versions, runs and code live (default ./.state)
  --functions           directory mode: serve the functions of <dir> (one folder each with its
                        platform.yaml) without a store: no API, no async runs; run records in memory only
  --port, --host        where to listen (default 127.0.0.1:8080; port 0 = any free port)
  --rotate-admin-token  revoke the admin token(s) and print a new one (when the old one is lost)
  --rotate-secrets-key  add a new current key to the secrets key file, re-encrypt every stored
                        secret with it, and print which old keys are still needed (docs/secrets.md)
  --unsafe-no-sandbox   run functions WITHOUT isolation: any function can read and change the
                        platform and every other function (docs/security.md); for trusted code only
  --version             print the platform's version and exit
Options can also come from the environment (FP_STATE_DIR, FP_PORT, FP_HOST, ...; see docs/platform.md).`;

/** FP_LOG_FORMAT as read at the start (before the configuration is checked, so a refusal of it is written too). */
let logFormat: LogFormat = 'text';

/** One of this entry point's own lines, in FP_LOG_FORMAT (the banner's indented lines are the process's own). */
function logLine(line: string): string {
  return formatLogLine(logFormat, logFormat === 'json' && !line.startsWith('fp-platform') ? `fp-platform: ${line.trim()}` : line);
}

function fail(code: ErrorCode, message: string, exitCode = 1): number {
  process.stderr.write(`${logLine(`fp-platform: error [${code}] ${message}`)}\n`);
  return exitCode;
}

async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  if (env['FP_LOG_FORMAT'] === 'json') logFormat = 'json';
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        'state-dir': { type: 'string' },
        functions: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'rotate-admin-token': { type: 'boolean' },
        'unsafe-no-sandbox': { type: 'boolean' },
        'rotate-secrets-key': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    return fail('USAGE', `${(err as Error).message}\n${USAGE}`, 2);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.version) {
    // The package's version, as `fastapi-platform --version` prints it (one package, one version).
    process.stdout.write(`${(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version}\n`);
    return 0;
  }
  for (const key of unknownSettings(env)) process.stderr.write(`${logLine(`fp-platform: warning: unknown setting ${key} ignored`)}\n`);

  // Flags win over the environment; both go through the same validation.
  const merged = { ...env };
  if (args['state-dir'] !== undefined) merged['FP_STATE_DIR'] = args['state-dir'];
  if (args.functions !== undefined) merged['FP_FUNCTIONS_DIR'] = args.functions;
  if (args.port !== undefined) merged['FP_PORT'] = args.port;
  if (args.host !== undefined) merged['FP_HOST'] = args.host;
  if (args['unsafe-no-sandbox'] === true) merged['FP_UNSAFE_NO_SANDBOX'] = '1';
  let config: PlatformConfig;
  try {
    config = loadConfig(merged);
  } catch (err) {
    return fail(codeOf(err), (err as Error).message);
  }
  const directoryMode = config.functionsDir !== undefined;
  if (directoryMode && (args['state-dir'] !== undefined || args['rotate-admin-token'] || args['rotate-secrets-key'])) {
    return fail('USAGE', `--functions serves a directory without a state directory, tokens or secrets: --state-dir, --rotate-admin-token and --rotate-secrets-key do not apply\n${USAGE}`, 2);
  }
  // A rotation names a platform that exists: run from another folder (or without the FP_STATE_DIR
  // the platform was started with), it started a new, empty platform and printed its first token as
  // if the lost one had been replaced (new-user round 3).
  if (args['rotate-admin-token'] && config.store === 'embedded' && !existsSync(join(resolve(config.stateDir), 'platform.db'))) {
    return fail('USAGE', `--rotate-admin-token replaces the admin token of an existing platform, and ${resolve(config.stateDir)} holds none (no platform.db): name the state directory your platform uses with --state-dir DIR or FP_STATE_DIR (\`npm start\` keeps it in .state of the repository); nothing was started`, 2);
  }
  let running: StartedPlatform | StartedDirectory;
  try {
    // Each mode loads only its own modules: directory mode never loads the control plane.
    running = directoryMode
      ? await (await import('./directory.js')).startDirectory({ ...config, runtimeEnv: env, platformEnv: env })
      : await (await import('./start.js')).startPlatform({ ...config, rotateAdminToken: args['rotate-admin-token'] ?? false, rotateSecretsKey: args['rotate-secrets-key'] ?? false, runtimeEnv: env });
  } catch (err) {
    const code = codeOf(err);
    const message = code === 'STORAGE_FULL' && !directoryMode ? fullDiskAtStart(config.stateDir, (err as Error).message) : (err as Error).message;
    return fail(code, message, code === 'USAGE' ? 2 : 1);
  }
  // Listening for the signals before the banner: whoever reads it may stop the platform at once, and
  // a SIGTERM that came before any listener would end the process without its shutdown.
  // SIGHUP too (a closed terminal, a log rotation's `kill -HUP`): Node's default ended the process
  // at once, no drain, calls in flight cut and no line in the log (ops round 5). There is no file to
  // reopen (the log is stderr), so it stops the platform the same way.
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    for (const signal of STOP_SIGNALS) process.once(signal, resolve);
  });
  const out = (text: string) => process.stdout.write(`${text.split('\n').map(logLine).join('\n')}\n`);
  // One write: a reader of the pipe (a supervisor, a test) never sees the banner without its last
  // lines (the admin token), which line-by-line writes allowed between two reads.
  out(('functionsDir' in running ? directoryBanner(running) : platformBanner(running, args['rotate-admin-token'] ?? false)).join('\n'));

  const signal = await stopped;
  out(`fp-platform: ${signal}, shutting down`);
  // A second signal while draining means "now".
  const force = () => process.exit(130);
  for (const signal of STOP_SIGNALS) process.once(signal, force);
  await running.close();
  out('fp-platform: stopped');
  return 0;
}

/** The signals that stop the platform cleanly (a second one of them stops it at once, 130). */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function platformBanner(platform: StartedPlatform, rotatedAdminToken: boolean): string[] {
  const lines = [
    `fp-platform listening on ${platform.url}`,
    `  state: ${platform.stateDir} (${platform.functions} function${platform.functions === 1 ? '' : 's'})`,
    `  store: ${describeStore(platform.config, platform.stateDir)}`,
    `  API: ${platform.url}/api/v1/   invoke: ${platform.url}/fn/<name>/   console: ${platform.consoleUrl}`,
    `  sandbox: ${describeIsolation(platform.isolation)}`,
    ...secretsLines(platform),
  ];
  // Taken once: the platform keeps no copy; this one goes out of scope after the print.
  const adminToken = platform.takeAdminToken();
  if (adminToken !== undefined) {
    lines.push(...adminTokenLines(adminToken, platform.config.adminTokenFile));
    // The CLI's saved token (and a console's session) is one of those just revoked: say how to swap it.
    if (rotatedAdminToken) lines.push(`  (every earlier admin token stopped working; give this one to the CLI: fastapi-platform login ${platform.url}, which asks for it)`);
  }
  return lines;
}

function directoryBanner(dir: StartedDirectory): string[] {
  const count = dir.functions.length;
  return [
    `fp-platform listening on ${dir.url}`,
    `  functions: ${dir.functionsDir} (${count} function${count === 1 ? '' : 's'}; directory mode: no store, no API, run records in memory)`,
    ...dir.functions.map((fn) => `    ${fn.name} (${fn.version})  ${dir.url}/fn/${fn.name}/`),
    `  sandbox: ${describeIsolation(dir.isolation)}`,
  ];
}

/** The registry code an error carries (STORAGE_FULL for a full disk); START_FAILED for one that carries none. */
function codeOf(err: unknown): ErrorCode {
  const code = (err as { code?: unknown } | null)?.code;
  if (isDiskFull(err)) return 'STORAGE_FULL';
  return typeof code === 'string' && isErrorCode(code) ? code : 'START_FAILED';
}

/**
 * What the banner says about the secrets key: a new key file to back up, a rotation's result, and
 * — whenever the keyring has older keys — which of them something still needs (docs/secrets.md).
 */
function secretsLines(platform: StartedPlatform): string[] {
  const { where, created, keys, rotated } = platform.secrets;
  const lines: string[] = [];
  if (created) lines.push(`  secrets key: created ${where} (back it up, apart from the state: stored secrets cannot be read without it)`);
  if (rotated) lines.push(`  secrets key rotated: current key ${keys.currentKeyId} (${where}); ${keys.reencrypted} stored secret${keys.reencrypted === 1 ? '' : 's'} re-encrypted`);
  for (const id of keys.stillNeeded) {
    const use = keys.usage.find((u) => u.keyId === id);
    const what = [
      use !== undefined && use.tokens > 0 ? `${use.tokens} token${use.tokens === 1 ? '' : 's'} not re-keyed yet (each is re-keyed on its next use)` : '',
      use !== undefined && use.fields > 0 ? `${use.fields} value${use.fields === 1 ? '' : 's'} written meanwhile (rotate again)` : '',
    ].filter((t) => t !== '').join(', ');
    lines.push(`    still needed: ${id}: ${what}`);
  }
  for (const id of keys.notNeeded) lines.push(`    no longer needed: ${id} (remove it once every process runs with ${keys.currentKeyId}; docs/secrets.md)`);
  return lines;
}

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${logLine(`fp-platform: error [INTERNAL_ERROR] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)}\n`);
    process.exit(1);
  },
);
