/**
 * The control plane's REST API (/api/v1, docs/api.md) as a framework-agnostic handler: a plain
 * request in, a plain response out. The gateway mounts it under /api/ on its own server
 * (docs/adr/0004-controlplane-in-gateway.md). Order of checks: prefix → token → route → method →
 * the call's workspace (`FP-Workspace`, ./scope.ts) → the operation's least role → the handler
 * (which validates its own parameters, query and body, and finds things only in that workspace);
 * once the body has come, the token and the workspace are checked again (authorizedAgainAfterBody).
 * The public operations (the API's own documents: `openapi.json`, `schema/platform.json`) skip
 * the token.
 */
import { API_IDENTITY_HEADER, PlatformError, roleAllows, WORKSPACE_SHARE_PREFIX } from '../../protocol/index.js';
import type { MountedApi } from '../../protocol/index.js';
import { isUnexpected, toPlatformError } from '../errors.js';
import type { ServiceContext } from '../service/context.js';
import { meterWrite } from '../service/write-bounds.js';
import { authenticate } from './auth.js';
import { apiError, type ApiRequest, type ApiResponse } from './http.js';
import { DEFAULT_BODY_LIMIT, isMetered, match } from './router.js';
import { ROUTES } from './routes.js';
import { PUBLIC_SCOPE, resolveScope } from './scope.js';

export { metricsView } from './metrics-access.js';

const PREFIX = '/api/v1';
const API_HEADER: [string, string] = [API_IDENTITY_HEADER, 'v1'];

export function createApi(ctx: ServiceContext): MountedApi {
  return {
    bodyLimit(_method: string, path: string): number {
      const found = path.startsWith(`${PREFIX}/`) ? match(ROUTES, path.slice(PREFIX.length)) : null;
      return found?.route.bodyLimit?.(ctx.settings) ?? DEFAULT_BODY_LIMIT;
    },
    async handle(req: ApiRequest): Promise<ApiResponse> {
      let answer: ApiResponse;
      try {
        answer = await dispatch(ctx, req);
      } catch (err) {
        if (isUnexpected(err)) ctx.log(`controlplane: ${req.method} ${req.path} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        answer = apiError(toPlatformError(err));
      }
      // Every answer says whose API it is: the CLI tells "another server" from its own bug by it.
      answer.headers = [...answer.headers, API_HEADER];
      return answer;
    },
  };
}

/**
 * `req` whose body, once read, is handed over only if its token and workspace still hold: the
 * token is looked up again (revoked, rotated or expired meanwhile: 401) and the call's workspace
 * resolved again (deleted meanwhile: 404). A client sends the head, which is checked at once, and
 * the body when it likes (uWS waits ~10 s per 16 KiB): before (red team round 38), a `POST /tokens`
 * whose head came before the token's revocation, or before its workspace's delete, and whose body
 * came after got a new owner token all the same; it survived the revocation, or the workspace,
 * and then worked as an owner of the workspace created again under the same name (another tenant's).
 */
function authorizedAgainAfterBody(ctx: ServiceContext, req: ApiRequest): ApiRequest {
  const recheck = (): void => {
    resolveScope(ctx.workspaces, authenticate(ctx.tokens, req.headers), req.headers, req.remoteAddress);
  };
  return new Proxy(req, {
    get(target, key) {
      if (key === 'body') {
        return async (): Promise<Uint8Array> => {
          const bytes = await target.body();
          recheck();
          return bytes;
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function dispatch(ctx: ServiceContext, req: ApiRequest): Promise<ApiResponse> {
  if (!req.path.startsWith(`${PREFIX}/`)) throw new PlatformError('ROUTE_NOT_FOUND', `no route ${req.path}; the API is under ${PREFIX}/`);
  const found = match(ROUTES, req.path.slice(PREFIX.length));
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  const op = found?.route.methods[method];
  // Public operations (the documents) answer before the token check; anything else,
  // even an unknown route, needs the token first, so no one learns the routes without it.
  if (found && op?.role === 'public') return op.handler({ ctx, req, params: found.params, scope: PUBLIC_SCOPE });
  const principal = authenticate(ctx.tokens, req.headers);
  if (found === null) throw new PlatformError('ROUTE_NOT_FOUND', `no route ${req.method} ${req.path}`);
  if (op === undefined) {
    const allow = Object.keys(found.route.methods).join(', ');
    return apiError(new PlatformError('METHOD_NOT_ALLOWED', `${req.path} takes ${allow}, not ${req.method}`), [['allow', allow]]);
  }
  const scope = resolveScope(ctx.workspaces, principal, req.headers, req.remoteAddress);
  if (op.role === 'public' || !roleAllows(principal.role, op.role)) {
    throw new PlatformError('ROLE_FORBIDDEN', `this call needs the role ${op.role}${op.role === 'root' ? ' (the admin token)' : ' or above'}; the token has ${principal.role}`, {
      required: op.role, role: principal.role,
    });
  }
  // A workspace's changes are rated (ADR 0103): each writes to the store, its audit entry at least.
  if (principal.kind === 'workspace' && isMetered(method, op)) await meterWrite(ctx, scope.workspace);
  const answer = await op.handler({ ctx, req: authorizedAgainAfterBody(ctx, req), params: found.params, scope });
  // Its client's unread bytes count in its workspace's share of the held answers (a tenant's large
  // answers left unread cut other workspaces' answers before: red team round 5, found by CI).
  answer.heldShare = `${WORKSPACE_SHARE_PREFIX}${scope.workspace}`;
  return answer;
}
