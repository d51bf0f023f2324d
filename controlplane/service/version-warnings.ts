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
 */
import { PlatformError, type LimitCeilings } from '../../protocol/index.js';
import type { VersionRecord } from '../store/index.js';
import type { CodeCheckResult } from './code-check.js';
import type { ServiceContext } from './context.js';

/** Versions larger than this (all files) are not checked at upload (`POST /validate` still checks them). */
export const MAX_CHECKED_BYTES = 4 * 1024 * 1024;

export type VersionWarnings = { warnings: CodeCheckResult['warnings'] } | { warningsSkipped: string };

export async function versionWarnings(ctx: ServiceContext, workspace: string, version: VersionRecord, ceilings: LimitCeilings): Promise<VersionWarnings> {
  const checker = ctx.codeCheck;
  if (checker === null) return { warningsSkipped: 'this platform process runs no code check' };
  const bytes = version.files.reduce((sum, f) => sum + f.size, 0);
  if (bytes > MAX_CHECKED_BYTES) return { warningsSkipped: `the version's files are over ${MAX_CHECKED_BYTES / (1024 * 1024)} MiB: POST /validate checks them` };
  if (!checker.startsNow(workspace)) return { warningsSkipped: 'the code checks were busy: POST /validate checks the files' };
  try {
    const files = await ctx.fileReads.with(workspace, bytes, () => Promise.all(version.files.map(async (f) => {
      const content = await ctx.store.blobs.get(f.sha256);
      if (content === null) throw new PlatformError('VALIDATION_UNAVAILABLE', `the content of ${f.path} is missing from the store`);
      return { path: f.path, content };
    })));
    const result = await checker.check(workspace, files, version.entrypoint, ceilings, { wait: false });
    return { warnings: result.warnings };
  } catch (err) {
    if (err instanceof PlatformError && (err.code === 'VALIDATION_BUSY' || err.code === 'VALIDATION_UNAVAILABLE' || err.code === 'FILE_READS_BUSY')) {
      return { warningsSkipped: `${err.message}: POST /validate checks the files` };
    }
    throw err;
  }
}
