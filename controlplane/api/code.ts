/** /blobs and /functions/{name}/versions (docs/api.md, "Code: blobs and versions"). */
import { PlatformError } from '../../protocol/index.js';
import { getFunction } from '../service/functions.js';
import { createVersion, missingBlobs, putBlob as storeBlob } from '../service/versions.js';
import { deleteVersion as removeVersion } from '../service/version-retention.js';
import { versionWarnings } from '../service/version-warnings.js';
import type { VersionRecord } from '../store/index.js';
import { blobPutAnswer, blobsMissingAnswer, depsAnswer, versionAnswer, versionCreatedAnswer, versionList } from './answers.js';
import { audit } from './audit-log.js';
import { json, noContent } from './http.js';
import { depsView, versionSummaryView, versionView } from './present.js';
import { operation, type Call } from './router.js';
import { blobsMissingBody, emptyBody, pageQuery, SHA256_HEX, versionUpload } from './schemas.js';
import { functionParam, positiveIntParam, textParam, validate } from './validate.js';

const tag = 'code';

export const blobsMissing = operation(
  {
    id: 'blobsMissing', metered: false, tag, role: 'deployer', summary: 'Which of these contents the server lacks (upload only those)',
    body: blobsMissingBody,
    answers: { 200: { description: 'The hashes not stored yet', schema: blobsMissingAnswer } },
    errors: [],
  },
  async (call, input) => {
    const body = await input.body();
    return json(200, { missing: await missingBlobs(call.ctx, call.scope.workspace, body.sha256) });
  },
);

export const putBlob = operation(
  {
    id: 'putBlob', metered: false, tag, role: 'deployer', summary: 'Upload one file content (raw bytes) under its sha256',
    rawBody: true,
    answers: {
      201: { description: 'Stored (new content)', schema: blobPutAnswer },
      200: { description: 'Already stored', schema: blobPutAnswer },
    },
    errors: ['INVALID_FIELD', 'BLOB_HASH_MISMATCH', 'QUOTA_EXCEEDED'],
  },
  async (call) => {
    const sha256 = textParam(call.params[0]!, 'sha256', SHA256_HEX);
    const data = await call.req.body();
    // Hashed on libuv's thread pool (WebCrypto), not the event loop; refused unless it matches.
    const put = await storeBlob(call.ctx, call.scope.workspace, data, sha256);
    return json(put.created ? 201 : 200, { sha256: put.sha256, size: put.size, created: put.created });
  },
);

/**
 * The upload: the function must exist before anything is read; the body is parsed, checked and
 * hashed in a worker thread, then validated here (with contents emptied, it is small). The
 * manifest must be one `fastapi-platform validate` accepts (protocol/manifest.ts, problems named
 * like `manifest.limits.timeout`) and is stored as sent: the CLI sends platform.yaml as written,
 * `${VAR}` references unresolved, no defaults filled. Absent or null: no manifest.
 */
export const createVersionRoute = operation(
  {
    id: 'createVersion', tag, role: 'deployer', summary: 'Upload a version: files with their content (base64) or naming uploaded blobs',
    body: versionUpload,
    answers: { 201: { description: 'The new version, with its files, manifest and changes, and the warnings `POST /validate` gives for its files', schema: versionCreatedAnswer } },
    errors: [
      'INVALID_NAME', 'ENTRYPOINT_NOT_FOUND', 'BLOB_HASH_MISMATCH', 'BLOB_NOT_FOUND', 'BUNDLE_MALFORMED', 'BUNDLE_EMPTY', 'BUNDLE_PATH_INVALID',
      'BUNDLE_PATH_DUPLICATE', 'BUNDLE_PATH_CONFLICT', 'BUNDLE_ENCODING_INVALID', 'BUNDLE_BLOB_MISSING', 'BUNDLE_TOO_MANY_FILES', 'BUNDLE_TOO_LARGE',
      'BUNDLE_FILE_TOO_LARGE', 'MANIFEST_TOO_LARGE', 'BUNDLE_CHECK_TIMEOUT', 'QUOTA_EXCEEDED', 'DEPS_REQUIREMENT_INVALID',
    ],
  },
  async (call) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    await getFunction(call.ctx, key);
    const checked = await call.ctx.bundles.checkUpload(await call.req.body(), call.ctx.settings.bundleLimits, call.scope.workspace);
    const body = validate(versionUpload, checked.body, { nameFields: ['manifest.name'] });
    const manifest = (checked.body as { manifest?: unknown }).manifest;
    const version = await createVersion(call.ctx, key, checked, { ...body, manifest }, call.scope.label);
    // The warnings POST /validate gives (one rule: service/code-check.ts), of the files as stored.
    const [deps, warnings] = await Promise.all([call.ctx.deps.status(version), versionWarnings(call.ctx, call.scope.workspace, version, call.ctx.settings)]);
    const view = versionView(version, deps);
    await audit(call, 'version.upload', name, { version: view.version, fileCount: view.fileCount, totalBytes: view.totalBytes });
    return json(201, { version: view, ...warnings });
  },
);

