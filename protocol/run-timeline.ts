/**
 * An async run's timeline detail for people. The dispatcher writes short machine-readable details
 * (docs/dispatcher.md, "States and what is written": `max_attempts class:user_error`,
 * `class:timeout; attempt 2 at …`, `function_deleted`); the API and `--json` keep them as written,
 * and `runs <id>` and the console's run view show this phrase instead.
 */

/** What each failure class means, in a few words. */
const CLASS_WORDS: Readonly<Record<string, string>> = {
  user_error: 'the function raised an exception',
  init_error: 'the code failed to load (import, syntax or entrypoint error)',
  timeout: 'the call ran past its timeout',
  out_of_memory: 'the instance ran out of memory',
  crash: 'the runtime process died during the call',
  bad_return: 'the handler returned something that is not a response',
  protocol_error: 'the runtime sent a malformed message',
  process_limit: 'the function started more processes or threads than it may',
};

/** Why a run was given up, in a few words. */
const GIVE_UP_WORDS: Readonly<Record<string, string>> = {
  non_retryable: 'not retried',
  max_attempts: 'no attempts left',
  max_event_age: 'too old to retry (max event age)',
};

/** `class:user_error` → "the function raised an exception"; `code:X` → "X"; `status:404` → "HTTP 404". */
function whyWords(why: string): string {
  const colon = why.indexOf(':');
  const kind = colon < 0 ? '' : why.slice(0, colon);
  const value = why.slice(colon + 1);
  if (kind === 'class') return CLASS_WORDS[value] ?? `error class ${value}`;
  if (kind === 'code') return value;
  if (kind === 'status') return `HTTP ${value}`;
  return why;
}

/**
 * A timeline detail as people read it: `max_attempts class:user_error` → "no attempts left: the
 * function raised an exception"; `class:timeout; attempt 2 at T` → "the call ran past its
 * timeout; attempt 2 at T"; `function_deleted` → "its function was deleted before it ran". A
 * detail of another shape is returned as it is.
 */
export function timelineDetailText(detail: string | null | undefined): string {
  if (detail === null || detail === undefined) return '';
  if (detail === 'function_deleted') return 'its function was deleted (or re-created) before it ran';
  const retry = /^((?:class|code|status):\S+); (attempt \d+ at .*)$/.exec(detail);
  if (retry !== null) return `${whyWords(retry[1]!)}; ${retry[2]!}`;
  const given = /^(non_retryable|max_attempts|max_event_age)(?: ((?:class|code|status):\S+))?$/.exec(detail);
  if (given !== null) {
    const words = GIVE_UP_WORDS[given[1]!]!;
    return given[2] === undefined ? words : `${words}: ${whyWords(given[2])}`;
  }
  return detail;
}
