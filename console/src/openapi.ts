/**
 * The routes an app's OpenAPI document lists (a FastAPI app serves one at `/openapi.json`), as the
 * Invoke tab offers them: method, path and summary, each a click away from the request form
 * (console round 4). The document is the function's: any JSON. Only string paths starting with `/`
 * and the methods the form sends are taken, at most MAX_ROUTES of them; a summary is cut to
 * MAX_SUMMARY characters. The tab shows both as text (`inlineText`).
 */
export interface AppRoute {
  method: string;
  path: string;
  summary: string;
}

export const MAX_ROUTES = 200;
const MAX_SUMMARY = 160;
/** A path longer than this is not one a person types: skipped. */
const MAX_PATH = 2000;

/** The document's routes (`more`: how many past MAX_ROUTES), or null when it is not an OpenAPI document. */
export function routesOf(doc: unknown, methods: readonly string[]): { routes: AppRoute[]; more: number } | null {
  const paths = isObject(doc) && (typeof doc['openapi'] === 'string' || typeof doc['swagger'] === 'string') ? doc['paths'] : undefined;
  if (!isObject(paths)) return null;
  const routes: AppRoute[] = [];
  let more = 0;
  for (const [path, item] of Object.entries(paths)) {
    if (!path.startsWith('/') || path.length > MAX_PATH || !isObject(item)) continue;
    for (const method of methods) {
      const op = item[method.toLowerCase()];
      if (!isObject(op)) continue;
      if (routes.length === MAX_ROUTES) {
        more++;
        continue;
      }
      const said = typeof op['summary'] === 'string' ? op['summary'] : typeof op['operationId'] === 'string' ? op['operationId'] : '';
      const chars = [...said];
      routes.push({ method, path, summary: chars.length > MAX_SUMMARY ? `${chars.slice(0, MAX_SUMMARY).join('')}…` : said });
    }
  }
  return { routes, more };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
