/**
 * Versions: an upload checked in the bundle workers becomes an immutable, numbered version whose
 * files are content-addressed blobs. Every check that can refuse the upload runs before the store
 * is asked to number it, so a refused upload leaves no version behind. Contents are deleted only
 * once no version uses them and they went untouched for an hour (./version-retention.ts), so what
 * a workspace may store is checked before anything is written: an upload over its `codeBytes`
 * quota writes no content, and contents uploaded alone (`PUT /blobs`) count in it until a version
 * uses them (./staged-uploads.ts). The quota counts the versions that exist: deleting one frees it.
 */
import { dataSchema, PlatformError, workspaceOfKey } from '../../protocol/index.js';
import { saveBundle, type CheckedUpload } from '../bundles/index.js';
import { quotaExceeded, type FileEntry, type VersionRecord } from '../store/index.js';
import type { ServiceContext } from './context.js';
import { checkManifestTriggers } from '../async/index.js';
import { liveDepsKeys } from './deps-collect.js';
import { getFunction } from './functions.js';
import { scopedBlobs } from './scoped-blobs.js';
import { keptWithVersion } from './start-check.js';
import { MAX_STAGED_CONTENTS } from './staged-uploads.js';

/** The upload body after validation (contents already hashed by the workers). */
export interface VersionUpload {
  entrypoint: string;
  manifest?: unknown;
  note?: string;
  files: { path: string; sha256?: string; size?: number; contentBase64?: string; executable?: boolean }[];
}

export async function createVersion(ctx: ServiceContext, name: string, checked: CheckedUpload, body: VersionUpload, actor: string): Promise<VersionRecord> {
  await getFunction(ctx, name);
  checkManifestTriggers(name, body.manifest);
  await checkManifestData(ctx, name, body.manifest);
  const computed = new Map(checked.bundle.files.map((f) => [f.path, f]));
  // Claims the client made next to a content must match what it sent.
  body.files.forEach((file, i) => {
    const path = checked.planned[i]?.path;
    const actual = path === undefined ? undefined : computed.get(path);
    if (actual === undefined || actual.content === null) return;
    if (file.sha256 !== undefined && file.sha256 !== actual.sha256) {
      throw new PlatformError('BLOB_HASH_MISMATCH', `files[${i}] (${file.path}) hashes to ${actual.sha256}, not ${file.sha256}`, { field: `files[${i}].sha256`, path: file.path });
    }
    if (file.size !== undefined && file.size !== actual.size) {
      throw new PlatformError('INVALID_FIELD', `files[${i}] (${file.path}) is ${actual.size} bytes, not ${file.size}`, { field: `files[${i}].size`, path: file.path });
    }
  });
  checkEntrypoint(body.entrypoint, checked.planned.map((p) => p.path));
  const workspace = workspaceOfKey(name);
  await stageInline(ctx, workspace, checked);
  // Content named by hash must be content this workspace holds; uploaded content becomes its own.
  const executable = new Set(body.files.flatMap((file, i) => (file.executable === true && checked.planned[i] !== undefined ? [checked.planned[i]!.path] : [])));
  const entries = (await saveBundle(checked.bundle, scopedBlobs(ctx.store.blobs, ctx.store.blobGrants, workspace), ctx.settings.bundleLimits))
    .map((entry) => (executable.has(entry.path) ? { ...entry, executable: true } : entry));
  checkReferencedSizes(body, checked, entries);
  await ctx.deps.checkUpload(entries);
  await checkDepsQuota(ctx, workspace, name, entries);
  // One version at a time per workspace in this process: its codeBytes quota is checked against
  // what the previous upload stored (docs/stores.md on uploads racing in several processes).
  const version = await ctx.locks.run(`workspace:${workspace}`, () => ctx.store.versions.create({
    function: name,
    entrypoint: body.entrypoint,
    files: entries,
    manifest: body.manifest ?? null,
    createdBy: actor,
    ...(body.note !== undefined ? { note: body.note } : {}),
  }));
  ctx.staged.remove(workspace, entries.map((e) => e.sha256));
  // Off the request path: the build runs on; a deploy waits for it (docs/dependencies.md). A build
  // that fails is kept with the version, as a deploy refused for it is (ADR 0252).
  await ctx.deps.start(version);
  void keptWithVersion(ctx, version, async () => {
    await ctx.deps.ensure(version);
    return null;
  }).catch(() => undefined);
  return version;
}

