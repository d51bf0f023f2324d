/**
 * The route table's shape and matching. A route is a path template (`/functions/{name}`) with an
 * operation per method; an operation is its handler *and* what it reads and answers (body, query,
 * answers, error codes). That one declaration drives both the server (the handler reads its body
 * and query through the schemas declared next to it) and the OpenAPI document (./openapi.ts).
 */
import type { z } from 'zod';
import type { ErrorCode, RequiredRole } from '../../protocol/index.js';
import type { ServiceContext, ServiceSettings } from '../service/context.js';
import type { ApiRequest, ApiResponse } from './http.js';
import type { Scope } from './scope.js';
import { parseJson, parseQuery, validate } from './validate.js';

/** One API call. `params` are the raw (percent-encoded) path captures, in template order. */
export interface Call {
  ctx: ServiceContext;
  req: ApiRequest;
  params: readonly string[];
  /**
   * Who calls and in which workspace (./scope.ts): every name becomes a key through it, every
   * record found by id is checked with it. PUBLIC_SCOPE for a public operation (no token asked).
   */
  scope: Scope;
}

export type Handler = (call: Call) => Promise<ApiResponse>;

/** One documented answer of an operation. */
export interface Answer {
  description: string;
  /** The body's schema (one of ./answers.ts); null: no body. */
  schema: z.ZodType | null;
  /** Default `application/json`. */
  contentType?: string;
}

/** What an operation reads and answers: the server uses the schemas, the document shows them. */
export interface OperationDoc<B extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType> {
  /** Unique, camelCase (OpenAPI `operationId`). */
  id: string;
  summary: string;
  /** Group in the document (OpenAPI `tags`). */
  tag: string;
  /** A JSON body, read and validated by `input.body()`. */
  body?: B;
  /** A body of raw bytes (`PUT /blobs/{sha256}`), not JSON. */
  rawBody?: true;
  /** The query string, read and validated by `input.query()`. */
  query?: Q;
  /** Query fields holding a function name (INVALID_NAME instead of INVALID_FIELD). */
  queryNameFields?: readonly string[];
  /** Body fields holding a function name (default `['name']`); a bad value there is INVALID_NAME, elsewhere INVALID_FIELD. */
  bodyNameFields?: readonly string[];
  /** Success answers by status. */
  answers: Readonly<Record<number, Answer>>;
  /**
   * The registry codes this operation itself may answer with. Codes every call may get (auth,
   * body and query validation, a bad `{name}`, the gateway's own) are added by ./openapi.ts.
   */
  errors: readonly ErrorCode[];
  /**
   * The least role a token needs (docs/adr/0011-tenants.md): `viewer` < `invoker` < `deployer` <
   * `owner` < `root` (the install's admin token). Below it: 403 ROLE_FORBIDDEN, checked before the
   * handler runs (so a refusal never says whether what it names exists). `public`: no token at all
   * (the API's own documents). Shown in the OpenAPI document (`x-fp-role`).
   */
  role: RequiredRole | 'public';
  /**
   * `false`: not counted in its workspace's rate of changes (FP_API_WRITE_RATE,
   * docs/adr/0103-api-writes-bounded.md). Every other operation but GET counts when a workspace
   * token calls it. Unmetered: uploads of contents (in `codeBytes`), checks that store nothing,
   * and calls of functions and their runs (the function's own `limits.rate` and the workspace's
   * `invocationsPerMinute`).
   */
  metered?: false;
}

/** Whether a call of `op` by a workspace token takes a place of its workspace's rate of changes (ADR 0103). */
export function isMetered(method: string, op: OperationDoc): boolean {
  return method !== 'GET' && method !== 'HEAD' && op.role !== 'public' && op.metered !== false;
}

export interface Operation extends OperationDoc {
  handler: Handler;
}

/** Typed access to what the operation declared. */
export interface Input<B extends z.ZodType, Q extends z.ZodType> {
  /** The body, parsed as JSON and validated with the declared schema. */
  body(): Promise<z.output<B>>;
  /** The query string validated with the declared schema (fields named `query.<key>`). */
  query(): z.output<Q>;
}

/** Declares an operation: its handler reads body and query only through the declared schemas. */
export function operation<B extends z.ZodType = z.ZodNever, Q extends z.ZodType = z.ZodNever>(
  doc: OperationDoc<B, Q>,
  handler: (call: Call, input: Input<B, Q>) => Promise<ApiResponse>,
): Operation {
  return {
    ...doc,
    handler: (call) =>
      handler(call, {
        body: async () => validate(required(doc.body, 'body'), parseJson(await call.req.body()), doc.bodyNameFields !== undefined ? { nameFields: doc.bodyNameFields } : {}),
        query: () => validate(required(doc.query, 'query'), parseQuery(call.req.query), { prefix: 'query', nameFields: doc.queryNameFields ?? [] }),
      }),
  };
}

function required<S>(schema: S | undefined, what: string): S {
  if (schema === undefined) throw new Error(`this operation declares no ${what}`);
  return schema;
}

export interface Route {
  /** After `/api/v1`; `{param}` matches one path segment. */
  template: string;
  methods: Readonly<Record<string, Operation>>;
  /** Largest body this route reads (default 1 MiB). */
  bodyLimit?: (settings: ServiceSettings) => number;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** The parameter names of a template, in order. */
export function templateParams(template: string): string[] {
  return [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
}

const compiled = new WeakMap<Route, RegExp>();

function patternOf(route: Route): RegExp {
  let pattern = compiled.get(route);
  if (pattern === undefined) {
    const source = route.template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '([^/]+)');
    pattern = new RegExp(`^${source}$`);
    compiled.set(route, pattern);
  }
  return pattern;
}

export function match(routes: readonly Route[], path: string): { route: Route; params: string[] } | null {
  for (const route of routes) {
    const m = patternOf(route).exec(path);
    if (m) return { route, params: m.slice(1) };
  }
  return null;
}
