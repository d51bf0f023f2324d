/**
 * `login [URL] [--token T] [--profile P] [--workspace W]`: checks the token (asked for without echo on
 * a terminal, or read from stdin, when not given) with `GET /whoami` and saves it as a profile of the
 * credentials file (mode 0600); `logout` forgets one.
 */
import { terminalSafe } from '../terminal.js';
import { positionals, str, type ParsedArgs } from '../args.js';
import { ApiClient, REVOKED_WORKSPACE_TOKEN } from '../client.js';
import { TOKEN_PREFIXES } from '../../protocol/index.js';
import { DEFAULT_URL, platformPage, withoutProfile, withProfile, writeCredentials } from '../config.js';
import { credentialsOf, profileName, UNSAFE_WARNING, type Command, type Context } from '../context.js';
import { CliError, EXIT, usageError } from '../errors.js';

/**
 * The platform URL `login` saves, from what was typed: `localhost:8080` (no scheme) was sent as a
 * URL of scheme `localhost:` and reported as "cannot reach the platform … Is it running?", and the
 * console's address `npm start` prints (…/console/) answered `HTTP_302`. The first is refused with
 * the URL meant; the second is cut to the platform's address, said in a note (the token is checked
 * before anything is saved).
 */
export function platformUrl(typed: string): { url: string; note: string | null } {
  const trimmed = typed.trim().replace(/\/+$/, '');
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    throw usageError(`${JSON.stringify(typed)} is not a URL: a platform URL starts with http:// or https:// (did you mean http://${trimmed}?)`);
  }
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    throw usageError(`${JSON.stringify(typed)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw usageError(`${JSON.stringify(typed)} is not an http(s) URL`);
  const page = platformPage(parsed);
  if (page === null) return { url: trimmed, note: null };
  const { url, path } = page;
  return { url, note: `note: logging in to ${url}, the platform's address (${path} is one of its pages)` };
}

/**
 * The token when neither --token nor FP_TOKEN gives one: typed without echo on a terminal, else read
 * from stdin when it is a file or a pipe (`< token.txt`). A command line is every local user's to
 * read (`ps -eo args`) while the command runs: `login … --token <the admin token>`, as the README
 * showed it, handed the admin token to anyone polling the process list (red team round 27).
 */
async function tokenFromStdin(ctx: Context): Promise<string | undefined> {
  let text = '';
  if (ctx.io.stdinKind === 'tty' && ctx.io.readSecret !== undefined) text = await ctx.io.readSecret('Token (not shown as you type; Enter ends it): ');
  else if (ctx.io.stdinKind === 'file' || ctx.io.stdinKind === 'pipe') text = (await ctx.io.readStdin()).toString('utf8');
  text = text.trim();
  return text === '' ? undefined : text;
}

