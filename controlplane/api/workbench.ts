/**
 * What the console edits with, open to any API client (docs/api.md, "Drafts and test cases",
 * "Validation"): a function's draft (`/functions/{name}/draft`), its saved test requests
 * (`/functions/{name}/test-cases`), one file of a version as text (`…/versions/{version}/file`),
 * and the code check `fastapi-platform validate` runs (`POST /validate`).
 */
import { PlatformError } from '../../protocol/index.js';
import { checkPathSet, normalizeBundlePath } from '../bundles/index.js';
import { getFunction } from '../service/functions.js';
import { draftAnswer, testCaseAnswer, testCaseList, validationAnswer, versionFileAnswer } from './answers-console.js';
import { json, noContent } from './http.js';
import { operation } from './router.js';
import { draftBody, fileQuery, MAX_TEST_CASES, TEST_CASE_NAME, testCaseBody, validateBody } from './schemas-console.js';
import { nameParam, positiveIntParam, textParam } from './validate.js';
import type { TestCase } from '../store/index.js';

const tag = 'console';

const caseView = (c: TestCase) => ({ name: c.name, mode: c.mode, request: c.request, createdAt: c.createdAt, updatedAt: c.updatedAt });

export const getDraft = operation(
  { id: 'getDraft', tag, summary: "The function's saved draft (edits over a version)", answers: { 200: { description: 'The draft', schema: draftAnswer } }, errors: ['DRAFT_NOT_FOUND'] },
  async (call) => {
    const name = nameParam(call.params[0]!);
    await getFunction(call.ctx, name);
    const draft = await call.ctx.store.drafts.get(name);
    if (draft === null) throw new PlatformError('DRAFT_NOT_FOUND', `function "${name}" has no saved draft`, { function: name });
    return json(200, { draft });
  },
);

export const putDraft = operation(
  {
    id: 'putDraft', tag, summary: 'Save the draft: changed or added files (full text) and removed paths over a base version',
    body: draftBody,
    answers: { 200: { description: 'The saved draft', schema: draftAnswer } },
    errors: ['VERSION_NOT_FOUND', 'BUNDLE_PATH_INVALID', 'BUNDLE_PATH_DUPLICATE', 'BUNDLE_PATH_CONFLICT'],
  },
  async (call, input) => {
    const name = nameParam(call.params[0]!);
    const body = await input.body();
    await getFunction(call.ctx, name);
    if (body.baseVersion !== null && (await call.ctx.store.versions.get(name, body.baseVersion)) === null) {
      throw new PlatformError('VERSION_NOT_FOUND', `function "${name}" has no version ${body.baseVersion}`, { field: 'baseVersion', function: name, version: body.baseVersion });
    }
    const files = bundlePaths(body.files.map((f) => f.path)).map((path, i) => ({ path, content: body.files[i]!.content })).sort((a, b) => (a.path < b.path ? -1 : 1));
    const removed = [...new Set(body.removed)].sort();
    const draft = await call.ctx.store.drafts.put(name, { baseVersion: body.baseVersion, files, removed, updatedBy: call.who.label });
    return json(200, { draft });
  },
);

export const deleteDraft = operation(
  { id: 'deleteDraft', tag, summary: 'Discard the draft (nothing happens when there is none)', answers: { 204: { description: 'Discarded', schema: null } }, errors: [] },
  async (call) => {
    const name = nameParam(call.params[0]!);
    await getFunction(call.ctx, name);
    await call.ctx.store.drafts.delete(name);
    return noContent();
  },
);

export const listTestCases = operation(
  { id: 'listTestCases', tag, summary: "The function's saved test requests, by name", answers: { 200: { description: 'The test cases', schema: testCaseList } }, errors: [] },
  async (call) => {
    const name = nameParam(call.params[0]!);
    await getFunction(call.ctx, name);
    return json(200, { items: (await call.ctx.store.testCases.list(name)).map(caseView) });
  },
);

