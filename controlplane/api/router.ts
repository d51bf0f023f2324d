/** The route table's shape and matching: a path pattern, a handler per method, a body limit. */
import type { z } from 'zod';
import type { ServiceContext, ServiceSettings } from '../service/context.js';
import type { AdminIdentity } from './auth.js';
import type { ApiRequest, ApiResponse } from './http.js';
import { parseJson, parseQuery, validate, type ValidateOptions } from './validate.js';

/** One authenticated API call. `params` are the raw (percent-encoded) path captures. */
export interface Call {
  ctx: ServiceContext;
  req: ApiRequest;
  params: readonly string[];
  who: AdminIdentity;
}

export type Handler = (call: Call) => Promise<ApiResponse>;

export interface Route {
  /** Matched against the path after `/api/v1`. */
  path: RegExp;
  methods: Readonly<Record<string, Handler>>;
  /** Largest body this route reads (default 1 MiB). */
  bodyLimit?: (settings: ServiceSettings) => number;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export function match(routes: readonly Route[], path: string): { route: Route; params: string[] } | null {
  for (const route of routes) {
    const m = route.path.exec(path);
    if (m) return { route, params: m.slice(1) };
  }
  return null;
}

/** The body, parsed as JSON and validated. */
export async function readBody<S extends z.ZodType>(call: Call, schema: S, options?: ValidateOptions): Promise<z.output<S>> {
  return validate(schema, parseJson(await call.req.body()), options);
}

/** The query string, validated (fields are named `query.<key>`). */
export function readQuery<S extends z.ZodType>(call: Call, schema: S, nameFields: readonly string[] = []): z.output<S> {
  return validate(schema, parseQuery(call.req.query), { prefix: 'query', nameFields });
}
