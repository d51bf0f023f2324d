/**
 * What the console edits with, open to any API client (docs/api.md, "Drafts and test cases",
 * "Validation"): a function's draft (`/functions/{name}/draft`), its saved test requests
 * (`/functions/{name}/test-cases`), one file of a version as text (`…/versions/{version}/file`),
 * and the code check `fastapi-platform validate` runs (`POST /validate`).
 *
 * Tenancy (docs/adr/0011-tenants.md, docs/adr/0016-console.md): every path resolves in the
 * caller's workspace (another workspace's function is 404). Reads are `viewer`; writing drafts and
 * test cases and the code check are `deployer` (they are steps of changing code; the check also
 * runs a Python process, which a read-only token should not be able to make the platform do).
 * Saving or deleting a test case is audited (`test-case.save`, `test-case.delete`); draft saves
 * are not: they are the editor's autosave, many a minute, and what they lead to (a version upload,
 * a deploy) is audited.
 */
import { describeBytes, PlatformError } from '../../protocol/index.js';
import { checkPathSet, normalizeBundlePath } from '../bundles/index.js';
import { getFunction } from '../service/functions.js';
import { draftAnswer, testCaseAnswer, testCaseList, validationAnswer, versionFileAnswer } from './answers-console.js';
import { json, noContent } from './http.js';
import { operation } from './router.js';
import { draftBody, draftDeleteQuery, fileQuery, MAX_TEST_CASE_BYTES, MAX_TEST_CASES, TEST_CASE_NAME, testCaseBody, validateBody } from './schemas-console.js';
import { audit } from './audit-log.js';
import { functionParam, positiveIntParam, textParam } from './validate.js';
import { isStoreError, type TestCase } from '../store/index.js';

const tag = 'console';

const caseView = (c: TestCase) => ({ name: c.name, mode: c.mode, request: c.request, createdAt: c.createdAt, updatedAt: c.updatedAt });

export const getDraft = operation(
  { id: 'getDraft', tag, role: 'viewer', summary: "The function's saved draft (edits over a version)", answers: { 200: { description: 'The draft', schema: draftAnswer } }, errors: ['DRAFT_NOT_FOUND'] },
  async (call) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    await getFunction(call.ctx, key);
    const draft = await call.ctx.store.drafts.get(key);
    if (draft === null) throw new PlatformError('DRAFT_NOT_FOUND', `function "${name}" has no saved draft`, { function: name });
    return json(200, { draft: { ...draft, function: name } });
  },
);

export const putDraft = operation(
  {
    id: 'putDraft', tag, role: 'deployer', summary: 'Save the draft: changed or added files (full text) and removed paths over a base version',
    body: draftBody,
    answers: { 200: { description: 'The saved draft', schema: draftAnswer } },
    errors: ['VERSION_NOT_FOUND', 'BUNDLE_PATH_INVALID', 'BUNDLE_PATH_DUPLICATE', 'BUNDLE_PATH_CONFLICT', 'DRAFT_CONFLICT'],
  },
  async (call, input) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const body = await input.body();
    await getFunction(call.ctx, key);
    if (body.baseVersion !== null && (await call.ctx.store.versions.get(key, body.baseVersion)) === null) {
      throw new PlatformError('VERSION_NOT_FOUND', `function "${name}" has no version ${body.baseVersion}`, { field: 'baseVersion', function: name, version: body.baseVersion });
    }
    const files = bundlePaths(body.files.map((f) => f.path)).map((path, i) => ({ path, content: body.files[i]!.content })).sort((a, b) => (a.path < b.path ? -1 : 1));
    const removed = [...new Set(body.removed)].sort();
    try {
      const draft = await call.ctx.store.drafts.put(key, { baseVersion: body.baseVersion, files, removed, updatedBy: call.scope.label }, body.ifRevision);
      return json(200, { draft: { ...draft, function: name } });
    } catch (err) {
      // Two tabs (or browsers, or clients) editing one function: the later save is refused, not
      // laid over the earlier one's edits (docs/errors.md DRAFT_CONFLICT).
      if (!isStoreError(err, 'DRAFT_CONFLICT')) throw err;
      const { revision, updatedBy, updatedAt } = err.details as { revision: number; updatedBy?: string; updatedAt?: number };
      throw new PlatformError('DRAFT_CONFLICT', revision === 0
        ? `the draft of "${name}" was discarded or deployed since you read it (you gave ifRevision ${body.ifRevision}); nothing was saved: read it again, or save with ifRevision 0 to start a new one`
        : `the draft of "${name}" was saved by ${updatedBy ?? '?'} at ${new Date(updatedAt ?? 0).toISOString()} (revision ${revision}) since you read revision ${body.ifRevision}; nothing was saved: read it again, or save with ifRevision ${revision} to replace it`,
      { function: name, revision, ...(updatedBy !== undefined ? { updatedBy } : {}), ...(updatedAt !== undefined ? { updatedAt: new Date(updatedAt).toISOString() } : {}) });
    }
  },
);

