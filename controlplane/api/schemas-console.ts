/**
 * What the console's operations accept (docs/api.md, "Drafts and test cases", "Validation"):
 * strict zod schemas like ./schemas.ts. Text files only: the console edits UTF-8 text; sizes are
 * bounded by the 1 MiB body limit of these routes.
 */
import { z } from 'zod';
import { manifestSchema } from '../../protocol/index.js';
import { TEST_CASE_MODES } from '../store/types.js';
import { testInvokeBody } from './schemas.js';

/** Names of test cases: what fits a URL segment and a button label. */
export const TEST_CASE_NAME = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/;
/** Most files a draft or a check may hold, and saved test cases per function. */
export const MAX_TEXT_FILES = 1000;
export const MAX_TEST_CASES = 100;
/**
 * Bytes (their requests as JSON) a function's saved test cases may hold together: the route's body
 * limit, so any one case the route takes fits alone. Before (red team round 7), 100 cases of 1 MiB
 * each were stored past the workspace's `codeBytes`, and each list of them (role `viewer`) was
 * read, parsed and written as one 130 MiB answer on the event loop (~0.8 s; ten at once held every
 * workspace's calls 8 s).
 */
export const MAX_TEST_CASE_BYTES = 1024 * 1024;

const textFile = z.strictObject({
  path: z.string().min(1).max(1024),
  content: z.string(),
});

export const draftBody = z.strictObject({
  baseVersion: z.int().min(1).nullable(),
  files: z.array(textFile).max(MAX_TEXT_FILES),
  removed: z.array(z.string().min(1).max(1024)).max(MAX_TEXT_FILES).default([]),
  /** The draft's revision this save replaces (0: none saved); another is 409 DRAFT_CONFLICT. Omitted: the last write wins. */
  ifRevision: z.int().min(0).optional(),
});

export const draftDeleteQuery = z.strictObject({
  /** Discard only the draft at this revision (the one the caller read or deployed); another is 409 DRAFT_CONFLICT. Omitted: whatever is there. */
  ifRevision: z.string().regex(/^(0|[1-9][0-9]{0,15})$/, 'a revision: 0 or a positive integer').transform(Number).optional(),
});

export const testCaseBody = z.strictObject({
  mode: z.enum(TEST_CASE_MODES).default('sync'),
  request: testInvokeBody,
});

export const validateBody = z.strictObject({
  files: z.array(textFile).min(1).max(MAX_TEXT_FILES),
  /** Checked when the files hold no platform.yaml (default `main:handler`). */
  entrypoint: manifestSchema.shape.entrypoint.optional(),
});

export const fileQuery = z.strictObject({ path: z.string().min(1).max(1024) });
