/** platform.yaml `env` values that are not strings say how to write them (newcomer round 5). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManifestError, parseManifest } from '../../protocol/index.js';

function messageOf(env: Record<string, unknown>, key: string): string {
  try {
    parseManifest({ kind: 'function', name: 'x', env });
  } catch (err) {
    return (err as ManifestError).issues.find((i) => i.path === `env.${key}`)?.message ?? '';
  }
  return '';
}

describe('manifest env values', () => {
  it('`NAME:` with nothing (YAML null) says how an empty value is written; a number or bool says to quote it', () => {
    // Was "env values must be strings (quote numbers and booleans)" for a null too.
    assert.match(messageOf({ EMPTY: null }, 'EMPTY'), /an empty value is written ""/);
    assert.match(messageOf({ PORT: 8080 }, 'PORT'), /quote numbers and booleans/);
    assert.match(messageOf({ DEBUG: true }, 'DEBUG'), /quote numbers and booleans/);
    assert.equal(messageOf({ OK: '' }, 'OK'), '');
  });
});
