/**
 * Gateway process configuration, parsed once at start-up from the environment by a pure
 * `loadConfig(env)`. `process.env` is read nowhere else (gateway/main.ts passes it in).
 * Every option, its variable and its default are listed in docs/gateway.md.
 */
import { z } from 'zod';

const MIB = 1024 * 1024;

/** A whole decimal number in [min, max]; `1e3`, `0x10` or ` 12` are refused, not coerced. */
const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');

// Keys are the environment variable names; `toConfig` below gives them their unit-bearing names.
const envSchema = z.object({
  FP_PORT: int(0, 65535).default(8080),
  FP_HOST: z.string().min(1).default('127.0.0.1'),
  FP_MAX_BODY_BYTES: int(1, 1024 * MIB).default(6 * MIB),
  FP_POOL_SIZE: int(1, 1000).default(3),
  FP_IDLE_TIMEOUT_MS: int(1000, 7 * 24 * 3_600_000).default(300_000),
  FP_SHUTDOWN_GRACE_MS: int(0, 600_000).default(10_000),
  FP_FUNCTIONS_DIR: z.string().min(1).optional(),
  FP_PYTHON: z.string().min(1).optional(),
  FP_DEBUG: flag.default(false),
});

/** Variables this module knows. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/**
 * `FP_*` variables this module does not know: likely typos. main.ts prints them as warnings
 * (not errors: other tools of the platform may share the prefix).
 */
export function unknownSettings(env: Record<string, string | undefined>): string[] {
  return Object.keys(env).filter((key) => key.startsWith('FP_') && !CONFIG_VARIABLES.includes(key));
}

export interface GatewayConfig {
  /** TCP port to listen on; 0 picks any free port (the chosen one is returned by createGateway). */
  readonly port: number;
  readonly host: string;
  /** Largest accepted request body; larger → 413 PAYLOAD_TOO_LARGE. */
  readonly maxBodyBytes: number;
  /** Generic Python runtimes kept ready. */
  readonly poolSize: number;
  /** A warm instance with no call for this long is shut down (scale to zero). */
  readonly idleTimeoutMs: number;
  /** On shutdown, how long in-flight requests may take to finish. */
  readonly shutdownGraceMs: number;
  /** Directory of functions, one subfolder each with a platform.yaml. */
  readonly functionsDir: string | undefined;
  /** Python interpreter for the runtimes; undefined = the pool's default (<repo>/.venv/bin/python). */
  readonly pythonPath: string | undefined;
  /** Forward runtime stdout/stderr to the gateway's stderr. */
  readonly debug: boolean;
}

/** Every bad variable of the environment at once. */
export class ConfigError extends Error {
  readonly code = 'BAD_CONFIG';
  constructor(readonly issues: { key: string; message: string }[]) {
    super(`invalid configuration:\n${issues.map((i) => `  - ${i.key}: ${i.message}`).join('\n')}`);
  }
}

/** Parses and freezes the configuration; throws ConfigError listing every bad key. */
export function loadConfig(env: Record<string, string | undefined>): GatewayConfig {
  const relevant: Record<string, string> = {};
  for (const key of CONFIG_VARIABLES) {
    const value = env[key];
    // An empty variable (`FP_PORT=`) means "not set": shells make that easy to do by accident.
    if (value !== undefined && value !== '') relevant[key] = value;
  }
  const result = envSchema.safeParse(relevant);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => ({ key: issue.path.join('.'), message: issue.message })));
  }
  const e = result.data;
  return Object.freeze({
    port: e.FP_PORT,
    host: e.FP_HOST,
    maxBodyBytes: e.FP_MAX_BODY_BYTES,
    poolSize: e.FP_POOL_SIZE,
    idleTimeoutMs: e.FP_IDLE_TIMEOUT_MS,
    shutdownGraceMs: e.FP_SHUTDOWN_GRACE_MS,
    functionsDir: e.FP_FUNCTIONS_DIR,
    pythonPath: e.FP_PYTHON,
    debug: e.FP_DEBUG,
  });
}
