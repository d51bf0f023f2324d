/**
 * `login [URL] --token T [--profile P] [--workspace W]`: checks the token with `GET /whoami` and
 * saves it as a profile of the credentials file (mode 0600); `logout` forgets one.
 */
import { positionals, str, type ParsedArgs } from '../args.js';
import { ApiClient } from '../client.js';
import { DEFAULT_URL, withoutProfile, withProfile, writeCredentials } from '../config.js';
import { credentialsOf, profileName, UNSAFE_WARNING, type Command, type Context } from '../context.js';
import { CliError, EXIT, usageError } from '../errors.js';

async function login(ctx: Context, args: ParsedArgs): Promise<number> {
  const [urlArg] = positionals(args, 1, 'login');
  const token = str(args, 'token') ?? ctx.env.token;
  if (token === undefined) throw usageError('login needs a token: fastapi-platform login <url> --token <token> (or FP_TOKEN)');
  const url = (urlArg ?? str(args, 'url') ?? ctx.env.url ?? DEFAULT_URL).replace(/\/+$/, '');
  try {
    new URL(url);
  } catch {
    throw usageError(`${JSON.stringify(url)} is not a URL`);
  }
  const asked = str(args, 'workspace') ?? ctx.env.workspace;
  // The token is checked before anything is saved: a wrong one never lands in the file.
  const who = await new ApiClient(url, token, () => ctx.out.note(UNSAFE_WARNING), asked).whoami().catch((err: unknown) => {
    // Said as what it is here: the client's "log in again (login)" hint read oddly during a login.
    if (err instanceof CliError && err.details.status === 401) {
      throw new CliError(err.exitCode, err.code, `${url} refused this token (${err.code}); nothing was saved. Check it: a token is shown once, when it is made (\`fastapi-platform tokens create\`; the admin token at the platform's first start)`, err.details);
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
  ctx.out.line(`Logged in to ${url} as ${who.label} (${who.role}${who.kind === 'admin' ? ', the admin token' : ''}) in workspace ${who.workspace}.`);
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
  usage: 'login [URL] --token TOKEN [--profile NAME] [--workspace NAME]',
  examples: [
    'login http://127.0.0.1:8080 --token <token> --profile acme',
  ],
  details: [
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
