/**
 * Directory mode (`node dist/platform/main.js --functions DIR`, FP_FUNCTIONS_DIR): the functions
 * of a directory — one subfolder each, with its platform.yaml (docs/gateway.md) — read once at
 * start, served by the same gateway and pool as the platform, without the store: no control plane
 * API, no async queue, triggers or secrets, no state directory. Run records stay in memory (the
 * newest 10 000, gone at exit): recording costs what an in-memory ring costs. What the
 * benchmarks run, and a quick way to try functions.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createGateway, DirectoryRegistry, MemoryRunSink, uwsIsNative, UwsFallbackError } from '../gateway/index.js';
import type { Isolation } from '../poolmgr/index.js';
import { gatewaySettings, parseOptions, type PlatformConfig } from './config.js';
import { reachable, startPool } from './pool.js';
import { idsNoOneHolds } from './host-ids.js';
import type { StartOptions } from './start.js';
import { stderrLog } from './log-format.js';
import { survivingLogStreams } from './log-streams.js';

export interface StartedDirectory {
  /** `http://<host>:<port>`: invoke at `/fn/<name>/`. */
  readonly url: string;
  readonly port: number;
  /** The absolute functions directory. */
  readonly functionsDir: string;
  /** What was loaded, by name. */
  readonly functions: readonly { name: string; version: string }[];
  readonly config: PlatformConfig;
  readonly isolation: Isolation;
  /** Stop taking calls, let in-flight ones finish (shutdownGraceMs), stop the runtimes. */
  close(): Promise<void>;
}

/** Starts directory mode; `functionsDir` must be set. `platformEnv` resolves `${VAR}` in the manifests' env. */
export async function startDirectory(options: Omit<StartOptions, 'rotateAdminToken' | 'rotateSecretsKey'> & { platformEnv?: Record<string, string | undefined> }): Promise<StartedDirectory> {
  const { log: logOption, runtimeEnv, platformEnv, ...settings } = options;
  const parsed = parseOptions(settings);
  if (parsed.functionsDir === undefined) throw new TypeError('startDirectory needs functionsDir');
  const log = logOption ?? stderrLog(parsed.logFormat);
  const config = idsNoOneHolds(parsed, log); // ADR 0160
  survivingLogStreams(config.logFormat); // platform/log-streams.ts
  // Before anything is spawned: no native uWS binary, no start.
  if (!uwsIsNative()) throw new UwsFallbackError();
  const functionsDir = resolve(parsed.functionsDir);
  const registry = await DirectoryRegistry.load(functionsDir, { platformEnv: platformEnv ?? {} });
  const pool = await startPool(config, [functionsDir], runtimeEnv);
  try {
    for (const warning of pool.isolation.warnings) log(`platform: warning: ${warning}`);
    for (const fn of registry.list()) {
      const missing = await unservedNeeds(fn.dir, registry.manifest(fn.name)?.data !== undefined);
      if (missing !== null) log(`platform: warning: function ${fn.name} declares ${missing}, which directory mode does not provide: its calls fail (FUNCTION_INIT_FAILED at an import, or when it reaches context.db), and directory mode keeps no run record you can read; deploy it to a platform instead (fastapi-platform up, then deploy)`);
    }
    // Bytecode compiled ahead, so each function's first cold start skips it (poolmgr/prepare.ts),
    // and the zygotes of their presets ready.
    await Promise.all(registry.list().flatMap((fn) => [pool.expect(fn.dir, fn.entrypoint, fn.dataDir !== undefined), pool.prepare(fn.dir)]));
    const gateway = await createGateway({
      config: gatewaySettings(config),
      pool,
      registry,
      runSink: new MemoryRunSink(),
      log,
    });
    let closing: Promise<void> | null = null;
    return {
      url: reachable(gateway.url),
      port: gateway.port,
      functionsDir,
      functions: registry.list().map((fn) => ({ name: fn.name, version: fn.version })),
      config,
      isolation: pool.isolation,
      close() {
        // The gateway drains its calls before the pool goes.
        closing ??= gateway.close().finally(() => pool.close());
        return closing;
      },
    };
  } catch (err) {
    await pool.close();
    throw err;
  }
}

/**
 * What a function of the directory declares that directory mode does not give it: dependencies
 * (requirements.txt, or pyproject.toml's `dependencies`; no builder runs here) and a data binding
 * (no data proxy). New-user round 3: `--functions examples`, as docs/platform.md shows it, served
 * examples/bookshelf, whose every call failed with FUNCTION_INIT_FAILED and a run record no one
 * could read. Null when it needs neither.
 */
async function unservedNeeds(dir: string, bound: boolean): Promise<string | null> {
  const needs: string[] = [];
  if (await readFile(join(dir, 'requirements.txt'), 'utf8').then((t) => /^\s*[^#\s]/m.test(t), () => false)) needs.push('dependencies (requirements.txt)');
  else if (await readFile(join(dir, 'pyproject.toml'), 'utf8').then((t) => /^\s*dependencies\s*=\s*\[\s*["']/m.test(t), () => false)) needs.push('dependencies (pyproject.toml)');
  if (bound) needs.push('a data binding (data.mongo)');
  return needs.length === 0 ? null : needs.join(' and ');
}
