/**
 * The route table of /api/v1 (docs/api.md): one source for the server (matching, handlers, body
 * limits) and for the OpenAPI document (./openapi.ts). Templates are matched after `/api/v1`;
 * `{param}` is one path segment, still percent-encoded (handlers decode and check it).
 */
import * as admin from './admin.js';
import * as auditLog from './audit.js';
import * as code from './code.js';
import * as data from './data.js';
import * as deploys from './deploys.js';
import * as functions from './functions.js';
import * as hooks from './hooks.js';
import * as logs from './logs.js';
import { jsonDocument } from './answers.js';
import { openApiText } from './openapi.js';
import { operation, type Route } from './router.js';
import * as runs from './runs.js';
import * as series from './series.js';
import * as tokens from './tokens.js';
import * as usage from './usage.js';
import * as workbench from './workbench.js';
import * as workspaces from './workspaces.js';

/** `GET /openapi.json`: this table as an OpenAPI 3.1 document; public (it is in the repository too). */
const openApi = operation(
  {
    id: 'openApi', tag: 'schemas', summary: 'This API as an OpenAPI 3.1 document (no token needed)', role: 'public',
    answers: { 200: { description: 'The OpenAPI document (schemas/openapi.json)', schema: jsonDocument } },
    errors: [],
  },
  async () => ({ status: 200, headers: [['content-type', 'application/json']], body: openApiText(ROUTES) }),
);

export const ROUTES: readonly Route[] = [
  { template: '/functions', methods: { POST: functions.create, GET: functions.list } },
  { template: '/functions/{name}', methods: { GET: functions.get, PATCH: functions.patch, DELETE: functions.remove } },
  {
    template: '/functions/{name}/versions',
    methods: { POST: code.createVersionRoute, GET: code.listVersions },
    bodyLimit: (s) => code.uploadBodyLimit(s.bundleLimits),
  },
  { template: '/functions/{name}/versions/{version}', methods: { GET: code.getVersion, DELETE: code.deleteVersion } },
  { template: '/functions/{name}/versions/{version}/file', methods: { GET: workbench.getVersionFile } },
  { template: '/functions/{name}/draft', methods: { GET: workbench.getDraft, PUT: workbench.putDraft, DELETE: workbench.deleteDraft } },
  { template: '/functions/{name}/test-cases', methods: { GET: workbench.listTestCases } },
  { template: '/functions/{name}/test-cases/{testCase}', methods: { PUT: workbench.putTestCase, DELETE: workbench.deleteTestCase } },
  { template: '/functions/{name}/versions/{version}/deps', methods: { GET: code.getDeps, POST: code.rebuildDeps } },
  { template: '/functions/{name}/deploy', methods: { POST: deploys.deploy } },
  { template: '/functions/{name}/rollback', methods: { POST: deploys.rollbackRoute } },
  { template: '/functions/{name}/pause', methods: { POST: deploys.pauseRoute } },
  { template: '/functions/{name}/resume', methods: { POST: deploys.resumeRoute } },
  { template: '/functions/{name}/deploys', methods: { GET: deploys.listDeploys } },
  { template: '/functions/{name}/usage', methods: { GET: usage.usage } },
  { template: '/functions/{name}/usage/series', methods: { GET: series.usageSeries } },
  { template: '/coldstarts', methods: { GET: series.coldStarts } },
  { template: '/validate', methods: { POST: workbench.validateCode } },
  { template: '/functions/{name}/logs', methods: { GET: logs.functionLogs } },
  { template: '/functions/{name}/logs/stream', methods: { GET: logs.streamLogs } },
  {
    template: '/functions/{name}/invoke',
    methods: { POST: runs.testInvoke },
    // The payload in base64 (bodyBase64), plus room for the rest of the request.
    bodyLimit: (s) => Math.ceil(s.syncPayloadBytes / 3) * 4 + 64 * 1024,
  },
  {
    template: '/functions/{name}/invoke/async',
    methods: { POST: runs.testInvokeAsync },
    bodyLimit: (s) => Math.ceil(s.asyncPayloadBytes / 3) * 4 + 64 * 1024,
  },
  { template: '/functions/{name}/triggers', methods: { GET: hooks.listTriggers } },
  { template: '/functions/{name}/tokens/rotate', methods: { POST: functions.rotateToken } },
  { template: '/functions/{name}/triggers/{triggerId}/secret/rotate', methods: { POST: hooks.rotateSecret } },
  { template: '/functions/{name}/data', methods: { GET: data.getBinding } },
  { template: '/functions/{name}/data/rotate', methods: { POST: data.rotate } },
  { template: '/data/databases', methods: { GET: data.listDatabases } },
  { template: '/data/databases/{database}', methods: { DELETE: data.dropDatabase } },
  { template: '/blobs/missing', methods: { POST: code.blobsMissing } },
  { template: '/blobs/{sha256}', methods: { PUT: code.putBlob }, bodyLimit: (s) => s.bundleLimits.maxFileBytes },
  { template: '/runs', methods: { GET: runs.listRuns } },
  { template: '/runs/{runId}', methods: { GET: runs.getRun } },
  { template: '/runs/{runId}/cancel', methods: { POST: runs.cancelRun } },
  { template: '/runs/{runId}/replay', methods: { POST: runs.replayRun } },
  { template: '/admin/tokens/rotate', methods: { POST: admin.rotateAdminToken } },
  { template: '/whoami', methods: { GET: tokens.whoami } },
  { template: '/workspaces', methods: { GET: workspaces.list, POST: workspaces.create } },
  { template: '/workspaces/{workspace}', methods: { GET: workspaces.get, PATCH: workspaces.patch, DELETE: workspaces.remove } },
  { template: '/tokens', methods: { GET: tokens.list, POST: tokens.create } },
  { template: '/tokens/{tokenId}', methods: { DELETE: tokens.revoke } },
  { template: '/audit', methods: { GET: auditLog.list } },
  { template: '/schema/platform.json', methods: { GET: admin.platformSchema } },
  { template: '/openapi.json', methods: { GET: openApi } },
];
