/** /tokens and /whoami (docs/api.md, "Tokens"): a workspace's tokens, by its owners and the root token. */
import { PlatformError, roleAllows } from '../../protocol/index.js';
import { createToken, listTokens, revokeToken } from '../service/workspace-tokens.js';
import { tokenAnswer, tokenCreated, tokenList, whoamiAnswer } from './answers.js';
import { audit } from './audit-log.js';
import { json } from './http.js';
import { tokenView } from './present.js';
import { operation } from './router.js';
import { TOKEN_ID } from './schemas.js';
import { createTokenBody, tokensQuery } from './tenancy-schemas.js';
import { textParam } from './validate.js';

const tag = 'tokens';

export const whoami = operation(
  {
    id: 'whoami', tag, role: 'viewer', summary: 'The token that makes this call: its kind, role and workspace',
    answers: { 200: { description: 'Who the token is', schema: whoamiAnswer } }, errors: [],
  },
  async (call) => {
    const p = call.scope.principal;
    // publicUrl: where functions answer, as every function's invokeUrl says, for a client to show
    // before a function exists (the console's New function preview; docs/adr/0120-two-tabs-and-public-url.md).
    return json(200, { tokenId: p.tokenId, label: p.label, kind: p.kind, role: p.role, workspace: call.scope.workspace, expiresAt: p.expiresAt, publicUrl: call.ctx.settings.publicUrl() });
  },
);

export const create = operation(
  {
    id: 'createToken', tag, role: 'owner', summary: 'A new token of the workspace with a role at most the caller\'s; its secret is shown once',
    body: createTokenBody,
    answers: { 201: { description: 'The token and its secret (shown only here)', schema: tokenCreated } },
    errors: ['ROLE_FORBIDDEN', 'INVALID_FIELD', 'QUOTA_EXCEEDED'],
  },
  async (call, input) => {
    const body = await input.body();
    // A token never makes one that could do more than itself (the root token makes any).
    if (!roleAllows(call.scope.principal.role, body.role)) {
      throw new PlatformError('ROLE_FORBIDDEN', `a ${call.scope.principal.role} token cannot create a ${body.role} token`, { field: 'role', required: body.role, role: call.scope.principal.role });
    }
    const issued = await createToken(call.ctx, {
      workspace: call.scope.workspace,
      role: body.role,
      label: body.label ?? body.role,
      expiresAt: expiryOf(call.scope.principal.expiresAt, body.expiresIn),
      createdBy: call.scope.label,
    });
    const view = tokenView(issued.record);
    await audit(call, 'token.create', view.id, { role: view.role, label: view.label, expiresAt: view.expiresAt });
    return json(201, { token: view, secret: issued.secret });
  },
);

export const list = operation(
  {
    id: 'listTokens', tag, role: 'owner', summary: "The workspace's tokens, newest first, with their last use (never their secrets)",
    query: tokensQuery,
    answers: { 200: { description: 'The tokens', schema: tokenList } }, errors: [],
  },
  async (call, input) => {
    const query = input.query();
    const items = await listTokens(call.ctx, call.scope.workspace, query.includeRevoked ?? false);
    return json(200, { items: items.map(tokenView) });
  },
);

export const revoke = operation(
  {
    id: 'revokeToken', tag, role: 'owner', summary: 'Revoke a token of the workspace; it stops working at once',
    answers: { 200: { description: 'The revoked token', schema: tokenAnswer } },
    errors: ['TOKEN_NOT_FOUND'],
  },
  async (call) => {
    const id = textParam(call.params[0]!, 'tokenId', TOKEN_ID);
    const record = await revokeToken(call.ctx, call.scope.workspace, id);
    await audit(call, 'token.revoke', id, { role: record.role, label: record.label });
    return json(200, { token: tokenView(record) });
  },
);

/**
 * A new token's expiry: never after its creator's (red team 9). Before, an owner token given for a
 * day minted an owner token without expiry, and its expiry bounded nothing. Without `expiresIn`
 * the new token ends with its creator; a longer `expiresIn` is refused, not cut silently.
 */
function expiryOf(creatorExpiresAt: number | null, expiresIn: number | undefined, now = Date.now()): number | null {
  const asked = expiresIn === undefined ? null : now + expiresIn;
  if (creatorExpiresAt === null) return asked;
  if (asked === null) return creatorExpiresAt;
  if (asked > creatorExpiresAt) {
    throw new PlatformError('INVALID_FIELD', `a token cannot outlive the token that creates it (this one expires at ${new Date(creatorExpiresAt).toISOString()}): ask for a shorter expiresIn, or leave it out`, {
      field: 'expiresIn', expiresAt: creatorExpiresAt,
    });
  }
  return asked;
}
