/** `tokens create|list|revoke`: a workspace's tokens (its owners and the admin token). Docs: docs/cli.md. */
import { terminalSafe } from '../terminal.js';
import { flag, positionals, str, type ParsedArgs } from '../args.js';
import type { ApiClient, ApiToken } from '../client.js';
import { clientOf, type Command, type Context } from '../context.js';
import { CliError, EXIT, inCommandWords, usageError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import { formatAgo, table } from '../output.js';
import { parseLongDurationMs, ROLES } from '../../protocol/index.js';
import { selfCommandOf } from '../self-command.js';

function printList(ctx: Context, items: ApiToken[]): void {
  if (items.length === 0) {
    ctx.out.line('No tokens in this workspace.');
    return;
  }
  const now = ctx.now();
  ctx.out.line(table(
    ['ID', 'ROLE', 'LABEL', 'CREATED', 'LAST USED', 'EXPIRES', 'STATE'],
    items.map((t) => [
      t.id, t.role, t.label, formatAgo(t.createdAt, now), t.lastUsedAt === null ? 'never' : formatAgo(t.lastUsedAt, now),
      t.expiresAt === null ? 'never' : new Date(t.expiresAt).toISOString().slice(0, 16).replace('T', ' '),
      t.revokedAt !== null ? 'revoked' : t.expiresAt !== null && t.expiresAt <= now ? 'expired' : 'live',
    ]),
  ));
}

const expiring = (token: ApiToken): string => (token.expiresAt !== null ? `, expiring ${new Date(token.expiresAt).toISOString()}` : '');

/**
 * A new token's secret, shown once, with what its holder does with it (new-user round 16: nothing
 * said what a lead sends a developer). Piped or redirected (`tokens create … | login URL`,
 * `> token.txt`): stdout is the secret alone, the sentences go to stderr (ADR 0188).
 */
function printSecret(ctx: Context, client: ApiClient, sentence: string, secret: string): void {
  const holder = `Its holder saves it with \`${selfCommandOf(ctx)} login ${client.baseUrl} --profile <name>\` (which asks for it; from a clone of this repository), or signs in to the console with it; send it over a private channel.`;
  ctx.out.shownOnce([sentence, holder, 'The token (shown once; store it as a secret, e.g. FP_TOKEN in CI):'], secret, `${sentence} Its secret (shown once) is on stdout. ${holder}`);
}

/**
 * `tokens rotate ID`: a leaked token replaced by a new one of the same role, label and expiry
 * (the time left, as the API counts it from its own clock), the old one revoked (new-user round 16: a lead found no rotate and no word of how).
 * Two API calls, each its own audit entry (token.revoke, token.create); the old one is revoked
 * first, so a refused create leaves nothing working that leaked, and says so.
 */
async function rotate(ctx: Context, client: ApiClient, id: string | undefined): Promise<number> {
  if (id === undefined) throw usageError('tokens rotate needs a token id: fastapi-platform tokens rotate <id> (see tokens list)');
  const old = (await client.listTokens(false)).items.find((t) => t.id === id);
  if (old === undefined) throw new CliError(EXIT.API, 'TOKEN_NOT_FOUND', `no live token ${JSON.stringify(id)} in this workspace (the ID column of \`${selfCommandOf(ctx)} tokens list\`; a revoked token needs no rotation)`);
  const left = old.expiresAt === null ? undefined : old.expiresAt - ctx.now();
  if (left !== undefined && left <= 0) throw new CliError(EXIT.API, 'TOKEN_EXPIRED', `token ${id} has expired already: create a new one (\`tokens create --role ${old.role}\`) and revoke this one`);
  // The leaked one stops first; a refused create after it leaves no token working that should not.
  // Not the token making the call: revoked, it could make no successor.
  if ((await client.whoami()).tokenId === id) throw new CliError(EXIT.API, 'INVALID_FIELD', `${id} is the token in use: another owner's token (or the admin token, with -w ${old.workspace}) rotates it, or create your next one, log in with it, then revoke this one`, { field: 'ID' });
  await client.revokeToken(id);
  const { token, secret } = await client.createToken({ role: old.role, label: old.label, ...(left !== undefined ? { expiresIn: `${left}ms` } : {}) }).catch((err: unknown) => {
    if (!(err instanceof CliError)) throw err;
    throw new CliError(err.exitCode, err.code, `revoked ${id}, but its successor was not made: ${err.message}; make it with \`tokens create --role ${old.role} --label <label>\``, err.details);
  });
  ctx.out.data({ ok: true, token, secret, revoked: old.id });
  printSecret(ctx, client, `Rotated token ${old.id} (${old.role}, ${terminalSafe(old.label)}) of workspace ${token.workspace}: it stopped working now; the new one is ${token.id}${expiring(token)}.`, secret);
  return EXIT.OK;
}

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  const pos = positionals(args, 2, 'tokens');
  const verb = pos[0] ?? 'list';
  const client = await clientOf(ctx, args);
  if (verb === 'create') {
    const role = str(args, 'role');
    if (role === undefined) throw usageError(`tokens create needs --role ${ROLES.join('|')}`);
    if (!(ROLES as readonly string[]).includes(role)) {
      // `--role admin`: the admin token is no role a token can be made with; it is the platform's own.
      const why = role === 'admin' || role === 'root' ? ' (the admin token is not made here: the platform prints it at its first start; `owner` is the highest role of a workspace token)' : didYouMean(role, ROLES);
      throw usageError(`--role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(role)}${why}`);
    }
    const expires = str(args, 'expires');
    // Checked here as the API checks it (0d is a duration too short to be one): exit 2, not the API's INVALID_FIELD.
    if (expires !== undefined) {
      try {
        parseLongDurationMs(expires);
      } catch {
        throw usageError(`--expires must be a duration of at least 1 ms such as 30d, 12h or 90m, got ${JSON.stringify(expires)}`);
      }
    }
    const label = str(args, 'label');
    const { token, secret } = await client.createToken({ role, ...(label !== undefined ? { label } : {}), ...(expires !== undefined ? { expiresIn: expires } : {}) });
    ctx.out.data({ ok: true, token, secret });
    printSecret(ctx, client, `Created ${token.role} token ${token.id} of workspace ${token.workspace}${expiring(token)}.`, secret);
    return EXIT.OK;
  }
  if (verb === 'rotate') return rotate(ctx, client, pos[1]);
  if (verb === 'list') {
    const { items } = await client.listTokens(flag(args, 'all'));
    ctx.out.data({ ok: true, items });
    printList(ctx, items);
    return EXIT.OK;
  }
  if (verb === 'revoke') {
    const id = pos[1];
    if (id === undefined) throw usageError('tokens revoke needs a token id: fastapi-platform tokens revoke <id> (see tokens list)');
    const { token } = await client.revokeToken(id).catch((err: unknown) => {
      throw inCommandWords(err, 'tokenId', 'ID', `ID ${JSON.stringify(id)} is not a token id: ids look like tok_… (the ID column of \`fastapi-platform tokens list\`)`);
    });
    ctx.out.data({ ok: true, token });
    ctx.out.line(`Revoked token ${token.id} (${token.role}, ${terminalSafe(token.label)}); it stops working at once.`);
    return EXIT.OK;
  }
  throw usageError(`unknown subcommand ${JSON.stringify(verb)}${didYouMean(verb, ['create', 'list', 'revoke', 'rotate'])}; tokens create|list|revoke|rotate`);
}