export const listVersions = operation(
  {
    id: 'listVersions', tag, role: 'viewer', summary: 'Versions, newest first (without files and manifest)',
    query: pageQuery,
    answers: { 200: { description: 'A page of versions', schema: versionList } },
    errors: [],
  },
  async (call, input) => {
    const { key } = functionParam(call.params[0]!, call.scope);
    const query = input.query();
    await getFunction(call.ctx, key);
    const items = await call.ctx.store.versions.list(key, { ...(query.limit ? { limit: query.limit } : {}), ...(query.before ? { before: query.before } : {}) });
    return json(200, { items: items.map(versionSummaryView) });
  },
);

export const getVersion = operation(
  {
    id: 'getVersion', tag, role: 'viewer', summary: 'One version with its files, manifest and dependency state',
    answers: { 200: { description: 'The version', schema: versionAnswer } },
    errors: ['INVALID_FIELD', 'VERSION_NOT_FOUND'],
  },
  async (call) => {
    const { version } = await versionOf(call);
    return json(200, { version: versionView(version, await call.ctx.deps.status(version)) });
  },
);

/**
 * DELETE …/versions/{version} (docs/adr/0098-deleting-versions.md): the version and its share of
 * the workspace's codeBytes go; its contents go once no version uses them. Never the active one
 * (VERSION_ACTIVE) nor the draft's base (VERSION_IN_USE). A call running on it finishes.
 */
export const deleteVersion = operation(
  {
    id: 'deleteVersion', tag, role: 'deployer', summary: 'Delete a version (not the active one, nor the base of the draft)',
    answers: { 204: { description: 'Deleted', schema: null } },
    errors: ['INVALID_FIELD', 'VERSION_NOT_FOUND', 'VERSION_ACTIVE', 'VERSION_IN_USE'],
  },
  async (call) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const number = positiveIntParam(call.params[1]!, 'version');
    await removeVersion(call.ctx, key, number); // FUNCTION_NOT_FOUND under the function's lock, there
    await audit(call, 'version.delete', name, { version: number });
    return noContent();
  },
);

/** GET …/versions/{version}/deps: the state with the build log (so far, or of the last build). */
export const getDeps = operation(
  {
    id: 'getDeps', tag, role: 'viewer', summary: "A version's dependency build: state, lock, packages and the build log (docs/dependencies.md)",
    answers: { 200: { description: 'The state (null: the version declares no dependencies)', schema: depsAnswer } },
    errors: ['INVALID_FIELD', 'VERSION_NOT_FOUND'],
  },
  async (call) => {
    const { version } = await versionOf(call);
    const deps = await call.ctx.deps.status(version);
    return json(200, { deps: deps === null ? null : { ...depsView(deps), log: await call.ctx.deps.logOf(version) } });
  },
);

/** POST …/versions/{version}/deps: builds again after a failure (e.g. the index was down); joins a running build. */
export const rebuildDeps = operation(
  {
    id: 'rebuildDeps', tag, role: 'deployer', summary: "Build a version's dependencies again (after a failure); joins a build under way",
    body: emptyBody,
    answers: {
      202: { description: 'Building', schema: depsAnswer },
      200: { description: 'Ready or failed already (null: no dependencies)', schema: depsAnswer },
    },
    errors: ['INVALID_FIELD', 'VERSION_NOT_FOUND'],
  },
  async (call, input) => {
    await input.body();
    const { name, version } = await versionOf(call);
    const deps = await call.ctx.deps.start(version, true);
    await audit(call, 'deps.build', name, { version: version.version, state: deps?.state ?? null });
    return json(deps?.state === 'building' ? 202 : 200, { deps: deps === null ? null : depsView(deps) });
  },
);

/** The version named by the path, of a function of the caller's workspace (another's is not found). */
async function versionOf(call: Call): Promise<{ name: string; version: VersionRecord }> {
  const { name, key } = functionParam(call.params[0]!, call.scope);
  const number = positiveIntParam(call.params[1]!, 'version');
  await getFunction(call.ctx, key);
  const version = await call.ctx.store.versions.get(key, number);
  if (version === null) throw new PlatformError('VERSION_NOT_FOUND', `function "${name}" has no version ${number}`, { field: 'version', function: name, version: number });
  return { name, version };
}

/** Largest body of an upload: the bundle in base64, plus room for paths and JSON. */
export function uploadBodyLimit(limits: { maxTotalBytes: number; maxFiles: number }): number {
  return Math.ceil(limits.maxTotalBytes / 3) * 4 + limits.maxFiles * 2048 + 1024 * 1024;
}
