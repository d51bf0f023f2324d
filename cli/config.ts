/**
 * The CLI's configuration: the environment is read here only (`loadCliEnv`, pure), the credentials
 * file is read and written here only. Precedence for the target platform: command-line flag, then
 * FP_URL / FP_TOKEN, then the credentials file, then the default URL.
 */
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Credentials, Profile } from './credentials-schema.js';
import { CliError, EXIT } from './errors.js';
import { didYouMean } from './near-words.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** The repository (or installed package) root: dist/cli/config.js → ../.. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliEnv {
  /** Where credentials.json lives. */
  configDir: string;
  /** FP_CACHE_DIR, else $XDG_CACHE_HOME/fastapi-platform (~/.cache/…): what `dev` keeps between its starts. */
  cacheDir: string;
  /** FP_URL, overriding the credentials file. */
  url: string | undefined;
  /** FP_TOKEN (the admin token or a workspace token), overriding the credentials file. */
  token: string | undefined;
  /** FP_PROFILE: which saved profile of the credentials file to use (default: the default one). */
  profile: string | undefined;
  /** FP_WORKSPACE: the workspace an admin token acts in (sent as FP-Workspace). */
  workspace: string | undefined;
  /** FP_PYTHON: the interpreter for `validate` (default: the repository's .venv, then python3). */
  python: string | undefined;
  /** The `FP_*` variables, for `up` (the platform's own `loadConfig` reads them). */
  platformEnv: Record<string, string | undefined>;
  /** The whole environment, for `${VAR}` references in platform.yaml (resolved by deploy). */
  manifestEnv: Record<string, string | undefined>;
  /**
   * The environment for the runtime processes `up` starts: poolmgr's runtimeChildEnv keeps PATH,
   * LANG, the TLS trust settings and what FP_FUNCTION_HOST_ENV names; nothing else reaches user code.
   */
  runtimeEnv: Record<string, string | undefined>;
}

/** Pure: the environment → the CLI's settings. An empty variable counts as unset. */
export function loadCliEnv(env: Record<string, string | undefined>, home: string): CliEnv {
  const get = (key: string): string | undefined => (env[key] === undefined || env[key] === '' ? undefined : env[key]);
  const xdg = get('XDG_CONFIG_HOME');
  return Object.freeze({
    configDir: get('FP_CONFIG_DIR') ?? join(xdg ?? join(home, '.config'), 'fastapi-platform'),
    cacheDir: get('FP_CACHE_DIR') ?? join(get('XDG_CACHE_HOME') ?? join(home, '.cache'), 'fastapi-platform'),
    url: get('FP_URL'),
    token: get('FP_TOKEN'),
    profile: get('FP_PROFILE'),
    workspace: get('FP_WORKSPACE'),
    python: get('FP_PYTHON'),
    platformEnv: Object.freeze(Object.fromEntries(Object.entries(env).filter(([key]) => key.startsWith('FP_')))),
    manifestEnv: Object.freeze({ ...env }),
    runtimeEnv: Object.freeze({ ...env }),
  });
}

export type { Credentials, Profile } from './credentials-schema.js';

/** The name of the top-level profile. */
export const DEFAULT_PROFILE = 'default';

/** The profile named `name` (the default one for `default` or none); PROFILE_NOT_FOUND when there is no such profile. */
export function profileOf(credentials: Credentials | null, name: string | undefined): Profile | null {
  if (name === undefined || name === DEFAULT_PROFILE) return credentials;
  const found = credentials?.profiles?.[name];
  if (found === undefined) {
    const names = [DEFAULT_PROFILE, ...Object.keys(credentials?.profiles ?? {})];
    // A typo (`--profile acem`) names the profile meant first, as a mistyped workspace does.
    const near = didYouMean(name, names);
    throw new CliError(EXIT.USAGE, 'PROFILE_NOT_FOUND', `no profile ${JSON.stringify(name)} in the credentials file${near} (profiles: ${names.join(', ')}); save one with \`fastapi-platform login <url> --profile ${name}\` (it asks for the token)`);
  }
  return found;
}

