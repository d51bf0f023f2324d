/**
 * What `invoke` adds under an app's own "no such route" answer (new-user round 10): a FastAPI or
 * Starlette app answers a path none of its routes matches with 404 `{"detail":"Not Found"}`, and a
 * route called with another method with 405 and an `Allow` header. The newcomer who gave `--path
 * /fn/shop/items` (the whole URL's path), `--path /item` for `/items`, or no `-X POST` saw only
 * that body, with nothing saying it was the path or the method.
 */
import { shellWord } from './self-command.js';
import { terminalSafe } from './terminal.js';

export interface RouteAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** The note for an app's 404 or 405 of an unmatched route, or null. `call`: `fastapi-platform invoke <name>` as the user runs it. */
export function appRouteHint(a: RouteAnswer, req: { method: string; path: string }, call: string): string | null {
  const detail = detailOf(a.body);
  const path = req.path.split('?')[0]!;
  if (a.status === 404 && detail === 'Not Found') {
    // The whole URL's path given: the function's own prefix went to the app too.
    const inner = /^\/fn\/[^/]+(\/.*)?$/.exec(path);
    if (inner !== null) return `--path ${shellWord(inner[1] ?? '/')}, not ${shellWord(path)}: --path is the path after the function's URL (…/fn/<name>/), the one the app sees`;
    return `{"detail":"Not Found"} is what FastAPI answers when none of the app's routes matches the path (${terminalSafe(`${req.method} ${path}`)}; --path is the path after the function's URL, …/fn/<name>), or a route's own HTTPException(404); the app lists its routes at its /docs (\`${call} --path /openapi.json\`)`;
  }
  const allow = a.headers['allow'];
  if (a.status === 405 && detail === 'Method Not Allowed' && allow !== undefined && allow !== '') {
    const methods = allow.split(',').map((m) => m.trim().toUpperCase()).filter((m) => /^[A-Z]+$/.test(m));
    if (methods.length === 0) return null;
    const first = methods.find((m) => m !== 'HEAD' && m !== 'OPTIONS') ?? methods[0]!;
    return `the app's route ${terminalSafe(path)} takes ${methods.join(', ')}, not ${req.method}: add -X ${first}${first === 'POST' || first === 'PUT' || first === 'PATCH' ? ' (a --data or --file body makes it POST)' : ''}`;
  }
  return null;
}

/** `detail` of a JSON body `{"detail": "<text>"}` alone, else null. */
function detailOf(body: Buffer): string | null {
  if (body.length > 256) return null;
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
    const keys = Object.keys(value);
    const detail = (value as { detail?: unknown }).detail;
    return keys.length === 1 && typeof detail === 'string' ? detail : null;
  } catch {
    return null;
  }
}
