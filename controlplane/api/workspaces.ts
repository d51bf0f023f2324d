/** /workspaces and /workspaces/{workspace} (docs/api.md, "Workspaces"): the root token's; owners read their own. */
import { isWorkspaceName, PlatformError } from '../../protocol/index.js';
import { createWorkspace, deleteWorkspace, quotaUse, updateWorkspace } from '../service/workspaces.js';
import type { WorkspaceQuotas } from '../store/index.js';
import { workspaceAnswer, workspaceList } from './answers.js';
import { audit } from './audit-log.js';
import { json, noContent } from './http.js';
import { workspaceView } from './present.js';
import { operation, type Call } from './router.js';
import { createWorkspaceBody, patchWorkspaceBody } from './tenancy-schemas.js';

const tag = 'workspaces';

/** The workspace named in the path, as this caller may see it: another's (or none) is WORKSPACE_NOT_FOUND. */
function workspaceParam(call: Call): string {
  let name: string;
  try {
    name = decodeURIComponent(call.params[0]!);
  } catch {
    name = '';
  }
  const visible = isWorkspaceName(name) && call.ctx.workspaces.has(name) && (call.scope.isRoot || name === call.scope.workspace);
  if (!visible) throw new PlatformError('WORKSPACE_NOT_FOUND', `no workspace ${JSON.stringify(name.slice(0, 64))}`, { field: 'workspace' });
  return name;
}

/** The quotas a body gave, without the keys it left out. */
function given(quotas: Partial<Record<keyof WorkspaceQuotas, number | null | undefined>> | undefined): Partial<WorkspaceQuotas> {
  const out: Partial<WorkspaceQuotas> = {};
  for (const [key, value] of Object.entries(quotas ?? {})) if (value !== undefined) out[key as keyof WorkspaceQuotas] = value;
  return out;
}

export const list = operation(
  {
    id: 'listWorkspaces', tag, role: 'owner', summary: 'The workspaces, by name (a workspace token sees its own only)',
    answers: { 200: { description: 'The workspaces', schema: workspaceList } }, errors: [],
  },
  async (call) => {
    const all = await call.ctx.store.workspaces.list();
    const items = all.filter((w) => call.scope.isRoot || w.name === call.scope.workspace).map(workspaceView);
    return json(200, { items });
  },
);

export const create = operation(
  {
    id: 'createWorkspace', tag, role: 'root', summary: "Create a workspace (quotas default to the install's FP_WORKSPACE_QUOTA_*)",
    body: createWorkspaceBody,
    // A workspace name is not a function name: a bad one is INVALID_FIELD.
    bodyNameFields: [],
    answers: { 201: { description: 'Created', schema: workspaceAnswer } },
    errors: ['WORKSPACE_EXISTS'],
  },
  async (call, input) => {
    const body = await input.body();
    const record = await createWorkspace(call.ctx, body.name, given(body.quotas));
    await audit(call, 'workspace.create', record.name, { quotas: record.quotas }, record.name);
    return json(201, { workspace: workspaceView(record), usage: await quotaUse(call.ctx, record.name) });
  },
);

export const get = operation(
  {
    id: 'getWorkspace', tag, role: 'owner', summary: 'A workspace with its quotas and their use now',
    answers: { 200: { description: 'The workspace', schema: workspaceAnswer } }, errors: [],
  },
  async (call) => {
    const name = workspaceParam(call);
    const record = call.ctx.workspaces.get(name)!;
    return json(200, { workspace: workspaceView(record), usage: await quotaUse(call.ctx, name) });
  },
);

export const patch = operation(
  {
    id: 'patchWorkspace', tag, role: 'root', summary: 'Change quotas (keys given are set, null removes one)',
    body: patchWorkspaceBody,
    answers: { 200: { description: 'The changed workspace', schema: workspaceAnswer } }, errors: [],
  },
  async (call, input) => {
    const name = workspaceParam(call);
    const body = await input.body();
    const change = given(body.quotas);
    const record = await updateWorkspace(call.ctx, name, change);
    await audit(call, 'workspace.update', name, { quotas: change }, name);
    return json(200, { workspace: workspaceView(record), usage: await quotaUse(call.ctx, name) });
  },
);

export const remove = operation(
  {
    id: 'deleteWorkspace', tag, role: 'root', summary: 'Delete an empty workspace and its tokens (one with functions: 409, nothing changed)',
    answers: { 204: { description: 'Deleted', schema: null } },
    errors: ['WORKSPACE_NOT_EMPTY', 'WORKSPACE_PROTECTED', 'DATA_BACKEND_UNAVAILABLE'],
  },
  async (call) => {
    const name = workspaceParam(call);
    await deleteWorkspace(call.ctx, name);
    await audit(call, 'workspace.delete', name, {}, name);
    // Answered once the clock is past the entry's millisecond: a workspace created again under the
    // name after this answer is born later than the delete, so its token's log (from its birth on,
    // red team 5) never shows the first one's delete (CI found them in one millisecond).
    await new Promise((resolve) => setTimeout(resolve, 2));
    return noContent();
  },
);
