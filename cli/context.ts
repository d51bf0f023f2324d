/** What every command receives, and the shape of a command. */
import type { OptionTable, ParsedArgs } from './args.js';
import { str } from './args.js';
import { CliError } from './errors.js';
import { ApiClient } from './client.js';
import { credentialsWarning, DEFAULT_PROFILE, profileOf, readCredentials, resolveTarget, type CliEnv, type Credentials, type Profile, type Target } from './config.js';
import type { Io, Output } from './output.js';
import type { PythonPreflight } from './python.js';
import { DEFAULT_WORKSPACE, TOKEN_PREFIXES } from '../protocol/index.js';

export interface Context {
  out: Output;
  io: Io;
  env: CliEnv;
  cwd: string;
  /** Unix ms; a function so tests can pin it. */
  now: () => number;
  /** Waits for SIGINT/SIGTERM (for `up`); resolves with the signal name. */
  waitForSignal: () => Promise<string>;
  /** validate.py started for this command (main.ts, `python` commands); absent: a process per check. */
  python?: PythonPreflight;
  /** The first API answer of this command without the platform's `FP-API` header: another service answers at the URL. */
  foreignAnswer?: { url: string; request: string };
}

export interface Command {
  name: string;
  summary: string;
  /** After `fastapi-platform `, e.g. `init [dir] [options]`. */
  usage: string;
  /** More help text, shown after the options. */
  details?: string;
  /**
   * Command lines after `fastapi-platform ` shown under "Examples:" in --help; a test parses each
   * with this command's options (test/unit/cli-help-examples.test.ts), so they run as written.
   * `<runId>`-style placeholders stand for values the user has.
   */
  examples: readonly string[];
  options: OptionTable;
  /**
   * True when this command line runs until stopped and prints one JSON object per line with --json
   * (`up`, `dev`, `logs -f`): its error is then one line too, also before its first event (ADR 0174).
   */
  streams?: (args: ParsedArgs) => boolean;
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

/**
 * The saved credentials, or none when they cannot be read but are not needed: a URL and a token
 * given by flags or the environment (a damaged credentials.json stopped every command, even those).
 */
async function credentialsOrNone(ctx: Context, args: ParsedArgs): Promise<Credentials | null> {
  try {
    return await credentialsOf(ctx);
  } catch (err) {
    const given = (str(args, 'url') ?? ctx.env.url) !== undefined && (str(args, 'token') ?? ctx.env.token) !== undefined;
    if (!given || !(err instanceof CliError) || (err.code !== 'CREDENTIALS_INVALID' && err.code !== 'CREDENTIALS_UNREADABLE')) throw err;
    ctx.out.note(`warning: ${err.message} (not needed here: the URL and token were given)`);
    return null;
  }
}

/** The profile this call uses: `--profile`, else FP_PROFILE, else the default one. */
export function profileName(ctx: Context, args: ParsedArgs): string {
  return str(args, 'profile') ?? ctx.env.profile ?? DEFAULT_PROFILE;
}

/**
 * The target platform for this call (flags > env > the profile > default), the whole credentials
 * file, and the profile used (null: none saved).
 */
export async function targetOf(ctx: Context, args: ParsedArgs): Promise<{ target: Target; credentials: Credentials | null; profile: Profile | null; profileName: string }> {
  const credentials = await credentialsOrNone(ctx, args);
  const name = profileName(ctx, args);
  const profile = profileOf(credentials, name);
  return { target: resolveTarget({ url: str(args, 'url'), token: str(args, 'token'), workspace: str(args, 'workspace') }, ctx.env, profile), credentials, profile, profileName: name };
}

export async function clientOf(ctx: Context, args: ParsedArgs): Promise<ApiClient> {
  const { target } = await targetOf(ctx, args);
  return clientFor(ctx, target);
}

/** An API client for a target (its token; FP-Workspace when a workspace is named). */
export function clientFor(ctx: Context, target: Target): ApiClient {
  const client = new ApiClient(target.url, target.token, () => ctx.out.note(UNSAFE_WARNING), target.workspace, target.tokenSavedFor);
  client.onForeignAnswer = (request) => { ctx.foreignAnswer ??= { url: target.url, request }; };
  return client;
}

/** Printed (stderr) by any command talking to a platform started with --unsafe-no-sandbox. */
export const UNSAFE_WARNING = 'warning: this platform runs functions WITHOUT a sandbox (--unsafe-no-sandbox): any function can read and change the platform and every other function (docs/security.md)';

/**
 * The workspace this call acts in, to build a function's key (`/fn/<key>/`): `--workspace`, FP_WORKSPACE
 * or the profile's; else the token's own (a workspace token: asked with GET /whoami; the admin
 * token: `default`); `default` without a token.
 */
export async function workspaceOf(ctx: Context, target: Target): Promise<string> {
  if (target.workspace !== undefined) return target.workspace;
  if (target.token === undefined || target.token.startsWith(TOKEN_PREFIXES.admin)) return DEFAULT_WORKSPACE;
  if (!target.token.startsWith(TOKEN_PREFIXES.workspace)) return DEFAULT_WORKSPACE;
  return (await clientFor(ctx, target).whoami()).workspace;
}
