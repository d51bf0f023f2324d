/**
 * How much env one function may hold: its plain env and its secrets together, names and values
 * (UTF-8). Every function's record lives in the memory of every platform process (the registry
 * the gateway reads): 1 MiB of env per function let a deployer token fill the heap with a few
 * thousand functions, and the platform then died at every start (red team of 2026-12-04).
 * Configuration, not data: Lambda allows 4 KB, Heroku 32 KB.
 */
export const MAX_ENV_BYTES = 64 * 1024;
/**
 * And at most this many names: 23 000 empty values fit in 64 KiB and cost ~2 MB of heap each, and
 * every read of the record decrypted them all (a webhook delivery took 110 ms: red team, second round).
 */
export const MAX_ENV_KEYS = 1024;

const utf8 = new TextEncoder();

/** The bytes `env` and `secrets` take together: each name and value, UTF-8. */
export function envBytes(...maps: readonly Readonly<Record<string, string>>[]): number {
  let n = 0;
  for (const map of maps) for (const [name, value] of Object.entries(map)) n += utf8.encode(name).length + utf8.encode(value).length;
  return n;
}

/** Why a function's env (with its secrets) is too large, or null. */
export function envSizeProblem(env: Readonly<Record<string, string>>, secrets: Readonly<Record<string, string>> = {}): string | null {
  const keys = Object.keys(env).length + Object.keys(secrets).length;
  if (keys > MAX_ENV_KEYS) return `env and secrets have ${keys} names; a function holds at most ${MAX_ENV_KEYS}: keep data in files of the version or in its database, not in env`;
  const bytes = envBytes(env, secrets);
  if (bytes <= MAX_ENV_BYTES) return null;
  return `env and secrets take ${bytes} bytes (names and values); a function holds at most ${MAX_ENV_BYTES} (64 KiB): keep data in files of the version or in its database, not in env`;
}
