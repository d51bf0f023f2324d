/**
 * The platform's start check as `deploy` and `rollback` report it (docs/api.md, "Deploys"): a
 * line for a version that loaded, and for one that did not (DEPLOY_START_FAILED) what its load
 * printed and its traceback, then the refusal with how to go on.
 */
import type { ApiStartReport } from './client.js';
import { CliError } from './errors.js';
import type { Output } from './output.js';
import { safeLines, terminalSafe } from './terminal.js';

/** The line after "Version N deployed": how the check went. */
export function startLine(start: ApiStartReport): string {
  return start.checked
    ? `Start check: it loaded in ${start.initMs} ms (then stopped: the first call starts it).`
    : `Start check: not made (${terminalSafe(start.reason)}); the first call shows whether it loads.`;
}

/**
 * A DEPLOY_START_FAILED refusal: the load's lines and traceback said first (the function's own
 * text, control characters shown escaped), then the error with `next` (what to do). Anything else
 * passes through unchanged.
 */
export function startFailure(out: Output, err: unknown, next: string): unknown {
  if (!(err instanceof CliError) || err.code !== 'DEPLOY_START_FAILED') return err;
  for (const line of loadReport(err)) out.note(line);
  return new CliError(err.exitCode, err.code, `${safeLines(err.message)}\n${next}`, err.details);
}

/** A DEPLOY_START_FAILED refusal's load lines and traceback, as lines to print (escaped); none for another error. */
export function loadReport(err: unknown): string[] {
  if (!(err instanceof CliError) || err.code !== 'DEPLOY_START_FAILED') return [];
  const out: string[] = [];
  const logs = Array.isArray(err.details.logs) ? (err.details.logs as { stream?: unknown; msg?: unknown }[]) : [];
  if (logs.length > 0) {
    out.push('What its load printed (last lines):');
    for (const l of logs) out.push(`  ${terminalSafe(String(l.msg ?? ''))}`);
  }
  const cause = err.details.cause as { stack?: unknown } | undefined;
  if (typeof cause?.stack === 'string' && cause.stack !== '') for (const line of cause.stack.trimEnd().split('\n')) out.push(terminalSafe(line));
  return out;
}
