/** `whoami`: the token in use (kind, role, workspace), the platform and the profile it came from. */
import { terminalSafe } from '../terminal.js';
import { positionals, str, type ParsedArgs } from '../args.js';
import { clientFor, targetOf, type Command, type Context } from '../context.js';
import { EXIT } from '../errors.js';

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  positionals(args, 0, 'whoami');
  const { target, credentials, profileName } = await targetOf(ctx, args);
  const who = await clientFor(ctx, target).whoami();
  const profiles = ['default', ...Object.keys(credentials?.profiles ?? {})];
  // Where the token in use came from: with FP_TOKEN set, "(profile default)" named a profile whose
  // token was not the one sent (new-user round 6).
  const tokenFrom = str(args, 'token') !== undefined ? 'flag' : ctx.env.token !== undefined ? 'env' : 'profile';
  const from = tokenFrom === 'flag' ? 'token from --token' : tokenFrom === 'env' ? 'token from FP_TOKEN' : `profile ${profileName}`;
  ctx.out.data({ ok: true, url: target.url, profile: profileName, profiles, tokenFrom, ...who });
  ctx.out.line(`${terminalSafe(who.label)}  (${who.kind === 'admin' ? 'admin token, root' : `workspace token, ${who.role}`})`);
  ctx.out.line(`workspace  ${who.workspace}`);
  ctx.out.line(`platform   ${target.url}  (${from})`);
  ctx.out.line(`token id   ${who.tokenId}${who.expiresAt !== null ? `, expires ${new Date(who.expiresAt).toISOString()}` : ''}`);
  return EXIT.OK;
}

export const whoamiCommand: Command = {
  name: 'whoami',
  summary: 'show the token in use: kind, role, workspace and platform',
  usage: 'whoami',
  examples: [
    'whoami',
    'whoami --profile acme',
  ],
  options: {},
  run,
};
