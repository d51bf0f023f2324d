/**
 * The one shape of a `--json` document (ADR 0174; docs/cli.md, "JSON output"). Output.data and
 * Output.event print it; this file says what it is, and the unit test cli-json-shape checks every
 * command's document against `documentProblems`.
 *
 * - One object on stdout (never a bare array), with `ok`: true exactly when the exit code is 0.
 * - A failure: `ok: false` and `error: {code, message, exitCode, …details}`, on stdout too; a
 *   command may keep fields of its own beside it (invoke's `status` and `body`, validate's `problems`).
 * - A list: its entries in `items`, with `nextCursor` (null on the last page) where the API pages.
 * - A long-running command (`up`, `dev`, `logs -f`): one object per line, its kind in `event`.
 */
import { EXIT, type ExitCode } from './errors.js';

/** The `error` of a failed command's document: the stable code first, then what it carries. */
export interface ErrorBody {
  code: string;
  message: string;
  exitCode: number;
  [detail: string]: unknown;
}

/** The error object every failure prints: code, message and exit code first, and they win over a detail of the same name. */
export function documentError(code: string, message: string, exitCode: ExitCode, details: Record<string, unknown> = {}): ErrorBody {
  const body: ErrorBody = { code, message, exitCode, ...details };
  Object.assign(body, { code, message, exitCode });
  return body;
}

/**
 * The exit code of a refusal by a code of protocol/errors.ts: the function's own failure (its code,
 * its runtime) is 1, any other refusal of the platform (not found, auth, paused, a limit) is 4,
 * whether the API or the gateway answered it.
 */
export function exitOfComponent(component: string | undefined): ExitCode {
  return component === 'function' || component === 'runtime' || component === undefined ? EXIT.FAILURE : EXIT.API;
}

/**
 * What is wrong with `doc` as the document of a command that exited `exitCode` (empty when
 * nothing): the rule above, as the unit test checks it.
 */
export function documentProblems(doc: unknown, exitCode: number): string[] {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return ['the document is not an object'];
  const d = doc as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof d['ok'] !== 'boolean') problems.push('no boolean `ok`');
  else if (d['ok'] !== (exitCode === EXIT.OK)) problems.push(`ok is ${String(d['ok'])} with exit code ${exitCode}`);
  if (d['ok'] === false) {
    const e = d['error'] as Record<string, unknown> | undefined;
    if (e === null || typeof e !== 'object') problems.push('a failure without an `error` object');
    else {
      if (typeof e['code'] !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(e['code'])) problems.push('error.code is not a stable code');
      if (typeof e['message'] !== 'string' || e['message'] === '') problems.push('error.message is not a text');
      if (e['exitCode'] !== exitCode) problems.push(`error.exitCode ${String(e['exitCode'])} is not the exit code ${exitCode}`);
    }
  }
  if ('items' in d && !Array.isArray(d['items'])) problems.push('`items` is not an array');
  if ('nextCursor' in d && d['nextCursor'] !== null && typeof d['nextCursor'] !== 'string') problems.push('`nextCursor` is neither a string nor null');
  return problems;
}

/** What is wrong with one line of a long-running command's output (`up`, `dev`, `logs -f`). */
export function eventProblems(line: unknown): string[] {
  if (line === null || typeof line !== 'object' || Array.isArray(line)) return ['the line is not an object'];
  const l = line as Record<string, unknown>;
  // The error that ends such a command is a document, on one line.
  if (l['ok'] === false) return documentProblems(l, (l['error'] as { exitCode?: number } | undefined)?.exitCode ?? -1);
  return typeof l['event'] === 'string' ? [] : ['a line without its kind in `event`'];
}