async function login(ctx: Context, args: ParsedArgs): Promise<number> {
  const [urlArg] = positionals(args, 1, 'login');
  const token = str(args, 'token') ?? ctx.env.token ?? await tokenFromStdin(ctx);
  if (token === undefined) throw usageError('login needs a token: type it at the prompt of fastapi-platform login <url> on a terminal, or give it on stdin (< token.txt), in FP_TOKEN or with --token (a command line is every local user\'s to read with ps while it runs)');
  const { url, note } = platformUrl(urlArg ?? str(args, 'url') ?? ctx.env.url ?? DEFAULT_URL);
  if (note !== null) ctx.out.note(note);
  const asked = str(args, 'workspace') ?? ctx.env.workspace;
  // The token is checked before anything is saved: a wrong one never lands in the file.
  const who = await new ApiClient(url, token, () => ctx.out.note(UNSAFE_WARNING), asked).whoami().catch((err: unknown) => {
    // Said as what it is here: the client's "log in again (login)" hint read oddly during a login.
    if (err instanceof CliError && err.details.status === 401) {
      // An expired token is the right one, too late: "check it" sent the user looking for a typo.
      const expiresAt = typeof err.details['expiresAt'] === 'number' ? new Date(err.details['expiresAt']).toISOString() : null;
      const why = err.code === 'TOKEN_EXPIRED'
        ? `it expired${expiresAt !== null ? ` at ${expiresAt}` : ''} (TOKEN_EXPIRED); nothing was saved. Ask the workspace's owner for a new one (\`fastapi-platform tokens create --expires …\`)`
        : `(${err.code}); nothing was saved. Check it: a token is shown once, when it is made (\`fastapi-platform tokens create\`; the admin token at the platform's first start)${token.startsWith(TOKEN_PREFIXES.workspace) ? `; ${REVOKED_WORKSPACE_TOKEN}` : ''}`;
      throw new CliError(err.exitCode, err.code, `${url} refused this token${err.code === 'TOKEN_EXPIRED' ? ': ' : ' '}${why}`, err.details);
    }
    throw err;
  });
  const name = profileName(ctx, args);
  const credentials = await credentialsOf(ctx);
  const previous = name === 'default' ? credentials : (credentials?.profiles?.[name] ?? null);
  // Invoke tokens saved for this platform and workspace stay; another's would be of no use.
  const keepTokens = previous !== null && previous.url === url && previous.workspace === (who.kind === 'workspace' || asked !== undefined ? who.workspace : undefined);
  const file = await writeCredentials(ctx.env.configDir, withProfile(credentials, name, {
    url,
    token,
    ...(who.kind === 'workspace' || asked !== undefined ? { workspace: who.workspace } : {}),
    invokeTokens: keepTokens ? previous.invokeTokens : {},
  }));
  ctx.out.data({ ok: true, profile: name, url, file, ...who });
  ctx.out.line(`Logged in to ${url} as ${terminalSafe(who.label)} (${who.role}${who.kind === 'admin' ? ', the admin token' : ''}) in workspace ${who.workspace}.`);
  ctx.out.line(`Saved as profile "${name}" in ${file}${name === 'default' ? '' : `; use it with --profile ${name}`}.`);
  return EXIT.OK;
}

async function logout(ctx: Context, args: ParsedArgs): Promise<number> {
  positionals(args, 0, 'logout');
  const name = profileName(ctx, args);
  const credentials = await credentialsOf(ctx);
  const held = name === 'default' ? credentials?.token !== undefined : credentials?.profiles?.[name] !== undefined;
  if (credentials === null || !held) {
    ctx.out.data({ ok: true, profile: name, removed: false });
    ctx.out.line(`Profile "${name}" holds no token: nothing to forget.`);
    return EXIT.OK;
  }
  const file = await writeCredentials(ctx.env.configDir, withoutProfile(credentials, name));
  ctx.out.data({ ok: true, profile: name, removed: true, file });
  ctx.out.line(`Forgot the token of profile "${name}" (${file}). It still works on the platform: revoke it there if it leaked.`);
  return EXIT.OK;
}

export const loginCommand: Command = {
  name: 'login',
  summary: 'check a token and save it (with the platform URL) as a profile of the credentials file',
  usage: 'login [URL] [--token TOKEN] [--profile NAME] [--workspace NAME]',
  examples: [
    'login http://127.0.0.1:8080 --profile acme        # asks for the token (not shown as you type)',
    'login http://127.0.0.1:8080 < token.txt',
  ],
  details: [
    'Without --token (or FP_TOKEN) it asks for the token on a terminal, without echo, or reads it from',
    'stdin (a file or a pipe): a command line is every local user\'s to read (ps) while it runs.',
    'Asks the platform who the token is (GET /api/v1/whoami) and saves URL, token and workspace in',
    'the credentials file (mode 0600): as the default profile, or under --profile NAME. Every command',
    'takes --profile NAME (or FP_PROFILE) to use a saved profile. A workspace token acts in its own',
    'workspace; with the admin token, --workspace NAME saves the workspace it acts in (FP-Workspace).',
  ].join('\n'),
  options: {},
  run: login,
};

export const logoutCommand: Command = {
  name: 'logout',
  summary: 'forget the token of a profile (the default one, or --profile NAME)',
  usage: 'logout [--profile NAME]',
  examples: [
    'logout --profile acme',
  ],
  details: 'The token stays valid on the platform: revoke it there (`fastapi-platform tokens revoke ID`) if it leaked.',
  options: {},
  run: logout,
};
