/** /blobs and /functions/:name/versions (docs/api.md, "Code: blobs and versions"). */
import { manifestSchema, PlatformError } from '../../protocol/index.js';
import { getFunction } from '../service/functions.js';
import { createVersion, missingBlobs } from '../service/versions.js';
import { json, type ApiResponse } from './http.js';
import { depsView, versionSummaryView, versionView } from './present.js';
import { readBody, readQuery, type Call } from './router.js';
import { blobsMissingBody, emptyBody, pageQuery, SHA256_HEX, versionBody } from './schemas.js';
import type { VersionRecord } from '../store/index.js';
import { nameParam, positiveIntParam, textParam, validate } from './validate.js';

export async function blobsMissing(call: Call): Promise<ApiResponse> {
  const body = await readBody(call, blobsMissingBody);
  return json(200, { missing: await missingBlobs(call.ctx, body.sha256) });
}

export async function putBlob(call: Call): Promise<ApiResponse> {
  const sha256 = textParam(call.params[0]!, 'sha256', SHA256_HEX);
  const data = await call.req.body();
  // Hashed on libuv's thread pool (WebCrypto), not the event loop; refused unless it matches.
  const put = await call.ctx.store.blobs.put(data, sha256);
  return json(put.created ? 201 : 200, { sha256: put.sha256, size: put.size, created: put.created });
}

/**
 * The upload: the function must exist before anything is read; the body is parsed, checked and
 * hashed in a worker thread, then validated here (with contents emptied, it is small).
 */
export async function createVersionRoute(call: Call): Promise<ApiResponse> {
  const name = nameParam(call.params[0]!);
  await getFunction(call.ctx, name);
  const checked = await call.ctx.bundles.checkUpload(await call.req.body(), call.ctx.settings.bundleLimits);
  const body = validate(versionBody, checked.body);
  checkManifest(body.manifest);
  const version = await createVersion(call.ctx, name, checked, body, call.who.label);
  return json(201, { version: versionView(version, await call.ctx.deps.status(version)) });
}

/**
 * The manifest stored with a version must be one `fastapi-platform validate` accepts: the same
 * schema (protocol/manifest.ts), problems named like `manifest.limits.timeout`. It is stored as
 * sent (the CLI sends platform.yaml as written, `${VAR}` references unresolved); its size and
 * depth were bounded in the worker. Absent or null: no manifest.
 */
function checkManifest(manifest: unknown): void {
  if (manifest === undefined || manifest === null) return;
  validate(manifestSchema, manifest, { prefix: 'manifest', nameFields: ['manifest.name'] });
}

export async function listVersions(call: Call): Promise<ApiResponse> {
  const name = nameParam(call.params[0]!);
  const query = readQuery(call, pageQuery);
  await getFunction(call.ctx, name);
  const items = await call.ctx.store.versions.list(name, { ...(query.limit ? { limit: query.limit } : {}), ...(query.before ? { before: query.before } : {}) });
  return json(200, { items: items.map(versionSummaryView) });
}

export async function getVersion(call: Call): Promise<ApiResponse> {
  const version = await versionOf(call);
  return json(200, { version: versionView(version, await call.ctx.deps.status(version)) });
}

/** GET …/versions/:n/deps: the state with the build log (so far, or of the last build). */
export async function getDeps(call: Call): Promise<ApiResponse> {
  const version = await versionOf(call);
  const deps = await call.ctx.deps.status(version);
  return json(200, { deps: deps === null ? null : { ...depsView(deps), log: await call.ctx.deps.logOf(version) } });
}

/** POST …/versions/:n/deps: builds again after a failure (e.g. the index was down); joins a running build. */
export async function rebuildDeps(call: Call): Promise<ApiResponse> {
  await readBody(call, emptyBody);
  const version = await versionOf(call);
  const deps = await call.ctx.deps.start(version, true);
  return json(deps?.state === 'building' ? 202 : 200, { deps: deps === null ? null : depsView(deps) });
}

async function versionOf(call: Call): Promise<VersionRecord> {
  const name = nameParam(call.params[0]!);
  const number = positiveIntParam(call.params[1]!, 'version');
  await getFunction(call.ctx, name);
  const version = await call.ctx.store.versions.get(name, number);
  if (version === null) throw new PlatformError('VERSION_NOT_FOUND', `function "${name}" has no version ${number}`, { field: 'version', function: name, version: number });
  return version;
}

/** Largest body of an upload: the bundle in base64, plus room for paths and JSON. */
export function uploadBodyLimit(limits: { maxTotalBytes: number; maxFiles: number }): number {
  return Math.ceil(limits.maxTotalBytes / 3) * 4 + limits.maxFiles * 2048 + 1024 * 1024;
}
