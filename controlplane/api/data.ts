/**
 * /functions/{name}/data, /functions/{name}/data/rotate, /data/databases and
 * /data/databases/{database} (docs/api.md, "Data bindings"), scoped to the caller's workspace (ADR
 * 0011): reads are `viewer`, a rotation is `deployer` (as the invoke token's and a webhook
 * secret's) and is audited `data-credentials.rotate`; dropping a database (its data gone for good)
 * is `owner`, audited `data.drop`.
 */
import { bindingOf, databases, dropDatabase as dropDatabaseOf, rotateDataCredentials } from '../service/data.js';
import { dataBindingAnswer as bindingAnswer, dataDatabasesAnswer as databasesAnswer, dataDropAnswer as dropAnswer, dataRotateAnswer as rotateAnswer } from './answers.js';
import { audit } from './audit-log.js';
import { json } from './http.js';
import { operation } from './router.js';
import { functionParam, textParam } from './validate.js';
import { graceBody, LOCAL_DATABASE } from './schemas.js';

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
  {
    id: 'listDataDatabases', tag: 'data', role: 'viewer', summary: "The workspace's databases (bound, or left by functions no longer using them) and the functions using each",
    answers: { 200: { description: 'The databases', schema: databasesAnswer } }, errors: ['DATA_BACKEND_UNAVAILABLE'],
  },
  async (call) => json(200, { databases: await databases(call.ctx, call.scope.workspace) }),
);

export const dropDatabase = operation(
  {
    id: 'dropDataDatabase', tag: 'data', role: 'owner', summary: 'Drop a database of the workspace and all its data; refused while a function is bound to it',
    answers: { 200: { description: 'Dropped', schema: dropAnswer } },
    errors: ['DATA_DATABASE_IN_USE', 'DATA_DATABASE_NOT_FOUND', 'DATA_BACKEND_UNAVAILABLE', 'DATA_BACKEND_NOT_CONFIGURED'],
  },
  async (call) => {
    const database = textParam(call.params[0]!, 'database', LOCAL_DATABASE);
    const { workspace } = call.scope;
    const { physical } = await dropDatabaseOf(call.ctx, workspace, database);
    await audit(call, 'data.drop', database, { physical });
    return json(200, { dropped: true, workspace, database, physical });
  },
);
