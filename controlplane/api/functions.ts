/** /functions and /functions/{name} (docs/api.md, "Functions") and invoke-token rotation. */
import { FUNCTION_NAME, nameOfKey, PlatformError } from '../../protocol/index.js';
import { createFunction, deleteFunction, getFunction, rotateInvokeToken, updateFunction, type Issuer } from '../service/functions.js';
import type { FunctionSettings } from '../store/index.js';
import { functionAnswer as functionAnswerSchema, functionCreated, functionList, functionPatched, invokeTokenAnswer } from './answers.js';
import { audit } from './audit-log.js';
import { json, noContent } from './http.js';
import { functionAnswer, functionListItem } from './present.js';
import { operation } from './router.js';
import { createFunctionBody, functionDeleteQuery, functionsQuery, limitsSchema, mergedLimits, mergedRetry, mergedSecrets, patchFunctionBody, retrySchema } from './schemas.js';
import { functionParam, validate } from './validate.js';
import { canonicalJson, checkIfMatch } from './setting-tags.js';

const tag = 'functions';

/** Equal settings values, whatever the order of their keys (a merged `limits` is built anew). */
function sameSetting(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

export const create = operation(
  {
    id: 'createFunction', tag, role: 'deployer', summary: 'Create a function (no code yet: upload a version, then deploy)',
    body: createFunctionBody,
    answers: { 201: { description: 'Created; `invokeToken` (shown once) when `auth` is `token`', schema: functionCreated } },
    errors: ['INVALID_NAME', 'FUNCTION_EXISTS', 'QUOTA_EXCEEDED'],
  },
  async (call, input) => {
    const { name, ...settings } = await input.body();
    const { record, invokeToken, invokeTokenExpiresAt } = await createFunction(call.ctx, call.scope.key(name), settings, issuer(call));
    await audit(call, 'function.create', name, {
      preset: settings.preset, invocation: settings.invocation, auth: settings.auth, secrets: Object.keys(settings.secrets).sort(),
    });
    return json(201, { ...(await functionAnswer(call.ctx, record)), ...issued(invokeToken, invokeTokenExpiresAt) });
  },
);

export const list = operation(
  {
    id: 'listFunctions', tag, role: 'viewer',
    summary: "The workspace's functions, by name, paged (`nextCursor`); env names only (`GET /functions/{name}` has the values)",
    query: functionsQuery,
    answers: { 200: { description: 'A page of functions', schema: functionList } }, errors: ['SECRETS_KEY_UNKNOWN', 'SECRET_DECRYPT_FAILED', 'RUN_CURSOR_INVALID'],
  },
  async (call, input) => {
    const { limit = DEFAULT_LIST_LIMIT, cursor } = input.query();
    const after = cursor === undefined ? null : cursorName(cursor);
    const records = await call.ctx.store.functions.list({ workspace: call.scope.workspace });
    const names = records.map((r) => ({ r, name: nameOfKey(r.name) }))
      .filter(({ name }) => after === null || name > after)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const page = names.slice(0, limit);
    const nextCursor = names.length > limit ? Buffer.from(page[page.length - 1]!.name).toString('base64url') : null;
    return json(200, { items: page.map(({ r }) => functionListItem(r)), nextCursor });
  },
);

/** A page of the listing holds this many functions unless `limit` says otherwise. */
const DEFAULT_LIST_LIMIT = 200;

/** The name a listing cursor continues after (base64url of it); anything else is 400. */
function cursorName(cursor: string): string {
  const name = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!FUNCTION_NAME.test(name) || Buffer.from(name).toString('base64url') !== cursor) {
    throw new PlatformError('RUN_CURSOR_INVALID', 'cursor is not one a listing of functions answered: pass nextCursor as it came', { cursor });
  }
  return name;
}

export const get = operation(
  { id: 'getFunction', tag, role: 'viewer', summary: 'A function with its URLs and contract card', answers: { 200: { description: 'The function', schema: functionAnswerSchema } }, errors: [] },
  async (call) => {
    const record = await getFunction(call.ctx, functionParam(call.params[0]!, call.scope).key);
    return json(200, await functionAnswer(call.ctx, record));
  },
);

