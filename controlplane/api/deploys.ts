/** /functions/{name}/{deploy,rollback,pause,resume,deploys} (docs/api.md, "Deploys"). */
import { deployVersion, pause, resume, rollback, type DeployResult } from '../service/deploys.js';
import { getFunction } from '../service/functions.js';
import { deployAnswer, deployList } from './answers.js';
import { json, type ApiResponse } from './http.js';
import { deployView, functionView } from './present.js';
import { operation } from './router.js';
import { deployBody, pageQuery, statusBody } from './schemas.js';
import { nameParam } from './validate.js';

const tag = 'deploys';
const answers = { 200: { description: 'The function after the change and its deploy-log entry', schema: deployAnswer } };

function answer(result: DeployResult): ApiResponse {
  return json(200, { function: functionView(result.record), deploy: deployView(result.entry) });
}

/** Why a version whose dependencies are not ready cannot be served (docs/dependencies.md). */
const DEPS_REFUSALS = ['DEPS_NOT_READY', 'DEPS_NOT_FOUND', 'DEPS_CONFLICT', 'DEPS_TOO_LARGE', 'DEPS_BUILD_TIMEOUT', 'DEPS_INDEX_UNREACHABLE', 'DEPS_BUILD_FAILED'] as const;

export const deploy = operation(
  { id: 'deploy', tag, summary: 'Serve a version (default: the latest)', body: deployBody, answers, errors: ['VERSION_NOT_FOUND', 'REVISION_CONFLICT', ...DEPS_REFUSALS] },
  async (call, input) => {
    const name = nameParam(call.params[0]!);
    const body = await input.body();
    return answer(await deployVersion(call.ctx, name, { ...body, actor: call.who.label }));
  },
);

export const rollbackRoute = operation(
  {
    id: 'rollback', tag, summary: 'Serve an earlier version (default: the one numbered below the active one)', body: deployBody, answers,
    errors: ['VERSION_NOT_FOUND', 'FUNCTION_NOT_DEPLOYED', 'NO_PREVIOUS_VERSION', 'REVISION_CONFLICT', ...DEPS_REFUSALS],
  },
  async (call, input) => {
    const name = nameParam(call.params[0]!);
    const body = await input.body();
    return answer(await rollback(call.ctx, name, { ...body, actor: call.who.label }));
  },
);

export const pauseRoute = operation(
  { id: 'pause', tag, summary: 'Stop serving (calls answer 503 FUNCTION_PAUSED); instances drain', body: statusBody, answers, errors: ['REVISION_CONFLICT'] },
  async (call, input) => {
    const name = nameParam(call.params[0]!);
    const body = await input.body();
    return answer(await pause(call.ctx, name, { ...body, actor: call.who.label }));
  },
);

export const resumeRoute = operation(
  { id: 'resume', tag, summary: 'Serve the active version again', body: statusBody, answers, errors: ['REVISION_CONFLICT'] },
  async (call, input) => {
    const name = nameParam(call.params[0]!);
    const body = await input.body();
    return answer(await resume(call.ctx, name, { ...body, actor: call.who.label }));
  },
);

export const listDeploys = operation(
  { id: 'listDeploys', tag, summary: 'The deploy log, newest first (`before`: a `seq`)', query: pageQuery, answers: { 200: { description: 'A page of the deploy log', schema: deployList } }, errors: [] },
  async (call, input) => {
    const name = nameParam(call.params[0]!);
    const query = input.query();
    await getFunction(call.ctx, name);
    const items = await call.ctx.store.deploys.list(name, { ...(query.limit ? { limit: query.limit } : {}), ...(query.before ? { beforeSeq: query.before } : {}) });
    return json(200, { items: items.map(deployView) });
  },
);
