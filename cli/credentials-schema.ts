/**
 * The credentials file's schema (cli/config.ts reads and writes the file). A module of its own so
 * that zod is loaded only when a credentials file is read, not at every start of the CLI.
 */
import { z } from 'zod';

/** One platform (and workspace) to talk to: what `login` saves. */
export const profileSchema = z.strictObject({
  url: z.url(),
  token: z.string().min(1).optional(),
  /** The workspace the token acts in: a workspace token's own, or the one an admin token names with FP-Workspace. */
  workspace: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,28}[a-z0-9])?$/).optional(),
  /** Invoke tokens of `token`-mode functions, by function key (shown once by the server). */
  invokeTokens: z.record(z.string(), z.string()).default({}),
});
export type Profile = z.output<typeof profileSchema>;

/**
 * The credentials file: its top level is the default profile (as before profiles existed, so an
 * older file reads unchanged), `profiles` the named ones (`login --profile NAME`).
 */
export const credentialsSchema = profileSchema.extend({
  /** The state directory `up` used when it saved this token (absolute). */
  stateDir: z.string().optional(),
  profiles: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), profileSchema).optional(),
});
export type Credentials = z.output<typeof credentialsSchema>;
