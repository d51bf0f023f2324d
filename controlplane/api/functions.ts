/** /functions and /functions/{name} (docs/api.md, "Functions") and invoke-token rotation. */
import { createFunction, deleteFunction, getFunction, rotateInvokeToken, updateFunction } from '../service/functions.js';
import type { FunctionSettings } from '../store/index.js';
import { functionAnswer as functionAnswerSchema, functionCreated, functionList, functionPatched, invokeTokenAnswer } from './answers.js';
import { json, noContent } from './http.js';
import { functionAnswer, functionView } from './present.js';
import { operation } from './router.js';
import { createFunctionBody, limitsSchema, mergedLimits, mergedRetry, mergedSecrets, patchFunctionBody, retrySchema } from './schemas.js';
import { nameParam, validate } from './validate.js';

const tag = 'functions';

export const create = operation(
  {
    id: 'createFunction', tag, summary: 'Create a function (no code yet: upload a version, then deploy)',
    body: createFunctionBody,
    answers: { 201: { description: 'Created; `invokeToken` (shown once) when `auth` is `token`', schema: functionCreated } },
    errors: ['INVALID_NAME', 'FUNCTION_EXISTS'],
  },
  async (call, input) => {
    const { name, ...settings } = await input.body();
    const { record, invokeToken } = await createFunction(call.ctx, name, settings);
    return json(201, { ...functionAnswer(record, call.ctx.settings), ...(invokeToken !== null ? { invokeToken } : {}) });
  },
);

export const list = operation(
  { id: 'listFunctions', tag, summary: 'List every function, by name', answers: { 200: { description: 'The functions', schema: functionList } }, errors: ['SECRETS_KEY_UNKNOWN', 'SECRET_DECRYPT_FAILED'] },
  async (call) => {
    const records = await call.ctx.store.functions.list();
    return json(200, { items: records.map(functionView) });
  },
);

export const get = operation(
  { id: 'getFunction', tag, summary: 'A function with its URLs and contract card', answers: { 200: { description: 'The function', schema: functionAnswerSchema } }, errors: [] },
  async (call) => {
    const record = await getFunction(call.ctx, nameParam(call.params[0]!));
    return json(200, functionAnswer(record, call.ctx.settings));
  },
);

export const patch = operation(
  {
    id: 'patchFunction', tag, summary: 'Change settings (limits and retry merged, env replaced, secrets set or removed by name)',
    body: patchFunctionBody,
    answers: { 200: { description: 'The changed function; `invokeToken` when this change issued one', schema: functionPatched } },
    errors: ['REVISION_CONFLICT'],
  },
  async (call, input) => {
    const name = nameParam(call.params[0]!);
    const body = await input.body();
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
    return json(200, { ...functionAnswer(record, call.ctx.settings), ...(invokeToken !== null ? { invokeToken } : {}) });
  },
);

export const remove = operation(
  { id: 'deleteFunction', tag, summary: 'Delete a function with its versions, deploy log, runs and tokens', answers: { 204: { description: 'Deleted', schema: null } }, errors: ['REVISION_CONFLICT'] },
  async (call) => {
    await deleteFunction(call.ctx, nameParam(call.params[0]!));
    return noContent();
  },
);

export const rotateToken = operation(
  { id: 'rotateInvokeToken', tag: 'tokens', summary: "A new invoke token; the old one stops working at once", answers: { 200: { description: 'The new token, shown once', schema: invokeTokenAnswer } }, errors: [] },
  async (call) => {
    const invokeToken = await rotateInvokeToken(call.ctx, nameParam(call.params[0]!));
    return json(200, { invokeToken });
  },
);
