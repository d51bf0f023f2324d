/** `tokens create|list|revoke`: a workspace's tokens (its owners and the admin token). Docs: docs/cli.md. */
import { terminalSafe } from '../terminal.js';
import { flag, positionals, str, type ParsedArgs } from '../args.js';
import type { ApiToken } from '../client.js';
import { clientOf, type Command, type Context } from '../context.js';
import { EXIT, inCommandWords, usageError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import { formatAgo, table } from '../output.js';
import { parseLongDurationMs, ROLES } from '../../protocol/index.js';

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
    const created = `Created ${token.role} token ${token.id} of workspace ${token.workspace}${token.expiresAt !== null ? `, expiring ${new Date(token.expiresAt).toISOString()}` : ''}.`;
    // Piped or redirected (`tokens create … | login URL`, `> token.txt`): stdout is the secret
    // alone, the sentence goes to stderr (ADR 0188). The whole message reached login as its token.
    ctx.out.shownOnce([created, 'The token (shown once; store it as a secret, e.g. FP_TOKEN in CI):'], secret, `${created} Its secret (shown once) is on stdout.`);
    return EXIT.OK;
  }
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
  throw usageError(`unknown subcommand ${JSON.stringify(verb)}${didYouMean(verb, ['create', 'list', 'revoke'])}; tokens create|list|revoke`);
}

export const tokensCommand: Command = {
  name: 'tokens',
  summary: "create, list or revoke the workspace's tokens (roles viewer, invoker, deployer, owner)",
  usage: 'tokens create --role ROLE [--expires 30d] [--label TEXT] | tokens [list] [--all] | tokens revoke ID',
  examples: [
    'tokens create --role deployer --label ci --expires 90d',
    'tokens',
    'tokens revoke <tokenId>',
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
  ].join('\n'),
  options: {
    role: { type: 'string', value: 'ROLE', description: `the new token's role (${ROLES.join(', ')})` },
    expires: { type: 'string', value: 'DURATION', description: 'the token stops working after this long (30d, 12h); default: never' },
    label: { type: 'string', value: 'TEXT', description: 'a name shown in lists and the audit log (default: the role)' },
    all: { type: 'boolean', description: 'list: also revoked tokens' },
  },
  run,
};
