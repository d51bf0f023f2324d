/**
 * The routes the Invoke tab lists from an app's OpenAPI document (console/src/openapi.ts): the
 * document is the function's, any JSON (console round 4). Bundled by esbuild in memory, as the
 * console build does.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';

interface Routes {
  routesOf(doc: unknown, methods: readonly string[]): { routes: { method: string; path: string; summary: string }[]; more: number } | null;
  MAX_ROUTES: number;
}

let o: Routes;
before(async () => {
  const { build } = await import('esbuild');
  const out = await build({ entryPoints: [join(process.cwd(), 'console', 'src', 'openapi.ts')], bundle: true, format: 'esm', platform: 'neutral', write: false, logLevel: 'silent' });
  o = (await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0]!.text).toString('base64')}`)) as Routes;
});

const METHODS = ['POST', 'GET'];

describe('console: an app\'s routes from its OpenAPI document', () => {
  it('lists each path\'s operations the form can send, with a summary or the operation id', () => {
    const doc = { openapi: '3.1.0', paths: { '/items/{id}': { get: { summary: 'Read one' }, post: { operationId: 'make' }, head: {} }, '/': { get: {} } } };
    assert.deepEqual(o.routesOf(doc, METHODS), { routes: [
      { method: 'POST', path: '/items/{id}', summary: 'make' },
      { method: 'GET', path: '/items/{id}', summary: 'Read one' },
      { method: 'GET', path: '/', summary: '' },
    ], more: 0 });
  });

  it('is not fooled by a document that is not one, or by odd entries', () => {
    for (const doc of [null, 'x', [], { paths: {} }, { openapi: '3', paths: [] }, { openapi: 3, paths: {} }]) assert.equal(o.routesOf(doc, METHODS), null, JSON.stringify(doc));
    const odd = JSON.parse('{"openapi": "3.1.0", "paths": {"__proto__": {"get": {}}, "relative": {"get": {}}, "/list": ["get"], "/n": null, "/s": {"get": "x"}, "/ok": {"get": {"summary": 7}}}}');
    assert.deepEqual(o.routesOf(odd, METHODS), { routes: [{ method: 'GET', path: '/ok', summary: '' }], more: 0 });
    assert.equal(({} as Record<string, unknown>)['get'], undefined);
  });

  it('keeps the first routes and counts the rest; cuts a long summary', () => {
    const paths: Record<string, unknown> = {};
    for (let i = 0; i < 300; i++) paths[`/p${i}`] = { get: { summary: 'S'.repeat(10_000) } };
    const got = o.routesOf({ openapi: '3.1.0', paths }, METHODS)!;
    assert.equal(got.routes.length, o.MAX_ROUTES);
    assert.equal(got.more, 300 - o.MAX_ROUTES);
    assert.equal(got.routes[0]!.summary, `${'S'.repeat(160)}…`);
  });
});
