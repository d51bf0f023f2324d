/** /functions and /functions/:name (docs/api.md, "Functions") and invoke-token rotation. */
import { createFunction, deleteFunction, getFunction, rotateInvokeToken, updateFunction } from '../service/functions.js';
import type { FunctionSettings } from '../store/index.js';
import { json, noContent, type ApiResponse } from './http.js';
import { contract, functionAnswer, functionView } from './present.js';
import { readBody, type Call } from './router.js';
import { createFunctionBody, limitsSchema, mergedLimits, mergedRetry, mergedSecrets, patchFunctionBody, retrySchema } from './schemas.js';
import { nameParam, validate } from './validate.js';

export async function create(call: Call): Promise<ApiResponse> {
  const body = await readBody(call, createFunctionBody);
  const { name, ...settings } = body;
  const { record, invokeToken } = await createFunction(call.ctx, name, settings);
  return json(201, { ...functionAnswer(record, call.ctx.settings), ...(invokeToken !== null ? { invokeToken } : {}) });
}

export async function list(call: Call): Promise<ApiResponse> {
  const records = await call.ctx.store.functions.list();
  return json(200, { items: records.map(functionView) });
}

export async function get(call: Call): Promise<ApiResponse> {
  const record = await getFunction(call.ctx, nameParam(call.params[0]!));
  return json(200, functionAnswer(record, call.ctx.settings));
}

export async function patch(call: Call): Promise<ApiResponse> {
  const name = nameParam(call.params[0]!);
  const body = await readBody(call, patchFunctionBody);
  const { record, invokeToken } = await updateFunction(call.ctx, name, (current) => {
    const change: Partial<FunctionSettings> = {};
    if (body.preset !== undefined) change.preset = body.preset;
    if (body.invocation !== undefined) change.invocation = body.invocation;
    if (body.auth !== undefined) change.auth = body.auth;
    if (body.env !== undefined) change.env = body.env;
    if (body.secrets !== undefined) change.secrets = mergedSecrets(current.secrets, body.secrets);
    // Merged with the current limits, then checked as a whole (bounds, minWarm ≤ maxInstances).
    if (body.limits !== undefined) change.limits = validate(limitsSchema, mergedLimits(current.limits, body.limits), { prefix: 'limits' });
    if (body.retry !== undefined) change.retry = validate(retrySchema, mergedRetry(current.retry, body.retry), { prefix: 'retry' });
    return change;
  });
  return json(200, {
    function: functionView(record),
    contract: contract(record, call.ctx.settings),
    ...(invokeToken !== null ? { invokeToken } : {}),
  });
}

export async function remove(call: Call): Promise<ApiResponse> {
  await deleteFunction(call.ctx, nameParam(call.params[0]!));
  return noContent();
}

export async function rotateToken(call: Call): Promise<ApiResponse> {
  const invokeToken = await rotateInvokeToken(call.ctx, nameParam(call.params[0]!));
  return json(200, { invokeToken });
}