export const deleteDraft = operation(
  {
    id: 'deleteDraft', tag, role: 'deployer', summary: 'Discard the draft (nothing happens when there is none); with ifRevision, only the draft at that revision',
    query: draftDeleteQuery,
    answers: { 204: { description: 'Discarded', schema: null } }, errors: ['DRAFT_CONFLICT'],
  },
  async (call, input) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const { ifRevision } = input.query();
    await getFunction(call.ctx, key);
    if (ifRevision === undefined) {
      await call.ctx.store.drafts.delete(key);
      return noContent();
    }
    // A tab that deployed (or discards) what it read must not discard a newer draft another tab
    // saved meanwhile (console round 9): only the draft at that revision goes, atomically.
    if (await call.ctx.store.drafts.delete(key, ifRevision)) return noContent();
    const now = await call.ctx.store.drafts.get(key);
    if (now === null) return noContent(); // none left: nothing to keep
    throw new PlatformError('DRAFT_CONFLICT',
      `the draft of "${name}" was saved by ${now.updatedBy ?? '?'} at ${new Date(now.updatedAt).toISOString()} (revision ${now.revision}) since you read revision ${ifRevision}; it was kept`,
      { function: name, revision: now.revision, updatedBy: now.updatedBy, updatedAt: new Date(now.updatedAt).toISOString() });
  },
);

export const listTestCases = operation(
  { id: 'listTestCases', tag, role: 'viewer', summary: "The function's saved test requests, by name", answers: { 200: { description: 'The test cases', schema: testCaseList } }, errors: [] },
  async (call) => {
    const { key } = functionParam(call.params[0]!, call.scope);
    await getFunction(call.ctx, key);
    return json(200, { items: (await call.ctx.store.testCases.list(key)).map(caseView) });
  },
);

export const putTestCase = operation(
  {
    id: 'putTestCase', tag, role: 'deployer', summary: 'Save a named test request (the body of a test invoke), replacing one of the same name',
    body: testCaseBody,
    answers: { 200: { description: 'The saved test case', schema: testCaseAnswer } },
    errors: ['INVALID_FIELD', 'TEST_CASE_LIMIT'],
  },
  async (call, input) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const caseName = textParam(call.params[1]!, 'testCase', TEST_CASE_NAME);
    const body = await input.body();
    await getFunction(call.ctx, key);
    // One save of a function's cases at a time in this process, from the read to the write: saves
    // sent at once each read the same cases and all passed the bounds (production: 40 saves of
    // 300 KiB stored 12 MB against 1 MiB; red team round 9). Processes still save side by side.
    const { saved, replaced } = await call.ctx.locks.run(`test-cases:${key}`, async () => {
      const existing = await call.ctx.store.testCases.list(key);
      if (existing.length >= MAX_TEST_CASES && !existing.some((c) => c.name === caseName)) {
        throw new PlatformError('TEST_CASE_LIMIT', `function "${name}" has ${MAX_TEST_CASES} test cases already; delete one first`, { function: name, limit: MAX_TEST_CASES });
      }
      const bytes = existing.reduce((sum, c) => sum + (c.name === caseName ? 0 : requestBytes(c.request)), requestBytes(body.request));
      if (bytes > MAX_TEST_CASE_BYTES) {
        throw new PlatformError('TEST_CASE_LIMIT', `function "${name}"'s test cases would hold ${describeBytes(bytes)} together, more than ${describeBytes(MAX_TEST_CASE_BYTES)}; delete ones you no longer run, or save a smaller request`, { function: name, limitBytes: MAX_TEST_CASE_BYTES });
      }
      return {
        saved: await call.ctx.store.testCases.put(key, caseName, { mode: body.mode, request: body.request as Record<string, unknown> }),
        replaced: existing.some((c) => c.name === caseName),
      };
    });
    await audit(call, 'test-case.save', name, { testCase: caseName, mode: body.mode, replaced });
    return json(200, { testCase: caseView(saved) });
  },
);

