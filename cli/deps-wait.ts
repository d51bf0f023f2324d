/**
 * `deploy` waits for a version's dependency build (docs/dependencies.md): it polls the version's
 * deps, reports each phase as it changes (and the time every 10 s), and on failure ends with the
 * build's own code (DEPS_NOT_FOUND, DEPS_CONFLICT, …: exit 4) after showing the end of its log.
 */
import type { ApiClient, ApiDeps } from './client.js';
import { CliError, EXIT } from './errors.js';

const POLL_MS = 500;
/** Longer than the longest build the platform allows (FP_DEPS_TIMEOUT_MS up to 1 h). */
const WAIT_LIMIT_MS = 65 * 60_000;
const LOG_LINES = 40;
/**
 * How long the platform may not answer while the wait polls: a restart (an upgrade, `systemctl
 * restart`, a crash and its supervisor) starts the interrupted build again (ADR 0239), and the
 * wait goes on with it. Before, the first refused poll ended `deploy` with UNREACHABLE (exit 5)
 * and the version was never deployed (chaos round 9).
 */
const RESTART_GRACE_MS = 120_000;

export interface DepsProgress {
  /** A line of progress (`dependencies: resolving… 3 s`). */
  progress(line: string): void;
  /** The end of a failed build's log, shown before the error. */
  log(text: string): void;
}

export async function waitForDeps(client: ApiClient, name: string, version: number, first: ApiDeps, out: DepsProgress, sleep = defaultSleep): Promise<ApiDeps> {
  // The monotonic clock: a wall-clock step must not end the wait, nor stretch it (chaos round 9).
  const started = performance.now();
  let deps: ApiDeps | null = first;
  let shown = '';
  let lastTick = started;
  /** When the platform stopped answering the polls (0: it answers). */
  const silent = { since: 0 };
  while (deps !== null && deps.state === 'building') {
    const phase = deps.phase ?? 'queued';
    const now = performance.now();
    if (phase !== shown || now - lastTick >= 10_000) {
      out.progress(`dependencies: ${phase}… ${Math.round((now - started) / 1000)} s`);
      shown = phase;
      lastTick = now;
    }
    if (now - started > WAIT_LIMIT_MS) throw new CliError(EXIT.API, 'DEPS_NOT_READY', `the dependencies of version ${version} are still building after ${Math.round(WAIT_LIMIT_MS / 60_000)} minutes`);
    await sleep(POLL_MS);
    deps = await pollThroughRestart(client, name, version, deps, out, silent);
  }
  if (deps === null) return first;
  if (deps.state === 'failed') {
    const full = deps.log === undefined ? await client.getDeps(name, version) : deps;
    const tail = (full?.log ?? '').trimEnd().split('\n').slice(-LOG_LINES).join('\n');
    if (tail !== '') out.log(tail);
    const error = deps.error ?? { code: 'DEPS_BUILD_FAILED', message: 'the dependency build failed' };
    throw new CliError(EXIT.API, error.code, `the dependencies of version ${version} could not be installed: ${error.message}`, { version });
  }
  return deps;
}

/** The version's deps, or `last` again while the platform does not answer, up to RESTART_GRACE_MS (said once). */
async function pollThroughRestart(client: ApiClient, name: string, version: number, last: ApiDeps, out: DepsProgress, silent: { since: number }): Promise<ApiDeps | null> {
  try {
    const deps = await client.getDeps(name, version);
    if (silent.since !== 0) out.progress('dependencies: the platform answers again');
    silent.since = 0;
    return deps;
  } catch (err) {
    if (!(err instanceof CliError) || err.code !== 'UNREACHABLE') throw err;
    const now = performance.now();
    if (silent.since === 0) {
      silent.since = now;
      out.progress(`dependencies: the platform does not answer (restarting?); waiting up to ${RESTART_GRACE_MS / 60_000} minutes for it: the build starts again at its start`);
    } else if (now - silent.since > RESTART_GRACE_MS) {
      silent.since = 0;
      throw err;
    }
    return last;
  }
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
