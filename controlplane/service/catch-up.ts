/**
 * A call for a function this process does not serve yet, while another process may have just
 * created or deployed it (production: the config bus tells the others within a few hundred ms).
 * Before (reliability rounds 3-5), a sync call to the second process in that window was answered
 * 404 FUNCTION_NOT_DEPLOYED (or FUNCTION_NOT_FOUND), which a client may take as final. Now the
 * function is read from the store once before that answer (docs/adr/0117-a-miss-reads-the-store-once.md).
 *
 * Callers choose the names, so the reads are bounded: only a function key is read, callers of one
 * name at the same time share one read, at most CATCH_UP_MAX_READS reads run at once and at most
 * CATCH_UP_PER_SECOND start per second (a bucket of as many), and a caller waits at most
 * CATCH_UP_WAIT_MS. Past any bound the caller answers what the registry holds, as before. A name
 * the store does not hold changes nothing here: refreshFunction (which, for a deleted function,
 * removes its directories) runs only for a record the store has.
 */
import { isFunctionKey } from '../../protocol/index.js';
import type { ServiceContext } from './context.js';
import { refreshFunction } from './sync.js';

/** Reads started per second, the whole process (and the bucket's size). */
export const CATCH_UP_PER_SECOND = 20;
/** Store reads of catch-ups at once, the whole process. */
export const CATCH_UP_MAX_READS = 4;
/** How long a caller waits for the read before answering what is held. */
export const CATCH_UP_WAIT_MS = 2_000;

export type CatchUp = (name: string) => Promise<void> | null;

/** The registry's `catchUp` (protocol FunctionRegistry) for a process that shares its store with others. */
export function storeCatchUp(ctx: ServiceContext, now: () => number = Date.now): CatchUp {
  const reading = new Map<string, Promise<void>>();
  let tokens = CATCH_UP_PER_SECOND;
  let filledAt = now();
  return (name) => {
    const shared = reading.get(name);
    if (shared !== undefined) return bounded(shared);
    if (!isFunctionKey(name) || reading.size >= CATCH_UP_MAX_READS) return null;
    const at = now();
    tokens = Math.min(CATCH_UP_PER_SECOND, tokens + ((at - filledAt) / 1000) * CATCH_UP_PER_SECOND);
    filledAt = at;
    if (tokens < 1) return null;
    tokens -= 1;
    const read = (async () => {
      if ((await ctx.store.functions.get(name)) === null) return;
      await refreshFunction(ctx, name);
    })()
      .catch((err: unknown) => ctx.log(`controlplane: could not read ${name} from the store for a call: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => reading.delete(name));
    reading.set(name, read);
    return bounded(read);
  };
}

function bounded(read: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CATCH_UP_WAIT_MS);
  });
  return Promise.race([read, waited]).finally(() => clearTimeout(timer));
}
