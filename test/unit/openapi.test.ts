/**
 * The OpenAPI document of the API (controlplane/api/openapi.ts): the committed copy is current,
 * and the document says what the route table does — every route and method, its parameters, every
 * error status with codes of that status, the bearer scheme. (Reads one file of the repository.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ERRORS, statusesOf } from '../../protocol/index.js';
import { ERROR_CODES } from '../../controlplane/api/answers.js';
import { operationErrors } from '../../controlplane/api/openapi.js';
import { match, templateParams } from '../../controlplane/api/router.js';
import { ROUTES } from '../../controlplane/api/routes.js';
import { generateOpenApi, OPENAPI_FILE } from '../../scripts/gen-openapi.js';

type Json = { [key: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- the document is read as JSON
const doc = JSON.parse(generateOpenApi()) as Json;

/** Follows a local `$ref`. */
function resolve(node: Json): Json {
  if (typeof node['$ref'] !== 'string') return node;
  let at: Json = doc;
  for (const part of (node['$ref'] as string).slice(2).split('/')) at = at[part] as Json;
  assert.ok(at, `${node['$ref']} does not resolve`);
  return resolve(at);
}

function operations(): { template: string; method: string; op: Json }[] {
  return Object.entries(doc['paths'] as Json).flatMap(([template, item]) => Object.entries(item as Json).map(([method, op]) => ({ template, method, op: op as Json })));
}

describe('schemas/openapi.json', () => {
  it('is up to date with the route table (regenerate: node dist/scripts/gen-openapi.js)', () => {
    assert.equal(readFileSync(OPENAPI_FILE, 'utf8'), generateOpenApi());
  });

  it('is OpenAPI 3.1 with the admin token as a bearer scheme, the API under /api/v1', () => {
    assert.equal(doc['openapi'], '3.1.0');
    assert.deepEqual(doc['servers'], [{ url: '/api/v1' }]);
    assert.deepEqual(doc['security'], [{ adminToken: [] }]);
    assert.deepEqual(doc['components'].securitySchemes.adminToken.scheme, 'bearer');
    assert.deepEqual(doc['components'].schemas.ErrorCode.enum, ERROR_CODES);
  });

  it('has every route and method of the table, each operation id once', () => {
    const listed = operations().map(({ template, method }) => `${method.toUpperCase()} ${template}`);
    const table = ROUTES.flatMap((r) => Object.keys(r.methods).map((m) => `${m} ${r.template}`));
    assert.deepEqual(listed.sort(), table.sort());
    const ids = operations().map(({ op }) => op['operationId'] as string);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('declares each path parameter, and only the documents are public', () => {
    for (const { template, op } of operations()) {
      const params = ((op['parameters'] ?? []) as Json[]).filter((p) => p['in'] === 'path').map((p) => p['name'] as string);
      assert.deepEqual(params, templateParams(template), template);
      const isPublic = Array.isArray(op['security']) && op['security'].length === 0;
      assert.equal(isPublic, ['/openapi.json', '/schema/platform.json'].includes(template), template);
      assert.equal(op['responses']['401'] === undefined, isPublic, `${template}: 401 documented unless public`);
    }
  });

  it('lists, for each error status, codes the registry gives that status', () => {
    for (const { template, method, op } of operations()) {
      const route = ROUTES.find((r) => r.template === template)!;
      const codes: string[] = [];
      for (const [status, response] of Object.entries(op['responses'] as Json)) {
        if (Number(status) < 400) continue;
        const schema = resolve(response as Json).content['application/json'].schema as Json;
        const enumOf = schema.properties.error.allOf[1].properties.code.enum as (keyof typeof ERRORS)[];
        for (const code of enumOf) assert.ok(statusesOf(code).includes(Number(status)), `${method} ${template}: ${code} under ${status}`);
        codes.push(...enumOf);
      }
      assert.deepEqual([...new Set(codes)].sort(), operationErrors(template, route.methods[method.toUpperCase()]!, method.toUpperCase()).sort(), `${method} ${template}`);
      assert.ok(codes.includes('INTERNAL_ERROR'), `${method} ${template}: 500 documented`);
    }
  });

  it('has a schema for every success answer, and every $ref resolves', () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of new Set(refs)) resolve({ $ref: ref.slice(8, -1) });
    for (const { template, op } of operations()) {
      const success = Object.entries(op['responses'] as Json).filter(([status]) => Number(status) < 400);
      assert.ok(success.length > 0, template);
    }
  });
});

describe('route templates', () => {
  it('match one segment per parameter, fixed segments before parameters', () => {
    assert.equal(match(ROUTES, '/blobs/missing')?.route.template, '/blobs/missing');
    assert.deepEqual(match(ROUTES, '/blobs/abc')?.params, ['abc']);
    assert.deepEqual(match(ROUTES, '/functions/a/versions/3')?.params, ['a', '3']);
    assert.equal(match(ROUTES, '/functions/a/b/c/d'), null);
    assert.equal(match(ROUTES, '/schema/platformXjson'), null);
    assert.equal(match(ROUTES, '/functions/a%2Fb')?.route.template, '/functions/{name}');
  });
});
