/**
 * The gateway process: `node dist/gateway/main.js --functions <dir> [--port N] [--host H]`.
 * Loads the configuration (the only place that reads process.env), loads the functions, starts
 * the pool and the gateway, prints the URL, and shuts down cleanly on SIGINT/SIGTERM.
 * Exit codes: 0 after a clean shutdown, 1 when it cannot start, 2 for a usage error.
 */
import { parseArgs } from 'node:util';
import { defaultPoolConfig, PoolManager } from '../poolmgr/index.js';
import { createGateway, DirectoryRegistry, loadConfig, MemoryRunSink, unknownSettings, uwsIsNative, UwsFallbackError } from './index.js';

const USAGE = `usage: node dist/gateway/main.js --functions <dir> [--port <n>] [--host <addr>]
Options can also come from the environment (FP_FUNCTIONS_DIR, FP_PORT, FP_HOST, ...; see docs/gateway.md).`;

function fail(code: string, message: string, exitCode = 1): number {
  process.stderr.write(`fp-gateway: error [${code}] ${message}\n`);
  return exitCode;
}

async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: { functions: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }).values;
  } catch (err) {
    return fail('USAGE', `${(err as Error).message}\n${USAGE}`, 2);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  // Before anything is spawned: the JavaScript fallback of uWS is refused outright.
  if (!uwsIsNative()) {
    const err = new UwsFallbackError();
    return fail(err.code, err.message);
  }
  for (const key of unknownSettings(env)) process.stderr.write(`fp-gateway: warning: unknown setting ${key} ignored\n`);

  // Command-line flags win over the environment; both go through the same validation.
  const merged = { ...env };
  if (args.functions !== undefined) merged['FP_FUNCTIONS_DIR'] = args.functions;
  if (args.port !== undefined) merged['FP_PORT'] = args.port;
  if (args.host !== undefined) merged['FP_HOST'] = args.host;
  let config;
  let registry;
  try {
    config = loadConfig(merged);
    if (config.functionsDir === undefined) return fail('USAGE', `no functions directory given\n${USAGE}`, 2);
    registry = await DirectoryRegistry.load(config.functionsDir, { platformEnv: env });
  } catch (err) {
    return fail((err as { code?: string }).code ?? 'START_FAILED', (err as Error).message);
  }

  const pool = new PoolManager(
    defaultPoolConfig(
      {
        poolSize: config.poolSize,
        idleTimeoutMs: config.idleTimeoutMs,
        debug: config.debug,
        ...(config.pythonPath !== undefined ? { pythonPath: config.pythonPath } : {}),
        codeRoots: [config.functionsDir],
      },
      env,
    ),
  );
  let gateway;
  try {
    await pool.start();
    // Bytecode compiled ahead, so each function's first cold start skips it (poolmgr/prepare.ts).
    await Promise.all(registry.list().map((fn) => pool.prepare(fn.dir)));
    gateway = await createGateway({ config, pool, registry, runSink: new MemoryRunSink() });
  } catch (err) {
    await pool.close();
    return fail((err as { code?: string }).code ?? 'START_FAILED', (err as Error).message);
  }

  process.stdout.write(`fp-gateway listening on ${gateway.url}\n`);
  for (const fn of registry.list()) process.stdout.write(`  ${fn.name} (${fn.version})  ${gateway.url}/fn/${fn.name}/\n`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stdout.write(`fp-gateway: ${signal}, shutting down\n`);
  // A second signal while draining means "now".
  const force = () => process.exit(130);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  await gateway.close();
  await pool.close();
  process.stdout.write('fp-gateway: stopped\n');
  return 0;
}

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fp-gateway: error [INTERNAL_ERROR] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