export const patch = operation(
  {
    id: 'patchFunction', tag, role: 'deployer', summary: 'Change settings (limits and retry merged, env replaced, secrets set or removed by name)',
    body: patchFunctionBody,
    answers: { 200: { description: 'The changed function; `invokeToken` when this change issued one', schema: functionPatched } },
    errors: ['REVISION_CONFLICT', 'SETTING_CONFLICT', 'DEPLOY_START_FAILED'],
  },
  async (call, input) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const body = await input.body();
    let before: FunctionSettings | undefined;
    const { record, invokeToken, invokeTokenExpiresAt } = await updateFunction(call.ctx, key, (current) => {
      before = current;
      checkIfMatch(current, body.ifMatch);
      const change: Partial<FunctionSettings> = {};
      if (body.preset !== undefined) change.preset = body.preset;
      if (body.invocation !== undefined) change.invocation = body.invocation;
      if (body.auth !== undefined) change.auth = body.auth;
      if (body.env !== undefined) change.env = body.env;
      if (body.envChanges !== undefined) change.env = mergedSecrets(current.env, body.envChanges);
      if (body.secrets !== undefined) change.secrets = mergedSecrets(current.secrets, body.secrets);
      // Merged with the current limits, then checked as a whole (bounds, minWarm ≤ maxInstances).
      if (body.limits !== undefined) change.limits = validate(limitsSchema, mergedLimits(current.limits, body.limits), { prefix: 'limits' });
      if (body.retry !== undefined) change.retry = validate(retrySchema, mergedRetry(current.retry, body.retry), { prefix: 'retry' });
      return change;
    }, issuer(call), body.check === true);
    // One entry for the settings, one per kind of secret change: names only, never values. The
    // settings are those whose value changed: `deploy` sends every key, and the entry said
    // `changed=[env, invocation, limits, preset, retry]` for a new timeout (newcomer round 7).
    const settings = Object.keys(body).map((k) => (k === 'envChanges' ? 'env' : k)).filter((k) => k !== 'secrets' && k !== 'ifMatch' && k !== 'check' && !sameSetting(before?.[k as keyof FunctionSettings], record[k as keyof FunctionSettings])).sort();
    if (settings.length > 0) await audit(call, 'function.update', name, { changed: settings, ...(body.auth !== undefined ? { auth: body.auth } : {}) });
    const secrets = Object.entries(body.secrets ?? {});
    const set = secrets.filter(([, v]) => v !== null).map(([k]) => k).sort();
    // Removing a name that was no secret changes nothing (`env set` sends it for a name that may be one).
    const unset = secrets.filter(([k, v]) => v === null && before?.secrets !== undefined && Object.hasOwn(before.secrets, k)).map(([k]) => k).sort();
    if (set.length > 0) await audit(call, 'secret.set', name, { names: set });
    if (unset.length > 0) await audit(call, 'secret.unset', name, { names: unset });
    if (invokeToken !== null) await audit(call, 'invoke-token.rotate', name, { reason: 'auth became token' });
    return json(200, { ...(await functionAnswer(call.ctx, record)), ...issued(invokeToken, invokeTokenExpiresAt) });
  },
);

export const remove = operation(
  {
    id: 'deleteFunction', tag, role: 'owner', summary: 'Delete a function with its versions, deploy log, runs and tokens; with ifRevision, ifCreatedAt or ifNoVersions, only the function as the caller read it',
    query: functionDeleteQuery,
    answers: { 204: { description: 'Deleted', schema: null } }, errors: ['REVISION_CONFLICT', 'FUNCTION_CHANGED'],
  },
  async (call, input) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    await deleteFunction(call.ctx, key, input.query());
    await audit(call, 'function.delete', name);
    return noContent();
  },
);

export const rotateToken = operation(
  {
    id: 'rotateInvokeToken', tag: 'tokens', role: 'deployer', summary: 'A new invoke token; the old one stops working at once',
    answers: { 200: { description: 'The new token, shown once', schema: invokeTokenAnswer } }, errors: [],
  },
  async (call) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const { expiresAt } = issuer(call);
    const invokeToken = await rotateInvokeToken(call.ctx, key, { expiresAt });
    await audit(call, 'invoke-token.rotate', name, expiresAt !== null ? { expiresAt } : undefined);
    return json(200, issued(invokeToken, expiresAt));
  },
);

/** The token making the call, as the issuer of an invoke token: it ends with it (ADR 0074). */
function issuer(call: { scope: { principal: { expiresAt: number | null } } }): Issuer {
  return { expiresAt: call.scope.principal.expiresAt };
}

/** The answer's invoke token fields: the token (shown once) and, when it has one, its end. */
function issued(invokeToken: string | null, expiresAt: number | null): { invokeToken?: string; invokeTokenExpiresAt?: number } {
  if (invokeToken === null) return {};
  return { invokeToken, ...(expiresAt !== null ? { invokeTokenExpiresAt: expiresAt } : {}) };
}
