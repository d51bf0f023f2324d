/**
 * The route table (./routes.ts) as an OpenAPI 3.1 document: paths from the templates, request
 * bodies and query parameters from the schemas the handlers validate with (zod's own
 * `z.toJSONSchema`, the input side: human units), answers from ./answers.ts (the output side),
 * and every error status an operation may answer with its registry codes. Served at
 * `GET /api/v1/openapi.json` and committed as schemas/openapi.json (scripts/gen-openapi.ts; a
 * unit test fails when the file is stale). Nothing here is written by hand twice: a route, a
 * schema or an error code added to an operation shows up in the document.
 */
import { z } from 'zod';
import { statusesOf, WORKSPACE_NAME, type ErrorCode } from '../../protocol/index.js';
import * as answers from './answers.js';
import * as consoleAnswers from './answers-console.js';
import { isMetered, templateParams, type Operation, type Route } from './router.js';
import { pathParams } from './schemas.js';

type Json = { [key: string]: unknown };

/** Answer schemas by component name; every answer an operation declares must be one of these. */
const COMPONENTS: Record<string, z.ZodType> = {
  ErrorCode: answers.errorCode,
  ErrorDetail: answers.errorDetail,
  Limits: answers.limitsView,
  Retry: answers.retryView,
  Function: answers.functionView,
  Contract: answers.contractView,
  FunctionAnswer: answers.functionAnswer,
  FunctionCreated: answers.functionCreated,
  FunctionPatched: answers.functionPatched,
  FunctionList: answers.functionList,
  InvokeTokenAnswer: answers.invokeTokenAnswer,
  AdminTokenAnswer: answers.adminTokenAnswer,
  WebhookSecretAnswer: answers.hookSecretAnswer,
  DataBinding: answers.dataBindingAnswer,
  DataDatabases: answers.dataDatabasesAnswer,
  DataRotate: answers.dataRotateAnswer,
  DataDrop: answers.dataDropAnswer,
  VersionSummary: answers.versionSummaryView,
  Deps: answers.depsView,
  DepsAnswer: answers.depsAnswer,
  Version: answers.versionView,
  VersionAnswer: answers.versionAnswer,
  VersionCreatedAnswer: answers.versionCreatedAnswer,
  VersionList: answers.versionList,
  Deploy: answers.deployView,
  DeployAnswer: answers.deployAnswer,
  DeployList: answers.deployList,
  BlobsMissingAnswer: answers.blobsMissingAnswer,
  BlobPutAnswer: answers.blobPutAnswer,
  Usage: answers.usageAnswer,
  RunSummary: answers.runSummaryView,
  Run: answers.runView,
  RunList: answers.runList,
  AsyncRunSummary: answers.asyncRunSummaryView,
  AsyncRunList: answers.asyncRunList,
  RunListAnswer: answers.runListAnswer,
  AsyncRun: answers.asyncRunView,
  RunAnswer: answers.runAnswer,
  AsyncRunAnswer: answers.asyncRunAnswer,
  ReplayAnswer: answers.replayAnswer,
  TestInvokeAnswer: answers.testInvokeAnswer,
  LogLines: answers.logsAnswer,
  LiveLogEvents: answers.eventStream,
  JsonDocument: answers.jsonDocument,
  UsageSeries: consoleAnswers.usageSeriesAnswer,
  UsagePoint: consoleAnswers.usagePoint,
  ColdStarts: consoleAnswers.coldStartsAnswer,
  DraftAnswer: consoleAnswers.draftAnswer,
  TestCase: consoleAnswers.testCaseView,
  TestCaseAnswer: consoleAnswers.testCaseAnswer,
  TestCaseList: consoleAnswers.testCaseList,
  VersionFile: consoleAnswers.versionFileAnswer,
  CodeProblem: answers.codeProblem,
  Validation: consoleAnswers.validationAnswer,
  TriggerList: consoleAnswers.triggerList,
  AsyncAccepted: consoleAnswers.asyncAccepted,
  Rate: answers.rateView,
  Quotas: answers.quotasView,
  Workspace: answers.workspaceView,
  WorkspaceAnswer: answers.workspaceAnswer,
  WorkspaceList: answers.workspaceList,
  Whoami: answers.whoamiAnswer,
  Token: answers.tokenView,
  TokenAnswer: answers.tokenAnswer,
  TokenCreated: answers.tokenCreated,
  TokenList: answers.tokenList,
  AuditEntry: answers.auditEntryView,
  AuditList: answers.auditList,
};

