/**
 * The length a response declares for its body: the function's own Content-Length, when it sent
 * exactly one and it is a number. The gateway sends a streamed body with it (as uvicorn does) and
 * the pool counts the body complete once that many bytes arrived (the client has it all then).
 */
import type { Pairs } from './messages.js';

export function declaredLength(headers: Pairs): number | undefined {
  let found: number | undefined;
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== 'content-length') continue;
    if (found !== undefined || !/^\d{1,15}$/.test(value.trim())) return undefined;
    found = Number(value.trim());
  }
  return found;
}
