/**
 * The one way a command asks before it changes or destroys something (functions delete, data
 * drop, env push): `--yes` goes ahead; a terminal is asked (`[y/N]`); without a terminal to ask
 * on, the command refuses (exit 2 CONFIRMATION_REQUIRED, saying how to pass --yes); a "no" is exit
 * 1 NOT_CONFIRMED with nothing done.
 */
import { flag, type ParsedArgs } from './args.js';
import type { Context } from './context.js';
import { CliError, EXIT } from './errors.js';

export interface Confirmation {
  /** The question, ending in `[y/N] `. */
  question: string;
  /** Why it asks and how to go ahead without a terminal (the CONFIRMATION_REQUIRED message). */
  noTerminal: string;
  /** What was not done after a "no" (the NOT_CONFIRMED message). */
  declined: string;
}

export async function confirmOrStop(ctx: Context, args: ParsedArgs, what: Confirmation): Promise<void> {
  if (flag(args, 'yes')) return;
  if (ctx.io.confirm === undefined) throw new CliError(EXIT.USAGE, 'CONFIRMATION_REQUIRED', what.noTerminal);
  if (!(await ctx.io.confirm(what.question))) throw new CliError(EXIT.FAILURE, 'NOT_CONFIRMED', what.declined);
}
