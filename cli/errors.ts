/**
 * Exit codes and the errors that carry them. Every failure of a command ends as a CliError with
 * one of these codes (documented in docs/cli.md); anything else is a bug and exits 1.
 */
export const EXIT = {
  OK: 0,
  /** The command ran and failed (e.g. an invocation answered with an error status). */
  FAILURE: 1,
  /** Bad command line: unknown command or option, missing or malformed argument. */
  USAGE: 2,
  /** Local preflight found problems (manifest, Python syntax, entrypoint, file limits). */
  INVALID: 3,
  /** The control plane refused the request (auth, not found, conflict, bad input, server error). */
  API: 4,
  /** The platform could not be reached at all. */
  UNREACHABLE: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI reports to the user: a stable `code`, a message and the exit code. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function usageError(message: string): CliError {
  return new CliError(EXIT.USAGE, 'USAGE', message);
}

export function isCliError(err: unknown): err is CliError {
  return err instanceof CliError;
}

/**
 * An API refusal of one of its own parameter names (INVALID_FIELD with `field: tokenId`) said in
 * the command line's words (`message`, and `field: ID` for a command whose usage calls that
 * argument ID). Anything else passes through unchanged; code and exit code stay the API's.
 */
export function inCommandWords(err: unknown, apiField: string, argument: string, message: string): unknown {
  if (!(err instanceof CliError) || err.code !== 'INVALID_FIELD' || err.details.field !== apiField) return err;
  return new CliError(err.exitCode, err.code, message, { ...err.details, field: argument });
}