/** The credentials with `profile` saved under `name` (the top level for the default one). */
export function withProfile(credentials: Credentials | null, name: string, profile: Profile): Credentials {
  const clean: Profile = {
    url: profile.url,
    ...(profile.token !== undefined ? { token: profile.token } : {}),
    ...(profile.workspace !== undefined ? { workspace: profile.workspace } : {}),
    invokeTokens: profile.invokeTokens,
  };
  if (name === DEFAULT_PROFILE) {
    // `up` records its state directory with the token it saved; another token (or URL) is not that one.
    const keepStateDir = credentials?.stateDir !== undefined && credentials.url === clean.url && credentials.token === clean.token;
    return { ...clean, ...(keepStateDir ? { stateDir: credentials.stateDir } : {}), ...(credentials?.profiles ? { profiles: credentials.profiles } : {}) };
  }
  const base: Credentials = credentials ?? { url: profile.url, invokeTokens: {} };
  return { ...base, profiles: { ...(base.profiles ?? {}), [name]: clean } };
}

/** The credentials without the profile `name` (the default one loses its token and workspace, keeps its URL). */
export function withoutProfile(credentials: Credentials, name: string): Credentials {
  if (name === DEFAULT_PROFILE) {
    const { token: _token, workspace: _workspace, stateDir: _stateDir, ...rest } = credentials;
    return { ...rest, invokeTokens: {} };
  }
  const profiles = { ...(credentials.profiles ?? {}) };
  delete profiles[name];
  return { ...credentials, profiles };
}

export function credentialsPath(configDir: string): string {
  return join(configDir, 'credentials.json');
}

