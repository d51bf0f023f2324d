/**
 * The warnings of an uploaded version (docs/api.md, "Code: blobs and versions"): the code check of
 * `POST /validate` (./code-check.ts, one rule for both) run on the version's stored files, so a
 * deploy through the API (the CLI's, the console's, a script's) hears what `validate` says (a cron
 * step past its range, an undeclared third-party import…), not only the CLI's own preflight.
 *
 * A warning never refuses or slows a deploy much: the check runs only when a slot of the
 * workspace's share is free at once (no waiting behind other checks) and the version's files total
 * at most MAX_CHECKED_BYTES; otherwise the answer says why it has no warnings (`warningsSkipped`).
 * Only files of the version are read, after the upload made them the workspace's (docs/adr/0248-an-upload-answers-its-warnings.md).
 *
 * A check costs a Python process (~80-160 ms on the shared test machine, more than the rest of a
 * small upload), and uploads repeat the same files (a CLI deploy of unchanged code, a test suite's
 * fixtures): an upload whose files (paths and sha256), entrypoint and ceilings match one checked
 * before in the same workspace answers that check's warnings without a new one (ADR 0248, amended).
 * Per workspace, so one tenant cannot learn from an answer's speed that another uploaded some code.
 */
import { createHash } from 'node:crypto';
import { PlatformError, type LimitCeilings } from '../../protocol/index.js';
import type { VersionRecord } from '../store/index.js';
import type { CodeChecker, CodeCheckResult } from './code-check.js';
import type { ServiceContext } from './context.js';

/** Versions larger than this (all files) are not checked at upload (`POST /validate` still checks them). */
export const MAX_CHECKED_BYTES = 4 * 1024 * 1024;

/** Checks remembered per checker (oldest forgotten first), and the most warnings one may hold. */
export const REMEMBERED_CHECKS = 256;
const REMEMBERED_WARNINGS = 100;
const remembered = new WeakMap<CodeChecker, Map<string, CodeCheckResult['warnings']>>();

export type VersionWarnings = { warnings: CodeCheckResult['warnings'] } | { warningsSkipped: string };

export async function versionWarnings(ctx: ServiceContext, workspace: string, version: VersionRecord, ceilings: LimitCeilings): Promise<VersionWarnings> {
  const checker = ctx.codeCheck;
  if (checker === null) return { warningsSkipped: 'this platform process runs no code check' };
  const bytes = version.files.reduce((sum, f) => sum + f.size, 0);
  if (bytes > MAX_CHECKED_BYTES) return { warningsSkipped: `the version's files are over ${MAX_CHECKED_BYTES / (1024 * 1024)} MiB: POST /validate checks them` };
  const key = createHash('sha256').update(JSON.stringify([workspace, version.entrypoint, ceilings, version.files.map((f) => [f.path, f.sha256])])).digest('hex');
  let memo = remembered.get(checker);
  if (memo === undefined) remembered.set(checker, (memo = new Map()));
  const known = memo.get(key);
  if (known !== undefined) return { warnings: known };
  if (!checker.startsNow(workspace)) return { warningsSkipped: 'the code checks were busy: POST /validate checks the files' };
  try {
    const files = await ctx.fileReads.with(workspace, bytes, () => Promise.all(version.files.map(async (f) => {
      const content = await ctx.store.blobs.get(f.sha256);
      if (content === null) throw new PlatformError('VALIDATION_UNAVAILABLE', `the content of ${f.path} is missing from the store`);
      return { path: f.path, content };
    })));
    const result = await checker.check(workspace, files, version.entrypoint, ceilings, { wait: false });
    if (result.warnings.length <= REMEMBERED_WARNINGS) {
      if (memo.size >= REMEMBERED_CHECKS) memo.delete(memo.keys().next().value!);
      memo.set(key, result.warnings);
    }
    return { warnings: result.warnings };
  } catch (err) {
    if (err instanceof PlatformError && (err.code === 'VALIDATION_BUSY' || err.code === 'VALIDATION_UNAVAILABLE' || err.code === 'FILE_READS_BUSY')) {
      return { warningsSkipped: `${err.message}: POST /validate checks the files` };
    }
    throw err;
  }
}
