/**
 * A function name given on the command line, checked the one way every command checks it. Its own
 * module: commands load it with the protocol (and zod), never the CLI's start (`args.ts` is loaded
 * before any command and must not pull zod in: cli.test.ts "cli start").
 */
import { usageError } from './errors.js';
import { FUNCTION_NAME } from '../protocol/index.js';

/** `name` when it is a function name (a DNS label); else the usage error every command gives. */
export function checkFunctionName(name: string): string {
  if (!FUNCTION_NAME.test(name)) throw usageError(`${JSON.stringify(name)} is not a function name (lower-case letters, digits and inner hyphens, at most 63)`);
  return name;
}
