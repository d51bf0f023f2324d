/** /functions/:name/{deploy,rollback,pause,resume,deploys} (docs/api.md, "Deploys"). */
import { deployVersion, pause, resume, rollback, type DeployResult } from '../service/deploys.js';
import { getFunction } from '../service/functions.js';
import { json, type ApiResponse } from './http.js';
import { deployView, functionView } from './present.js';
import { readBody, readQuery, type Call } from './router.js';
import { deployBody, pageQuery, statusBody } from './schemas.js';
import { nameParam } from './validate.js';

function answer(result: DeployResult): ApiResponse {
  return json(200, { function: functionView(result.record), deploy: deployView(result.entry) });
}

export async function deploy(call: Call): Promise<ApiResponse> {
  const name = nameParam(call.params[0]!);
  const body = await readBody(call, deployBody);
  return answer(await deployVersion(call.ctx, name, { ...body, actor: call.who.label }));
}

export async function rollbackRoute(call: Call): Promise<ApiResponse> {
  const name = nameParam(call.params[0]!);
  const body = await readBody(call, deployBody);
  return answer(await rollback(call.ctx, name, { ...body, actor: call.who.label }));
}

export async function pauseRoute(call: Call): Promise<ApiResponse> {
  const name = nameParam(call.params[0]!);
  const body = await readBody(call, statusBody);
  return answer(await pause(call.ctx, name, { ...body, actor: call.who.label }));
}

export async function resumeRoute(call: Call): Promise<ApiResponse> {
  const name = nameParam(call.params[0]!);
  const body = await readBody(call, statusBody);
  return answer(await resume(call.ctx, name, { ...body, actor: call.who.label }));
}

export async function listDeploys(call: Call): Promise<ApiResponse> {
  const name = nameParam(call.params[0]!);
  const query = readQuery(call, pageQuery);
  await getFunction(call.ctx, name);
  const items = await call.ctx.store.deploys.list(name, { ...(query.limit ? { limit: query.limit } : {}), ...(query.before ? { beforeSeq: query.before } : {}) });
  return json(200, { items: items.map(deployView) });
}