const PARAM_DESCRIPTIONS: Record<keyof typeof pathParams, string> = {
  name: 'A function name: a DNS label (percent-decoded before it is checked).',
  version: 'A version number.',
  sha256: 'The content hash: 64 lower-case hex digits.',
  runId: 'A run id.',
  triggerId: "A webhook trigger id of the function's active version.",
  testCase: "A saved test case's name (letters, digits, space, `_`, `.`, `-`; percent-encoded).",
  workspace: "A workspace name (the caller's own, unless it holds the admin token).",
  tokenId: 'A token id (`tok_…`) of the workspace.',
  database: "A database's name in the caller's workspace (as in `data.mongo.database`, without `.workspace`).",
};

/** The registry codes a bad or unknown path parameter answers with. */
const PARAM_ERRORS: Record<keyof typeof pathParams, readonly ErrorCode[]> = {
  // Reading the function opens its sealed secrets: a key or envelope problem is a 500.
  name: ['INVALID_NAME', 'FUNCTION_NOT_FOUND', 'SECRETS_KEY_UNKNOWN', 'SECRET_DECRYPT_FAILED'],
  version: ['INVALID_FIELD'],
  sha256: ['INVALID_FIELD'],
  runId: ['INVALID_FIELD'],
  triggerId: [],
  testCase: ['INVALID_FIELD'],
  workspace: ['WORKSPACE_NOT_FOUND'],
  tokenId: ['INVALID_FIELD'],
  database: ['INVALID_FIELD'],
};

/** What any request may get before its handler runs: the gateway's HTTP checks and the body limit. */
const GATEWAY_ERRORS: readonly ErrorCode[] = ['BAD_REQUEST', 'PAYLOAD_TOO_LARGE', 'REQUEST_HEADERS_TOO_LARGE', 'INTERNAL_ERROR'];
/**
 * What every call with a token may get: auth (an expired token), the store closing under it (or
 * its disk full, or another process's lock on it), the `FP-Workspace` header (a workspace that is not the caller's, or given twice), and a role below
 * the operation's.
 */
const ADMIN_ERRORS: readonly ErrorCode[] = ['ADMIN_TOKEN_REQUIRED', 'ADMIN_TOKEN_INVALID', 'ADMIN_TOKEN_FORBIDDEN', 'TOKEN_EXPIRED', 'STORE_CLOSED', 'STORAGE_FULL', 'STORE_BUSY', 'PLATFORM_FILE_LIMIT', 'WORKSPACE_NOT_FOUND', 'INVALID_FIELD', 'ROLE_FORBIDDEN'];
const BODY_ERRORS: readonly ErrorCode[] = ['INVALID_JSON', 'JSON_TOO_DEEP', 'UNKNOWN_FIELD', 'INVALID_FIELD'];
const QUERY_ERRORS: readonly ErrorCode[] = ['UNKNOWN_FIELD', 'INVALID_FIELD'];

/** Every code an operation may answer with, in registry order. */
export function operationErrors(template: string, op: Operation, method: string): ErrorCode[] {
  const codes = new Set<ErrorCode>([...GATEWAY_ERRORS, ...op.errors]);
  if (op.role !== 'public') for (const code of ADMIN_ERRORS) codes.add(code);
  // A workspace's changes are rated (./index.ts, ADR 0103); the operation's role is not `root` only.
  if (op.role !== 'root' && isMetered(method, op)) codes.add('API_RATE_LIMITED');
  if (op.body) for (const code of BODY_ERRORS) codes.add(code);
  if (op.query) for (const code of QUERY_ERRORS) codes.add(code);
  for (const param of templateParams(template)) for (const code of PARAM_ERRORS[param as keyof typeof pathParams]) codes.add(code);
  return answers.ERROR_CODES.filter((code) => codes.has(code));
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12' }) as Json;
  return rest;
}