export const tokensCommand: Command = {
  name: 'tokens',
  summary: "create, list, revoke or rotate the workspace's tokens (roles viewer, invoker, deployer, owner)",
  usage: 'tokens create --role ROLE [--expires 30d] [--label TEXT] | tokens [list] [--all] | tokens revoke ID | tokens rotate ID',
  examples: [
    'tokens create --role deployer --label ci --expires 90d',
    'tokens',
    'tokens revoke <tokenId>',
    'tokens rotate <tokenId>',
  ],
  details: [
    'Roles, each including the ones before it: viewer (read functions, runs, logs, usage), invoker',
    '(+ invoke, also token-mode functions), deployer (+ create, upload, deploy, settings, secrets),',
    'owner (+ delete functions, tokens, the audit log). A token creates tokens of its own workspace',
    'with a role at most its own; the admin token creates any (--workspace NAME picks the workspace).',
    'The secret is shown once and stored only as a keyed digest. A CI job deploys with a deployer token:',
    '  fastapi-platform tokens create --role deployer --label github-ci',
    'When stdout is not a terminal (a pipe, a file), create prints the secret alone on stdout and the rest',
    'on stderr, so it can be saved or piped on (--json: {ok, token, secret}):',
    '  fastapi-platform tokens create --role deployer > deployer.token',
    '  fastapi-platform tokens create --role owner -w acme | fastapi-platform login URL --profile acme',
    'A token\'s holder saves it with `fastapi-platform login URL --profile NAME` (it asks for the token),',
    'or signs in to the console with it: send them the platform URL and the token, privately.',
    'A leaked token: `tokens rotate ID` makes a new one (same role, label and end) and revokes the old',
    'at once; the new secret goes to its holder. A developer who leaves: `tokens revoke ID` for each',
    'of their tokens (the LABEL column). Both are in the audit log (token.create, token.revoke).',
  ].join('\n'),
  options: {
    role: { type: 'string', value: 'ROLE', description: `the new token's role (${ROLES.join(', ')})` },
    expires: { type: 'string', value: 'DURATION', description: 'the token stops working after this long (30d, 12h); default: never' },
    label: { type: 'string', value: 'TEXT', description: 'a name shown in lists and the audit log (default: the role)' },
    all: { type: 'boolean', description: 'list: also revoked tokens' },
  },
  run,
};
