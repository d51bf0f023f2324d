/**
 * The committed JSON Schema of platform.yaml is what the generator produces from the zod schema,
 * and the CLI's bundle limits are the server's. (Reads one file of the repository.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { BUNDLE_LIMITS } from '../../cli/files.js';
import { DEFAULT_BUNDLE_LIMITS } from '../../controlplane/bundles/index.js';
import { generatePlatformSchema, SCHEMA_FILE } from '../../scripts/gen-schema.js';

describe('schemas/platform.schema.json', () => {
  it('is up to date with protocol/manifest.ts (regenerate: node dist/scripts/gen-schema.js)', () => {
    assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), generatePlatformSchema());
  });

  it('describes the input side: human units, unknown keys refused', () => {
    const schema = JSON.parse(generatePlatformSchema()) as { additionalProperties: boolean; required: string[]; properties: { limits: { properties: { timeout: { type: string } }; additionalProperties: boolean } } };
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.required, ['kind', 'name']);
    assert.equal(schema.properties.limits.properties.timeout.type, 'string');
    assert.equal(schema.properties.limits.additionalProperties, false);
  });
});

describe('cli bundle limits', () => {
  it('are the control plane\'s', () => {
    assert.deepEqual({ ...BUNDLE_LIMITS }, { ...DEFAULT_BUNDLE_LIMITS });
  });
});
