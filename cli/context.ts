/** What every command receives, and the shape of a command. */
import type { OptionTable, ParsedArgs } from './args.js';
import { str } from './args.js';
import { ApiClient } from './client.js';
import { readCredentials, resolveTarget, type CliEnv, type Credentials, type Target } from './config.js';
import type { Io, Output } from './output.js';

export interface Context {
  out: Output;
  io: Io;
  env: CliEnv;
  cwd: string;
  /** Unix ms; a function so tests can pin it. */
  now: () => number;
  /** Waits for SIGINT/SIGTERM (for `up`); resolves with the signal name. */
  waitForSignal: () => Promise<string>;
}

export interface Command {
  name: string;
  summary: string;
  /** After `fastapi-platform `, e.g. `init [dir] [options]`. */
  usage: string;
  /** More help text, shown after the options. */
  details?: string;
  options: OptionTable;
  run(ctx: Context, args: ParsedArgs): Promise<number>;
}

/** The target platform for this call (flags > env > credentials > default). */
export async function targetOf(ctx: Context, args: ParsedArgs): Promise<{ target: Target; credentials: Credentials | null }> {
  const credentials = await readCredentials(ctx.env.configDir);
  return { target: resolveTarget({ url: str(args, 'url'), token: str(args, 'token') }, ctx.env, credentials), credentials };
}

export async function clientOf(ctx: Context, args: ParsedArgs): Promise<ApiClient> {
  const { target } = await targetOf(ctx, args);
  return new ApiClient(target.url, target.token);
}
