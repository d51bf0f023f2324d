/** The route table of /api/v1 (docs/api.md). Paths are matched after the `/api/v1` prefix. */
import * as admin from './admin.js';
import * as code from './code.js';
import * as deploys from './deploys.js';
import * as functions from './functions.js';
import * as hooks from './hooks.js';
import type { Route } from './router.js';
import * as runs from './runs.js';
import * as usage from './usage.js';

const NAME = '([^/]+)';

export const ROUTES: readonly Route[] = [
  { path: /^\/functions$/, methods: { POST: functions.create, GET: functions.list } },
  { path: new RegExp(`^/functions/${NAME}$`), methods: { GET: functions.get, PATCH: functions.patch, DELETE: functions.remove } },
  {
    path: new RegExp(`^/functions/${NAME}/versions$`),
    methods: { POST: code.createVersionRoute, GET: code.listVersions },
    bodyLimit: (s) => code.uploadBodyLimit(s.bundleLimits),
  },
  { path: new RegExp(`^/functions/${NAME}/versions/${NAME}$`), methods: { GET: code.getVersion } },
  { path: new RegExp(`^/functions/${NAME}/versions/${NAME}/deps$`), methods: { GET: code.getDeps, POST: code.rebuildDeps } },
  { path: new RegExp(`^/functions/${NAME}/deploy$`), methods: { POST: deploys.deploy } },
  { path: new RegExp(`^/functions/${NAME}/rollback$`), methods: { POST: deploys.rollbackRoute } },
  { path: new RegExp(`^/functions/${NAME}/pause$`), methods: { POST: deploys.pauseRoute } },
  { path: new RegExp(`^/functions/${NAME}/resume$`), methods: { POST: deploys.resumeRoute } },
  { path: new RegExp(`^/functions/${NAME}/deploys$`), methods: { GET: deploys.listDeploys } },
  { path: new RegExp(`^/functions/${NAME}/usage$`), methods: { GET: usage.usage } },
  {
    path: new RegExp(`^/functions/${NAME}/invoke$`),
    methods: { POST: runs.testInvoke },
    // The payload in base64 (bodyBase64), plus room for the rest of the request.
    bodyLimit: (s) => Math.ceil(s.syncPayloadBytes / 3) * 4 + 64 * 1024,
  },
  { path: new RegExp(`^/functions/${NAME}/tokens/rotate$`), methods: { POST: functions.rotateToken } },
  { path: new RegExp(`^/functions/${NAME}/triggers/${NAME}/secret/rotate$`), methods: { POST: hooks.rotateSecret } },
  { path: /^\/blobs\/missing$/, methods: { POST: code.blobsMissing } },
  { path: new RegExp(`^/blobs/${NAME}$`), methods: { PUT: code.putBlob }, bodyLimit: (s) => s.bundleLimits.maxFileBytes },
  { path: /^\/runs$/, methods: { GET: runs.listRuns } },
  { path: new RegExp(`^/runs/${NAME}$`), methods: { GET: runs.getRun } },
  { path: new RegExp(`^/runs/${NAME}/cancel$`), methods: { POST: runs.cancelRun } },
  { path: new RegExp(`^/runs/${NAME}/replay$`), methods: { POST: runs.replayRun } },
  { path: /^\/admin\/tokens\/rotate$/, methods: { POST: admin.rotateAdminToken } },
  { path: /^\/schema\/platform\.json$/, methods: { GET: admin.platformSchema } },
];
