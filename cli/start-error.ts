/**
 * A platform start's failure as the CLI reports it (`up`, `dev`). Apart from cli/errors.ts, which
 * every command loads at start: this needs protocol (and so zod), which a CLI start must not load.
 */
import { isDiskFull, isPlatformError } from '../protocol/index.js';
import { CliError, EXIT } from './errors.js';

/**
 * What stopped the start, as the CLI reports errors: the platform's code and message (a port in
 * use was an "unexpected error" with a stack trace, in `up` and `dev`), exit 1. An error without a registry code
 * stays unexpected: that is a bug.
 */
export function startError(err: unknown, port: number | undefined): unknown {
  // A full disk under the state directory was an "unexpected error" with a stack trace (reliability round).
  if (isDiskFull(err)) {
    return new CliError(EXIT.FAILURE, 'STORAGE_FULL', `the disk holding the state directory is full (${(err as Error).message}): free some space, then start again`);
  }
  if (!isPlatformError(err)) return err;
  const hint = err.code === 'LISTEN_FAILED' ? `; another port: --port N (--port 0: any free one)` : '';
  return new CliError(EXIT.FAILURE, err.code, `${err.message}${hint}`, { ...err.details, ...(port !== undefined ? { port } : {}) });
}