export const deleteTestCase = operation(
  { id: 'deleteTestCase', tag, role: 'deployer', summary: 'Delete a saved test request', answers: { 204: { description: 'Deleted', schema: null } }, errors: ['INVALID_FIELD', 'TEST_CASE_NOT_FOUND'] },
  async (call) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const caseName = textParam(call.params[1]!, 'testCase', TEST_CASE_NAME);
    await getFunction(call.ctx, key);
    if (!(await call.ctx.store.testCases.delete(key, caseName))) {
      throw new PlatformError('TEST_CASE_NOT_FOUND', `function "${name}" has no test case "${caseName}"`, { function: name });
    }
    await audit(call, 'test-case.delete', name, { testCase: caseName });
    return noContent();
  },
);

export const getVersionFile = operation(
  {
    id: 'getVersionFile', tag: 'code', role: 'viewer', summary: "One file of a version: its text (or base64 when it is not UTF-8)",
    query: fileQuery,
    answers: { 200: { description: 'The file', schema: versionFileAnswer } },
    errors: ['INVALID_FIELD', 'VERSION_NOT_FOUND', 'VERSION_FILE_NOT_FOUND', 'FILE_READS_BUSY'],
  },
  async (call, input) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const number = positiveIntParam(call.params[1]!, 'version');
    const { path } = input.query();
    await getFunction(call.ctx, key);
    const version = await call.ctx.store.versions.get(key, number);
    if (version === null) throw new PlatformError('VERSION_NOT_FOUND', `function "${name}" has no version ${number}`, { field: 'version', function: name, version: number });
    const entry = version.files.find((f) => f.path === path);
    if (entry === undefined) throw new PlatformError('VERSION_FILE_NOT_FOUND', `version ${number} of "${name}" has no file at that path`, { field: 'query.path', function: name, version: number });
    // Read and encoded within the process's bound on such reads (service/file-reads.ts).
    return call.ctx.fileReads.with(call.scope.workspace, entry.size, async () => {
      const data = await call.ctx.store.blobs.get(entry.sha256);
      if (data === null) throw new PlatformError('VERSION_FILE_NOT_FOUND', `the content of that file is missing from the store`, { field: 'query.path', function: name, version: number });
      const text = utf8(data);
      return json(200, { path, sha256: entry.sha256, size: entry.size, ...(text !== null ? { encoding: 'utf-8', content: text } : { encoding: 'base64', content: data.toString('base64') }) });
    });
  },
);

export const validateCode = operation(
  {
    id: 'validateCode', metered: false, tag: 'code', role: 'deployer', summary: 'Check files as `fastapi-platform validate` does (manifest, syntax, entrypoint), nothing stored',
    body: validateBody,
    answers: { 200: { description: 'Every problem found, each at its file and line (ok: none)', schema: validationAnswer } },
    errors: ['VALIDATION_BUSY', 'VALIDATION_UNAVAILABLE', 'BUNDLE_PATH_INVALID', 'BUNDLE_PATH_DUPLICATE', 'BUNDLE_PATH_CONFLICT'],
  },
  async (call, input) => {
    const body = await input.body();
    const checker = call.ctx.codeCheck;
    if (checker === null) throw new PlatformError('VALIDATION_UNAVAILABLE', 'this platform process runs no code check');
    // The platform's own ceilings on limits (memory, timeout, instances), as deploy refuses them.
    return json(200, await checker.check(call.scope.workspace, body.files, body.entrypoint, call.ctx.settings));
  },
);

/** The draft's paths under the bundle's rules (what an upload of them would be refused for). */
function bundlePaths(raw: readonly string[]): string[] {
  const entries = raw.map((path, i) => ({ path: normalizeBundlePath(path, `files[${i}].path`), raw: path, field: `files[${i}].path` }));
  checkPathSet(entries);
  return entries.map((e) => e.path);
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function utf8(data: Buffer): string | null {
  try {
    return decoder.decode(data);
  } catch {
    return null;
  }
}

/** The size of a test case's request as stored (JSON). */
function requestBytes(request: unknown): number {
  return Buffer.byteLength(JSON.stringify(request));
}
