/** What every command receives, and the shape of a command. */
import type { OptionTable, ParsedArgs } from './args.js';
import { str } from './args.js';
import { ApiClient } from './client.js';
import { credentialsWarning, readCredentials, resolveTarget, type CliEnv, type Credentials, type Target } from './config.js';
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

const warned = new WeakSet<Context>();

/** The saved credentials; warns once per command (stderr) when the file's mode lets others read it. */
export async function credentialsOf(ctx: Context): Promise<Credentials | null> {
  if (!warned.has(ctx)) {
    warned.add(ctx);
    const warning = await credentialsWarning(ctx.env.configDir);
    if (warning !== null) ctx.out.note(warning);
  }
  return readCredentials(ctx.env.configDir);
}

/** The target platform for this call (flags > env > credentials > default). */
export async function targetOf(ctx: Context, args: ParsedArgs): Promise<{ target: Target; credentials: Credentials | null }> {
  const credentials = await credentialsOf(ctx);
  return { target: resolveTarget({ url: str(args, 'url'), token: str(args, 'token') }, ctx.env, credentials), credentials };
}

export async function clientOf(ctx: Context, args: ParsedArgs): Promise<ApiClient> {
  const { target } = await targetOf(ctx, args);
  return new ApiClient(target.url, target.token, () => ctx.out.note(UNSAFE_WARNING));
}

/** Printed (stderr) by any command talking to a platform started with --unsafe-no-sandbox. */
export const UNSAFE_WARNING = 'warning: this platform runs functions WITHOUT a sandbox (--unsafe-no-sandbox): any function can read and change the platform and every other function (docs/security.md)';