/** The saved credentials, or null when there are none. A damaged file is an error naming it. */
export async function readCredentials(configDir: string): Promise<Credentials | null> {
  const file = credentialsPath(configDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(EXIT.FAILURE, 'CREDENTIALS_UNREADABLE', `cannot read ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new CliError(EXIT.FAILURE, 'CREDENTIALS_INVALID', `${file} is not valid JSON; fix or delete it`);
  }
  // zod only here, when there is a file to check: every command starts without it (bench/README.md, section 9).
  const { credentialsSchema } = await import('./credentials-schema.js');
  const parsed = credentialsSchema.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new CliError(EXIT.FAILURE, 'CREDENTIALS_INVALID', `${file} is invalid (${where}); fix or delete it`);
  }
  return parsed.data;
}

/**
 * A warning when group or others may read or change the credentials file (it holds the admin
 * token in clear), e.g. after a copy or an edit by hand; null when it is 0600 or absent.
 */
export async function credentialsWarning(configDir: string): Promise<string | null> {
  const file = credentialsPath(configDir);
  let mode: number;
  try {
    mode = (await stat(file)).mode & 0o777;
  } catch {
    return null;
  }
  if ((mode & 0o077) === 0) return null;
  const shown = mode.toString(8).padStart(4, '0');
  return `warning: ${file} has mode ${shown}: group or others may read it, and it holds your admin token. Fix: chmod 600 ${file}`;
}

/** Writes the credentials with mode 0600 (folder 0700), atomically (temp file, then rename). */
export async function writeCredentials(configDir: string, credentials: Credentials): Promise<string> {
  const file = credentialsPath(configDir);
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode is masked by the umask and ignored for an existing file: set it explicitly.
  await chmod(temp, 0o600);
  await rename(temp, file);
  return file;
}

/** Paths of a platform's own pages and routes: a URL copied from one of them names the platform before it. */
const PLATFORM_PATHS = /\/(console|api\/v1|fn|async|hooks)(\/|$)/;

/**
 * The platform's address when `parsed` is one of its pages or routes (`…/api/v1/`, `…/console/`,
 * `…/fn/hello/`), with the page's path; null for a platform's address (a proxy's prefix included).
 */
export function platformPage(parsed: URL): { url: string; path: string } | null {
  const at = parsed.pathname.search(PLATFORM_PATHS);
  if (at < 0) return null;
  const path = parsed.pathname.slice(at);
  // The console has an origin of its own, `console.<the platform's host>` (docs/console.md).
  const host = path.startsWith('/console') && parsed.hostname.startsWith('console.') ? parsed.host.slice('console.'.length) : parsed.host;
  return { url: `${parsed.protocol}//${host}${parsed.pathname.slice(0, at)}`, path };
}

export interface Target {
  url: string;
  token: string | undefined;
  /** The workspace to send as FP-Workspace (undefined: the token's own, or `default`). */
  workspace: string | undefined;
  /** Where the URL came from, for error hints. */
  source: 'flag' | 'env' | 'credentials' | 'default';
  /** The URL the profile's token is saved for, when it was not sent because this URL is another one. */
  tokenSavedFor?: string;
}

/**
 * The platform to talk to: flag > env > the profile (`--profile`, FP_PROFILE, else the default
 * one) > default. A trailing slash is dropped. The same order for the token and the workspace.
 */
export function resolveTarget(flags: { url?: string | undefined; token?: string | undefined; workspace?: string | undefined }, env: CliEnv, profile: Profile | null): Target {
  const [url, source] = flags.url !== undefined
    ? [flags.url, 'flag' as const]
    : env.url !== undefined
      ? [env.url, 'env' as const]
      : profile !== null
        ? [profile.url, 'credentials' as const]
        : [DEFAULT_URL, 'default' as const];
  // Not a URL at all: a usage error, not "cannot reach the platform … Is it running?".
  if (!/^https?:\/\/[^/\s]/i.test(url)) {
    const where = source === 'flag' ? '--url' : source === 'env' ? 'FP_URL' : 'the saved URL';
    throw new CliError(EXIT.USAGE, 'USAGE', `${where} must be an http:// or https:// URL (e.g. http://127.0.0.1:8080), got ${JSON.stringify(url)}`);
  }
  // One of the platform's pages (the banner's `API: …/api/v1/`, the console's address): every
  // request would go to `…/api/v1/api/v1/…` and come back ROUTE_NOT_FOUND (new-user round 3).
  const page = URL.canParse(url) ? platformPage(new URL(url)) : null;
  if (page !== null) {
    const where = source === 'flag' ? '--url' : source === 'env' ? 'FP_URL' : 'the saved URL';
    throw new CliError(EXIT.USAGE, 'USAGE', `${where} is the platform's address, not one of its pages (${page.path}): use ${page.url}`);
  }
  // The saved token belongs to the saved URL: do not send it to another platform.
  const same = profile !== null && sameOrigin(profile.url, url);
  const savedToken = same ? profile.token : undefined;
  const savedWorkspace = same ? profile.workspace : undefined;
  // Another spelling of the saved loopback address goes to the saved one itself: `localhost` may
  // resolve to ::1, where another local process could listen on the same port and get the token.
  const sent = same && new URL(url).origin !== new URL(profile.url).origin && !flags.token && !env.token ? profile.url : url;
  const target: Target = { url: sent.replace(/\/+$/, ''), token: flags.token ?? env.token ?? savedToken, workspace: flags.workspace ?? env.workspace ?? savedWorkspace, source };
  if (!same && profile?.token !== undefined) target.tokenSavedFor = profile.url;
  return target;
}

/** The loopback names of this machine: `localhost` and `127.0.0.1` on one port are one platform. */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

function sameOrigin(a: string, b: string): boolean {
  try {
    const [x, y] = [new URL(a), new URL(b)];
    if (x.origin === y.origin) return true;
    // Written one way at login, the other way later (the platform prints *.localhost URLs): the
    // same process on this machine, not another platform (new-user round: the token was dropped).
    return x.protocol === y.protocol && x.port === y.port && LOOPBACK.has(x.hostname) && LOOPBACK.has(y.hostname);
  } catch {
    return false;
  }
}
