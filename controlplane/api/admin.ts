/** /admin/tokens/rotate and /schema/platform.json. */
import { z } from 'zod';
import { manifestSchema } from '../../protocol/index.js';
import { adminTokenAnswer, jsonDocument } from './answers.js';
import { REVOKED_TOKENS_KEPT } from '../store/index.js';
import { audit } from './audit-log.js';
import { json } from './http.js';
import { operation } from './router.js';

/** Replaces the admin token that made the call; the old one stops working with this answer. */
export const rotateAdminToken = operation(
  {
    id: 'rotateAdminToken', tag: 'tokens', role: 'root', summary: 'Replace the admin token that makes this call',
    answers: { 200: { description: 'The new admin token, shown once', schema: adminTokenAnswer } },
    // A second rotation racing this one with the same token finds it gone.
    errors: ['TOKEN_NOT_FOUND'],
  },
  async (call) => {
    const old = call.scope.principal.tokenId;
    const issued = await call.ctx.store.tokens.rotate(old, { keepRevoked: REVOKED_TOKENS_KEPT });
    call.ctx.tokens.remove(old);
    call.ctx.tokens.add(issued.record);
    call.ctx.bus.publish({ kind: 'tokens' });
    // Install-wide: no workspace. The old token's id is the actor; the new id is the detail.
    await audit(call, 'admin-token.rotate', old, { newTokenId: issued.record.id }, null);
    return json(200, { adminToken: issued.secret });
  },
);

let schemaText: string | null = null;

/**
 * The JSON Schema of platform.yaml, generated once from the zod schema (the input side: human
 * units). Public, like the OpenAPI document: both are in the repository (schemas/).
 */
export const platformSchema = operation(
  {
    id: 'platformSchema', tag: 'schemas', summary: 'The JSON Schema of platform.yaml (no token needed)', role: 'public',
    answers: { 200: { description: 'A JSON Schema (draft 2020-12)', schema: jsonDocument, contentType: 'application/schema+json' } },
    errors: [],
  },
  async () => {
    schemaText ??= JSON.stringify(z.toJSONSchema(manifestSchema, { io: 'input' }));
    return { status: 200, headers: [['content-type', 'application/schema+json']], body: schemaText };
  },
);
