/**
 * The start check of a deploy or rollback (docs/adr/0084-deploy-start-check.md): before the
 * switch, an instance of the target version is started as a call would start one. A version whose
 * code does not load (an import that fails, a module-level error, a lifespan startup that raises,
 * a load past the init limit, a crash or out-of-memory while loading) is refused with
 * DEPLOY_START_FAILED, the load's error and lines; the active version keeps serving.
 */
import { PlatformError, type LogLine, type StartCheck } from '../../protocol/index.js';
import { versionTraits } from '../registry/store-registry.js';
import type { FunctionRecord, VersionRecord, VersionStartCheck } from '../store/index.js';
import type { ServiceContext } from './context.js';

/** What a deploy's answer says of its check: loaded (in `initMs`), or not checked and why. */
/** `noTemplate`: why the version will scale out by importing its module in each instance (ADR 0201). */
export type StartReport = { checked: true; initMs: number; noTemplate?: string } | { checked: false; reason: string };

/** The load's last lines a refusal carries (all of them are in the error's `logs` up to this many). */
const MAX_LINES = 100;

/**
 * Starts `version` of `record`'s function; throws DEPLOY_START_FAILED when it does not load.
 * `undo` takes back what the check set up (a data binding made for it) if the deploy then does
 * not happen.
 */
export async function startCheck(ctx: ServiceContext, record: FunctionRecord, version: VersionRecord, options: { settings?: boolean } = {}): Promise<{ report: StartReport; undo: () => void }> {
  const none = (): void => {};
  if (ctx.pool.tryStart === undefined) return { report: { checked: false, reason: 'this platform\'s pool cannot start an instance ahead' }, undo: none };
  const made = ctx.registry.candidate(record, version.version, version.entrypoint, versionTraits(version.manifest));
  if ('skip' in made) return { report: { checked: false, reason: made.skip }, undo: none };
  const undo = made.undo ?? none;
  // A settings change checks the serving version with other env and limits: an instance of its own
  // (the pool keys instances by name@version, and would answer with a warm one of the old settings).
  const fn = options.settings === true ? { ...made.fn, version: `${made.fn.version}~settings-check` } : made.fn;
  const found: StartCheck = await ctx.pool.tryStart(fn);
  if (found.outcome === 'skipped') return { report: { checked: false, reason: found.reason }, undo };
  if (found.outcome === 'started') {
    return { report: { checked: true, initMs: round(found.initMs), ...(found.noTemplate !== undefined ? { noTemplate: found.noTemplate } : {}) }, undo };
  }
  undo();
  const { error } = found;
  const at = error.file !== undefined ? ` (${error.file}${error.line !== undefined ? `:${error.line}` : ''})` : '';
  const keeps = options.settings === true ? `nothing was changed: version ${version.version} keeps serving with its settings as they were`
    : record.activeVersion === null ? 'nothing was deployed'
    : record.status === 'paused' ? `version ${record.activeVersion} stays the active one (the function is paused)` : `version ${record.activeVersion} keeps serving`;
  const what = options.settings === true ? `version ${version.version} did not start with the new env, secrets or limits` : `version ${version.version} did not start`;
  throw new PlatformError('DEPLOY_START_FAILED', `${what}: ${error.type}: ${error.message}${at}; ${keeps}`, {
    function: record.name,
    version: version.version,
    initMs: round(found.initMs),
    cause: error,
    logs: found.logs.slice(-MAX_LINES).map(shown),
  });
}

/** The longest refusal message a version keeps (the caller got it whole; a traceback's message may be long). */
const KEPT_MESSAGE_CHARS = 1000;

/**
 * Runs a deploy's checks of `version` (`check`: its dependency build, then its start check; null
 * when the start was not checked) and keeps what they found with the version
 * (docs/adr/0252-a-versions-start-result-is-kept.md): started, or refused with the code and the
 * message the caller gets (a function's secret values in it already masked: ADR 0269). A build
 * still running (DEPS_NOT_READY) or a refusal of the platform's own (no version, a conflict) is not
 * the version's result and is not kept; nor is a start not checked. A failed write of it fails
 * nothing: the deploy's answer says what it found.
 */
export async function keptWithVersion<T extends { report: StartReport } | null>(ctx: ServiceContext, version: VersionRecord, check: () => Promise<T>): Promise<T> {
  const keep = (found: Omit<VersionStartCheck, 'at'>): Promise<void> =>
    ctx.store.versions.setStartCheck(version.function, version.version, { ...found, at: Date.now() })
      .catch((err: unknown) => ctx.log(`deploy: the start check of ${version.function} version ${version.version} not kept: ${String(err)}`));
  let result: T;
  try {
    result = await check();
  } catch (err) {
    if (err instanceof PlatformError && versionsOwn(err.code)) await keep({ ok: false, code: err.code, message: err.message.slice(0, KEPT_MESSAGE_CHARS) });
    throw err;
  }
  if (result !== null && result.report.checked) await keep({ ok: true, code: null, message: null });
  return result;
}

/** The refusals that are the version's own result: its code did not load, its dependencies did not build. */
function versionsOwn(code: string): boolean {
  return code === 'DEPLOY_START_FAILED' || (code.startsWith('DEPS_') && code !== 'DEPS_NOT_READY');
}

function shown(line: LogLine): { stream: string; msg: string; level?: string } {
  return { stream: line.stream, msg: line.msg, ...(line.level !== undefined ? { level: line.level } : {}) };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
