/** /functions/{name}/{deploy,rollback,pause,resume,deploys} (docs/api.md, "Deploys"). */
import { workspaceOfKey } from '../../protocol/index.js';
import { deployVersion, pause, resume, rollback, type DeployResult } from '../service/deploys.js';
import { getFunction } from '../service/functions.js';
import { deployAnswer, deployList } from './answers.js';
import { json, type ApiResponse } from './http.js';
import { deployView, functionView } from './present.js';
import { operation } from './router.js';
import { deployBody, pageQuery, statusBody } from './schemas.js';
import { audit } from './audit-log.js';
import { triggerChanges } from './trigger-changes.js';
import { bindingChange } from './binding-changes.js';
import { functionParam } from './validate.js';
import type { Call } from './router.js';

const tag = 'deploys';
const answers = { 200: { description: 'The function after the change and its deploy-log entry', schema: deployAnswer } };

/**
 * The answer, after the change's audit entry (`deploy`, `rollback`, `pause`, `resume`); a deploy or
 * rollback that changes the triggers (they live in the version's manifest) names them, and one
 * that changes the data binding (also the manifest's) writes `data.bind` or `data.unbind` after it.
 */
async function answer(call: Call, name: string, key: string, result: DeployResult): Promise<ApiResponse> {
  const e = result.entry;
  const manifests = e.fromVersion !== e.toVersion && e.toVersion !== null ? await versionManifests(call, key, e.fromVersion, e.toVersion) : null;
  const triggers = manifests === null ? null : triggerChanges(manifests.before, manifests.after);
  await audit(call, e.action, name, { fromVersion: e.fromVersion, toVersion: e.toVersion, status: e.status, ...(e.note !== '' ? { note: e.note } : {}), ...(triggers !== null ? { triggers } : {}), ...(result.pruned !== undefined ? { pruned: result.pruned } : {}) });
  const binding = manifests === null ? null : bindingChange(workspaceOfKey(key), manifests.before, manifests.after);
  if (binding !== null) await audit(call, binding.action, name, { ...binding.detail, fromVersion: e.fromVersion, toVersion: e.toVersion });
  return json(200, { function: functionView(result.record), deploy: deployView(result.entry), ...(result.start !== undefined ? { start: result.start } : {}), ...(result.pruned !== undefined ? { pruned: result.pruned } : {}) });
}

async function versionManifests(call: Call, key: string, from: number | null, to: number): Promise<{ before: unknown; after: unknown } | null> {
  try {
    const [before, after] = await Promise.all([from === null ? null : call.ctx.store.versions.get(key, from), call.ctx.store.versions.get(key, to)]);
    return { before: before?.manifest ?? null, after: after?.manifest ?? null };
  } catch {
    return null; // the change is done; its audit entries go without the manifest-derived detail
  }
}

/** Why a version whose dependencies are not ready cannot be served (docs/dependencies.md). */
const DEPS_REFUSALS = ['DEPS_NOT_READY', 'DEPS_NOT_FOUND', 'DEPS_CONFLICT', 'DEPS_TOO_LARGE', 'DEPS_BUILD_TIMEOUT', 'DEPS_INDEX_UNREACHABLE', 'DEPS_BUILD_FAILED'] as const;

export const deploy = operation(
  { id: 'deploy', tag, role: 'deployer', summary: 'Serve a version (default: the latest), once an instance of it started', body: deployBody, answers, errors: ['VERSION_NOT_FOUND', 'REVISION_CONFLICT', 'DEPLOY_START_FAILED', ...DEPS_REFUSALS] },
  async (call, input) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const body = await input.body();
    return answer(call, name, key, await deployVersion(call.ctx, key, { ...body, actor: call.scope.label }));
  },
);

export const rollbackRoute = operation(
  {
    id: 'rollback', tag, role: 'deployer', summary: 'Serve an earlier version (default: the newest below the active one that served before)', body: deployBody, answers,
    errors: ['VERSION_NOT_FOUND', 'FUNCTION_NOT_DEPLOYED', 'NO_PREVIOUS_VERSION', 'REVISION_CONFLICT', 'DEPLOY_START_FAILED', ...DEPS_REFUSALS],
  },
  async (call, input) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const body = await input.body();
    return answer(call, name, key, await rollback(call.ctx, key, { ...body, actor: call.scope.label }));
  },
);

export const pauseRoute = operation(
  { id: 'pause', tag, role: 'deployer', summary: 'Stop serving (calls answer 503 FUNCTION_PAUSED); instances drain', body: statusBody, answers, errors: ['REVISION_CONFLICT'] },
  async (call, input) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const body = await input.body();
    return answer(call, name, key, await pause(call.ctx, key, { ...body, actor: call.scope.label }));
  },
);

export const resumeRoute = operation(
  { id: 'resume', tag, role: 'deployer', summary: 'Serve the active version again', body: statusBody, answers, errors: ['REVISION_CONFLICT'] },
  async (call, input) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const body = await input.body();
    return answer(call, name, key, await resume(call.ctx, key, { ...body, actor: call.scope.label }));
  },
);

export const listDeploys = operation(
  { id: 'listDeploys', tag, role: 'viewer', summary: 'The deploy log, newest first (`before`: a `seq`)', query: pageQuery, answers: { 200: { description: 'A page of the deploy log', schema: deployList } }, errors: [] },
  async (call, input) => {
    const { key } = functionParam(call.params[0]!, call.scope);
    const query = input.query();
    await getFunction(call.ctx, key);
    const items = await call.ctx.store.deploys.list(key, { ...(query.limit ? { limit: query.limit } : {}), ...(query.before ? { beforeSeq: query.before } : {}) });
    return json(200, { items: items.map(deployView) });
  },
);
