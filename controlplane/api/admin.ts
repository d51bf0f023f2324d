/** /admin/tokens/rotate and /schema/platform.json. */
import { z } from 'zod';
import { manifestSchema } from '../../protocol/index.js';
import { json, type ApiResponse } from './http.js';
import type { Call } from './router.js';

/** Replaces the admin token that made the call; the old one stops working with this answer. */
export async function rotateAdminToken(call: Call): Promise<ApiResponse> {
  const issued = await call.ctx.store.tokens.rotate(call.who.tokenId);
  call.ctx.tokens.remove(call.who.tokenId);
  call.ctx.tokens.add(issued.record);
  call.ctx.bus.publish({ kind: 'tokens' });
  return json(200, { adminToken: issued.secret });
}

let schemaText: string | null = null;

/** The JSON Schema of platform.yaml, generated once from the zod schema (the input side: human units). */
export async function platformSchema(_call: Call): Promise<ApiResponse> {
  schemaText ??= JSON.stringify(z.toJSONSchema(manifestSchema, { io: 'input' }));
  return { status: 200, headers: [['content-type', 'application/schema+json']], body: schemaText };
}
