/**
 * Starting the gateway for a benchmark — the platform's one entry point in directory mode
 * (`node dist/platform/main.js --functions DIR`: the same gateway and pool, functions read from a
 * directory, run records in memory) — and reading its pool gauges.
 */
import { existsSync } from 'node:fs';
import { PLATFORM_MAIN, PYTHON } from './paths.js';
import { childEnv, freePort, httpGet, sleep, startServer, type RunningServer } from './servers.js';

export interface GatewayRun {
  functionsDir: string;
  /** Generic runtimes the pool keeps ready (FP_POOL_SIZE). */
  poolSize: number;
  verbose: boolean;
  /** Options for node itself (e.g. `--cpu-prof`: bench/profile.ts). */
  nodeArgs?: string[];
}

export function requireGatewayBuild(): void {
  if (!existsSync(PLATFORM_MAIN)) {
    throw new Error(`the platform is not built (${PLATFORM_MAIN} is missing): run npm run build first`);
  }
}

export async function startGateway(run: GatewayRun): Promise<RunningServer> {
  requireGatewayBuild();
  const port = await freePort();
  const env = childEnv({
    FP_POOL_SIZE: String(run.poolSize),
    FP_PYTHON: PYTHON,
    FP_DEBUG: run.verbose ? '1' : '0',
  });
  // The bench's environment may carry FP_* settings of its own; only ours count.
  for (const key of Object.keys(env)) {
    if (key.startsWith('FP_') && !['FP_POOL_SIZE', 'FP_PYTHON', 'FP_DEBUG'].includes(key)) delete env[key];
  }
  const server = await startServer({
    name: 'gateway',
    command: process.execPath,
    args: [...(run.nodeArgs ?? []), PLATFORM_MAIN, '--functions', run.functionsDir, '--port', String(port)],
    env,
    port,
    readyPath: '/metrics',
  });
  if (run.verbose) console.error(server.output());
  return server;
}

/** `fp_pool_runtimes{state="…"}` values from the gateway's /metrics (a platform-level series: served without a token in every mode, docs/adr/0036-metrics-scope.md). */
export async function poolGauges(port: number): Promise<Record<string, number>> {
  const reply = await httpGet(port, '/metrics', 5_000);
  const out: Record<string, number> = {};
  for (const match of reply.body.matchAll(/^fp_pool_runtimes\{state="([a-z]+)"\}\s+(\S+)$/gm)) {
    out[match[1]!] = Number(match[2]);
  }
  return out;
}

/**
 * Waits until the pool holds `size` generic runtimes and none is spawning (the pool has refilled),
 * or until the timeout; returns how long it waited, or null if the gauges never got there.
 */
export async function waitForGatewayPool(port: number, size: number, timeoutMs = 15_000): Promise<number | null> {
  const start = Date.now();
  for (;;) {
    const gauges = await poolGauges(port);
    if ((gauges['generic'] ?? 0) >= size && (gauges['spawning'] ?? 0) === 0) return Date.now() - start;
    if (Date.now() - start > timeoutMs) return null;
    await sleep(20);
  }
}