function componentSchemas(): { schemas: Record<string, Json>; refOf: (schema: z.ZodType) => Json } {
  const registry = z.registry<{ id: string }>();
  const names = new Map<z.ZodType, string>();
  for (const [id, schema] of Object.entries(COMPONENTS)) {
    registry.add(schema, { id });
    names.set(schema, id);
  }
  const converted = z.toJSONSchema(registry, { io: 'output', target: 'draft-2020-12', uri: (id) => `#/components/schemas/${id}` }) as { schemas: Record<string, Json> };
  const schemas: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(converted.schemas)) {
    const { $schema: _s, $id: _i, ...rest } = schema;
    schemas[id] = rest;
  }
  return {
    schemas,
    refOf(schema) {
      const id = names.get(schema);
      if (id === undefined) throw new Error('an answer schema is not among the OpenAPI components (controlplane/api/openapi.ts COMPONENTS)');
      return { $ref: `#/components/schemas/${id}` };
    },
  };
}

/** An error answer whose `code` is one of `codes` (all of the same status). */
function errorSchema(codes: readonly ErrorCode[]): Json {
  return {
    type: 'object',
    properties: { error: { allOf: [{ $ref: '#/components/schemas/ErrorDetail' }, { type: 'object', properties: { code: { enum: codes } } }] } },
    required: ['error'],
    additionalProperties: false,
  };
}

/** An operation's error codes by status, in status order (a code with several statuses under each: QUOTA_EXCEEDED). */
function errorGroups(codes: readonly ErrorCode[]): [number, ErrorCode[]][] {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    for (const status of statusesOf(code)) byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return [...byStatus].sort(([a], [b]) => a - b);
}

function errorResponse(status: number, codes: readonly ErrorCode[]): Json {
  return {
    description: `${codes.join(', ')} (docs/errors.md)`,
    ...(status === 401 ? { headers: { 'WWW-Authenticate': { description: 'Always `Bearer`.', schema: { type: 'string', const: 'Bearer' } } } } : {}),
    content: { 'application/json': { schema: errorSchema(codes) } },
  };
}

/**
 * Error answers shared by several operations go to `components.responses`, named by their codes
 * (`ADMIN_TOKEN_REQUIRED.ADMIN_TOKEN_INVALID`); the others stay inline.
 */
class ErrorResponses {
  readonly shared: Record<string, Json> = {};
  private readonly uses = new Map<string, number>();

  constructor(routes: readonly Route[]) {
    for (const route of routes) {
      for (const [method, op] of Object.entries(route.methods)) {
        for (const [, codes] of errorGroups(operationErrors(route.template, op, method))) this.uses.set(codes.join('.'), (this.uses.get(codes.join('.')) ?? 0) + 1);
      }
    }
  }

  of(template: string, op: Operation, method: string): Record<string, Json> {
    const out: Record<string, Json> = {};
    for (const [status, codes] of errorGroups(operationErrors(template, op, method))) {
      const name = codes.join('.');
      if ((this.uses.get(name) ?? 0) < 2) {
        out[String(status)] = errorResponse(status, codes);
        continue;
      }
      this.shared[name] ??= errorResponse(status, codes);
      out[String(status)] = { $ref: `#/components/responses/${name}` };
    }
    return out;
  }
}

/** The header that picks the root token's workspace (ignored as its own workspace for a workspace token). */
const WORKSPACE_HEADER_PARAM: Json = {
  name: 'FP-Workspace', in: 'header', required: false,
  description: 'The workspace the admin token acts in (default `default`); a workspace token may name only its own. Another, or one that does not exist: 404 WORKSPACE_NOT_FOUND.',
  schema: { type: 'string', pattern: WORKSPACE_NAME.source },
};

