/**
 * /functions/{name}/data, /functions/{name}/data/rotate and /data/databases (docs/api.md, "Data
 * bindings"), scoped to the caller's workspace (ADR 0011): reads are `viewer`, a rotation is
 * `deployer` (as the invoke token's and a webhook secret's) and is audited `data-credentials.rotate`.
 */
import { bindingOf, databases, rotateDataCredentials } from '../service/data.js';
import { dataBindingAnswer as bindingAnswer, dataDatabasesAnswer as databasesAnswer, dataRotateAnswer as rotateAnswer } from './answers.js';
import { audit } from './audit-log.js';
import { json } from './http.js';
import { operation } from './router.js';
import { functionParam } from './validate.js';
import { graceBody } from './schemas.js';

/** How long the old credential keeps working when the rotation names no `grace`. */
const DEFAULT_GRACE_MS = 60_000;


export const getBinding = operation(
  { id: 'getDataBinding', tag: 'data', role: 'viewer', summary: "The function's database binding (null: none); never its credential", answers: { 200: { description: 'The binding', schema: bindingAnswer } }, errors: [] },
  async (call) => json(200, { binding: await bindingOf(call.ctx, functionParam(call.params[0]!, call.scope).key) }),
);

export const rotate = operation(
  {
    id: 'rotateDataCredentials', tag: 'data', role: 'deployer', summary: "New credentials for the function's binding; the old ones work for the grace period",
    body: graceBody,
    answers: { 200: { description: 'Rotated', schema: rotateAnswer } },
    errors: ['DATA_BINDING_NOT_FOUND'],
  },
  async (call, input) => {
    const body = await input.body();
    const graceMs = body.grace ?? DEFAULT_GRACE_MS;
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const database = await rotateDataCredentials(call.ctx, key, graceMs);
    await audit(call, 'data-credentials.rotate', name, { database, graceMs });
    return json(200, { rotated: true, graceMs });
  },
);

export const listDatabases = operation(
  { id: 'listDataDatabases', tag: 'data', role: 'viewer', summary: "The workspace's bound databases and the functions using each", answers: { 200: { description: 'The databases', schema: databasesAnswer } }, errors: [] },
  async (call) => json(200, { databases: databases(call.ctx, call.scope.workspace) }),
);
