/**
 * The platform.yaml of every `init` template says where every key is documented; that page must
 * document every key the manifest takes (it named docs/cli.md, which lists none of `limits`).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { manifestSchema } from '../../protocol/index.js';

// dist/test/unit → the repository root.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The keys of an object schema, under any wrappers (prefault, refinements, pipes). */
function keysOf(schema: unknown): string[] {
  let s = schema as { shape?: Record<string, unknown>; def?: { innerType?: unknown; in?: unknown; schema?: unknown } } | undefined;
  for (let i = 0; s !== undefined && s.shape === undefined && i < 10; i++) s = (s.def?.innerType ?? s.def?.in ?? s.def?.schema) as typeof s;
  assert.ok(s?.shape, 'an object schema');
  return Object.keys(s.shape);
}

describe('init templates point at a page that documents every manifest key', () => {
  const templates = readdirSync(join(ROOT, 'templates'), { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('_'));
  const wanted = [...keysOf(manifestSchema), ...keysOf(manifestSchema.shape.limits), ...keysOf(manifestSchema.shape.retry)];
  for (const t of templates) {
    it(t.name, () => {
      const first = readFileSync(join(ROOT, 'templates', t.name, 'platform.yaml'), 'utf8').split('\n')[0]!;
      const doc = /every key: (docs\/[\w.-]+\.md)/.exec(first)?.[1];
      assert.ok(doc, `the first line names the page of every key: ${first}`);
      const text = readFileSync(join(ROOT, doc), 'utf8');
      const missing = wanted.filter((key) => !new RegExp(`^\\s*${key}:`, 'm').test(text));
      assert.deepEqual(missing, [], `${doc} does not document ${missing.join(', ')}`);
    });
  }
});