export const putTestCase = operation(
  {
    id: 'putTestCase', tag, summary: 'Save a named test request (the body of a test invoke), replacing one of the same name',
    body: testCaseBody,
    answers: { 200: { description: 'The saved test case', schema: testCaseAnswer } },
    errors: ['INVALID_FIELD', 'TEST_CASE_LIMIT'],
  },
  async (call, input) => {
    const name = nameParam(call.params[0]!);
    const caseName = textParam(call.params[1]!, 'testCase', TEST_CASE_NAME);
    const body = await input.body();
    await getFunction(call.ctx, name);
    const existing = await call.ctx.store.testCases.list(name);
    if (existing.length >= MAX_TEST_CASES && !existing.some((c) => c.name === caseName)) {
      throw new PlatformError('TEST_CASE_LIMIT', `function "${name}" has ${MAX_TEST_CASES} test cases already; delete one first`, { function: name, limit: MAX_TEST_CASES });
    }
    const saved = await call.ctx.store.testCases.put(name, caseName, { mode: body.mode, request: body.request as Record<string, unknown> });
    return json(200, { testCase: caseView(saved) });
  },
);

export const deleteTestCase = operation(
  { id: 'deleteTestCase', tag, summary: 'Delete a saved test request', answers: { 204: { description: 'Deleted', schema: null } }, errors: ['INVALID_FIELD', 'TEST_CASE_NOT_FOUND'] },
  async (call) => {
    const name = nameParam(call.params[0]!);
    const caseName = textParam(call.params[1]!, 'testCase', TEST_CASE_NAME);
    await getFunction(call.ctx, name);
    if (!(await call.ctx.store.testCases.delete(name, caseName))) {
      throw new PlatformError('TEST_CASE_NOT_FOUND', `function "${name}" has no test case "${caseName}"`, { function: name });
    }
    return noContent();
  },
);

export const getVersionFile = operation(
  {
    id: 'getVersionFile', tag: 'code', summary: "One file of a version: its text (or base64 when it is not UTF-8)",
    query: fileQuery,
    answers: { 200: { description: 'The file', schema: versionFileAnswer } },
    errors: ['INVALID_FIELD', 'VERSION_NOT_FOUND', 'VERSION_FILE_NOT_FOUND'],
  },
  async (call, input) => {
    const name = nameParam(call.params[0]!);
    const number = positiveIntParam(call.params[1]!, 'version');
    const { path } = input.query();
    await getFunction(call.ctx, name);
    const version = await call.ctx.store.versions.get(name, number);
    if (version === null) throw new PlatformError('VERSION_NOT_FOUND', `function "${name}" has no version ${number}`, { field: 'version', function: name, version: number });
    const entry = version.files.find((f) => f.path === path);
    if (entry === undefined) throw new PlatformError('VERSION_FILE_NOT_FOUND', `version ${number} of "${name}" has no file at that path`, { field: 'query.path', function: name, version: number });
    const data = await call.ctx.store.blobs.get(entry.sha256);
    if (data === null) throw new PlatformError('VERSION_FILE_NOT_FOUND', `the content of that file is missing from the store`, { field: 'query.path', function: name, version: number });
    const text = utf8(data);
    return json(200, { path, sha256: entry.sha256, size: entry.size, ...(text !== null ? { encoding: 'utf-8', content: text } : { encoding: 'base64', content: data.toString('base64') }) });
  },
);

export const validateCode = operation(
  {
    id: 'validateCode', tag: 'code', summary: 'Check files as `fastapi-platform validate` does (manifest, syntax, entrypoint), nothing stored',
    body: validateBody,
    answers: { 200: { description: 'Every problem found, each at its file and line (ok: none)', schema: validationAnswer } },
    errors: ['VALIDATION_BUSY', 'VALIDATION_UNAVAILABLE', 'BUNDLE_PATH_INVALID', 'BUNDLE_PATH_DUPLICATE', 'BUNDLE_PATH_CONFLICT'],
  },
  async (call, input) => {
    const body = await input.body();
    const checker = call.ctx.codeCheck;
    if (checker === null) throw new PlatformError('VALIDATION_UNAVAILABLE', 'this platform process runs no code check');
    return json(200, await checker.check(body.files, body.entrypoint));
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