function parameters(template: string, op: Operation): Json[] {
  const out: Json[] = templateParams(template).map((name) => {
    const key = name as keyof typeof pathParams;
    if (pathParams[key] === undefined) throw new Error(`path parameter {${name}} of ${template} has no schema (controlplane/api/schemas.ts pathParams)`);
    return { name, in: 'path', required: true, description: PARAM_DESCRIPTIONS[key], schema: jsonSchema(pathParams[key], 'input') };
  });
  if (op.query) {
    const query = jsonSchema(op.query, 'input') as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, schema] of Object.entries(query.properties ?? {})) {
      out.push({ name, in: 'query', required: query.required?.includes(name) ?? false, schema });
    }
  }
  if (op.role !== 'public') out.push(WORKSPACE_HEADER_PARAM);
  return out;
}

function requestBody(op: Operation): Json | undefined {
  if (op.rawBody) return { required: false, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } };
  if (!op.body) return undefined;
  const schema = jsonSchema(op.body, 'input');
  // An empty body counts as `{}`: the body is needed only when the schema requires a field.
  const required = Array.isArray(schema.required) && schema.required.length > 0;
  return { required, content: { 'application/json': { schema } } };
}

function operationObject(template: string, method: string, op: Operation, refOf: (schema: z.ZodType) => Json, errors: ErrorResponses): Json {
  const responses: Record<string, Json> = {};
  for (const [status, answer] of Object.entries(op.answers)) {
    responses[status] = answer.schema === null
      ? { description: answer.description }
      : { description: answer.description, content: { [answer.contentType ?? 'application/json']: { schema: refOf(answer.schema) } } };
  }
  Object.assign(responses, errors.of(template, op, method));
  const params = parameters(template, op);
  const body = requestBody(op);
  return {
    operationId: op.id,
    summary: op.summary,
    ...(op.role === 'public' ? {} : { description: `Needs a token with the role **${op.role}**${op.role === 'root' ? ' (the admin token)' : ' or above (or the admin token)'}.` }),
    tags: [op.tag],
    'x-fp-role': op.role,
    ...(op.role === 'public' ? { security: [] } : {}),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(body ? { requestBody: body } : {}),
    responses,
  };
}

/** The document for a route table. */
export function openApiDocument(routes: readonly Route[]): Json {
  const { schemas, refOf } = componentSchemas();
  const errors = new ErrorResponses(routes);
  const paths: Record<string, Json> = {};
  const tags = new Set<string>();
  for (const route of routes) {
    const item: Json = {};
    for (const [method, op] of Object.entries(route.methods)) {
      item[method.toLowerCase()] = operationObject(route.template, method, op, refOf, errors);
      tags.add(op.tag);
    }
    paths[route.template] = item;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'fastapi-platform control plane API',
      version: '1',
      description: 'Generated from controlplane/api (the route table, its zod schemas and the error registry) by scripts/gen-openapi.ts; do not edit by hand. docs/api.md explains every route; docs/errors.md every code.',
    },
    servers: [{ url: '/api/v1' }],
    security: [{ adminToken: [] }],
    tags: [...tags].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        adminToken: {
          type: 'http', scheme: 'bearer',
          description: 'The admin token (`fpa_…`, shown once by the first start of a state directory or by `--rotate-admin-token`; it acts in the workspace named by the `FP-Workspace` header, default `default`), or a workspace token (`fpw_…`, `POST /tokens`) with its role, in its own workspace.',
        },
      },
      schemas,
      responses: errors.shared,
    },
  };
}

const texts = new WeakMap<readonly Route[], string>();

/** The document as committed (two-space indent, trailing newline); computed once per table. */
export function openApiText(routes: readonly Route[]): string {
  let text = texts.get(routes);
  if (text === undefined) {
    text = `${JSON.stringify(openApiDocument(routes), null, 2)}\n`;
    texts.set(routes, text);
  }
  return text;
}