/**
 * With a codeBytes quota, the contents an upload carries (not held by the workspace yet) are
 * checked against it before any is written (403 QUOTA_EXCEEDED), then charged as staged: if the
 * version is refused after they were written (the store checks the whole version, named blobs
 * included), they stay charged, as they stay on disk.
 */
async function stageInline(ctx: ServiceContext, workspace: string, checked: CheckedUpload): Promise<void> {
  if (ctx.workspaces.quotas(workspace).codeBytes === null) return;
  const carried = new Map<string, number>();
  for (const f of checked.bundle.files) if (f.content !== null) carried.set(f.sha256, f.content.length);
  for (const sha of await ctx.store.blobGrants.granted(workspace, [...carried.keys()])) carried.delete(sha);
  await charge(ctx, workspace, carried);
}

/**
 * Charges contents (sha256 → bytes) to the workspace's staged uploads, or 403 QUOTA_EXCEEDED
 * (nothing charged) when they would take its versions and staged uploads past its codeBytes.
 */
async function charge(ctx: ServiceContext, workspace: string, contents: ReadonlyMap<string, number>): Promise<void> {
  const limit = ctx.workspaces.quotas(workspace).codeBytes;
  if (limit === null || contents.size === 0) return;
  const stored = (await ctx.store.workspaces.usage(workspace)).codeBytes;
  // From here to the charge, one turn: concurrent uploads of the workspace see each other's charges.
  const used = stored + ctx.staged.bytes(workspace);
  let adding = 0;
  let count = ctx.staged.count(workspace);
  for (const [sha, size] of contents) {
    if (ctx.staged.has(workspace, sha)) continue;
    adding += size;
    count += 1;
  }
  if (used + adding > limit) throw quotaExceeded('codeBytes', workspace, limit, used, adding);
  if (count > MAX_STAGED_CONTENTS) {
    throw new PlatformError('QUOTA_EXCEEDED', `workspace "${workspace}" has ${MAX_STAGED_CONTENTS} uploaded contents that no version uses yet: upload a version using them first`, { quota: 'codeBytes', workspace, limit, used });
  }
  for (const [sha, size] of contents) ctx.staged.add(workspace, sha, size);
}

/**
 * With a codeBytes quota, the workspace's dependency sites count in it (docs/dependencies.md,
 * "Removal and quota"): an upload that would start a build (dependencies no site holds yet) is
 * refused (403 QUOTA_EXCEEDED) when its versions, staged uploads and the distinct sites its
 * versions use already fill it. A site's size is known only once built, so the last build may
 * pass the quota by at most FP_DEPS_MAX_BYTES; the next is refused.
 */
async function checkDepsQuota(ctx: ServiceContext, workspace: string, name: string, files: readonly FileEntry[]): Promise<void> {
  const limit = ctx.workspaces.quotas(workspace).codeBytes;
  if (limit === null || !(await ctx.deps.wouldBuild({ function: name, files: [...files] }))) return;
  const sites = await ctx.deps.siteBytes(await liveDepsKeys(ctx, workspace));
  const used = (await ctx.store.workspaces.usage(workspace)).codeBytes + ctx.staged.bytes(workspace) + sites;
  if (used >= limit) {
    throw new PlatformError('QUOTA_EXCEEDED', `workspace "${workspace}" is at its codeBytes quota (${used} of ${limit}, ${sites} of it dependency sites): new dependencies cannot be built; delete versions you no longer need (\`fastapi-platform versions delete <name> <version>\`; their sites go with them), or an admin raises it (\`fastapi-platform workspaces set ${workspace} --code-bytes SIZE\`)`, { quota: 'codeBytes', workspace, limit, used, depsBytes: sites });
  }
}

/** Why bindings are refused when the start did not say (a control plane made without a reason). */
const DATA_OFF_DEFAULT = 'its operator sets FP_DATA_MONGO_URL (production mode needs it, a server every process shares), or installs FerretDB for the embedded store (bash scripts/services.sh) and starts the platform again, which finds it';

/**
 * A version's `data.mongo` (docs/data-binding.md): well formed (INVALID_FIELD naming
 * `manifest.data…`), a platform that has a database server (DATA_BACKEND_NOT_CONFIGURED), and a
 * database the function may bind (DATA_DATABASE_FORBIDDEN, DATA_DATABASE_NOT_FOUND).
 */
async function checkManifestData(ctx: ServiceContext, name: string, manifest: unknown): Promise<void> {
  const data = typeof manifest === 'object' && manifest !== null ? (manifest as { data?: unknown }).data : undefined;
  if (data === undefined) return;
  const parsed = dataSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = ['manifest', 'data', ...issue.path.map(String)];
    if (issue.code === 'unrecognized_keys') {
      const field = [...path, issue.keys[0]!].join('.');
      throw new PlatformError('UNKNOWN_FIELD', `${field}: unknown key`, { field });
    }
    const field = path.join('.');
    throw new PlatformError('INVALID_FIELD', `${field}: ${issue.message}`, { field });
  }
  const binding = parsed.data.mongo;
  if (binding === undefined) return;
  if (ctx.data === null) throw new PlatformError('DATA_BACKEND_NOT_CONFIGURED', `this platform has no database server for data.mongo bindings: ${ctx.dataOffReason ?? DATA_OFF_DEFAULT}`);
  await ctx.data.check(name, binding);
}

/**
 * `module.sub:attr` needs `module/sub.py`, a package `module/sub/`, or a compiled `module/sub.*`;
 * in a src layout (no `src/__init__.py`) these under `src/` too, which the runtime imports from
 * `src` as `uvicorn --app-dir src` and an installed package do (fp_runtime/specialize.py
 * `src_layout`; apps round 12).
 */
export function checkEntrypoint(entrypoint: string, paths: readonly string[]): void {
  const module = entrypoint.slice(0, entrypoint.indexOf(':')).split('.').join('/');
  const at = (m: string): boolean => paths.some(
    (p) => p === `${m}.py` || p.startsWith(`${m}/`) || (p.startsWith(`${m}.`) && !p.slice(m.length + 1).includes('/') && /\.(so|pyd|pyc)$/.test(p)),
  );
  const found = at(module) || (!paths.includes('src/__init__.py') && at(`src/${module}`));
  if (!found) {
    throw new PlatformError('ENTRYPOINT_NOT_FOUND', `the entrypoint ${entrypoint} needs ${module}.py (or a package ${module}/) among the files`, { field: 'entrypoint' });
  }
}

/** A `{path, sha256, size}` reference's size must be the stored content's. */
function checkReferencedSizes(body: VersionUpload, checked: CheckedUpload, entries: readonly FileEntry[]): void {
  const sizes = new Map(entries.map((e) => [e.path, e.size]));
  body.files.forEach((file, i) => {
    if (file.contentBase64 !== undefined || file.size === undefined) return;
    const path = checked.planned[i]?.path;
    const size = path === undefined ? undefined : sizes.get(path);
    if (size !== undefined && size !== file.size) {
      throw new PlatformError('INVALID_FIELD', `files[${i}] (${file.path}) refers to content of ${size} bytes, not ${file.size}`, { field: `files[${i}].size`, path: file.path });
    }
  });
}

/**
 * Which of these contents `workspace` lacks (not stored, or not its own), in the order asked, each
 * once. Those it holds are touched, not only looked at: the upload that names them next (the CLI
 * asks this, then uploads the others) finds them kept by the collector (docs/adr/0099-collecting-contents.md).
 */
export async function missingBlobs(ctx: ServiceContext, workspace: string, hashes: readonly string[]): Promise<string[]> {
  const unique = [...new Set(hashes)];
  const granted = await ctx.store.blobGrants.granted(workspace, unique);
  const absent = new Set(await ctx.store.blobs.touch(unique.filter((h) => granted.has(h))));
  return unique.filter((h) => !granted.has(h) || absent.has(h));
}

/**
 * One content uploaded by `workspace` (stored once for the install; granted to the workspace). With
 * a codeBytes quota it is charged to the workspace until a version uses it, and refused (403
 * QUOTA_EXCEEDED, nothing stored) when the workspace's versions and such contents would pass it.
 */
export async function putBlob(ctx: ServiceContext, workspace: string, data: Uint8Array, sha256: string): Promise<{ sha256: string; size: number; created: boolean }> {
  const blobs = scopedBlobs(ctx.store.blobs, ctx.store.blobGrants, workspace);
  if (ctx.workspaces.quotas(workspace).codeBytes === null || ctx.staged.has(workspace, sha256) || (await blobs.has(sha256))) return blobs.put(data, sha256);
  await charge(ctx, workspace, new Map([[sha256, data.length]]));
  try {
    return await blobs.put(data, sha256);
  } catch (err) {
    ctx.staged.remove(workspace, [sha256]);
    throw err;
  }
}
