/**
 * The error registry and its documentation: every code in ERRORS has a section in
 * docs/errors.md with the same status and component, a meaning and a fix; no section documents
 * a code that does not exist. (Reading one file of the repository; no other I/O.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ERRORS, errorBody, httpStatus, PlatformError, type ErrorCode } from '../../protocol/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DOC = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');

/** `## CODE` sections of the doc, keyed by code. */
function sections(markdown: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = markdown.split(/^## /m).slice(1);
  for (const part of parts) {
    const newline = part.indexOf('\n');
    out.set(part.slice(0, newline).trim(), part.slice(newline + 1));
  }
  return out;
}

const documented = sections(DOC);
const codes = Object.keys(ERRORS) as ErrorCode[];

describe('docs/errors.md', () => {
  for (const code of codes) {
    it(`documents ${code}`, () => {
      const section = documented.get(code);
      assert.ok(section, `docs/errors.md has no "## ${code}" section`);
      const def = ERRORS[code];
      assert.match(section, new RegExp(`Status: ${def.status}\\b`), `${code}: status differs from the registry`);
      assert.match(section, new RegExp(`Component: ${def.component}\\b`), `${code}: component differs from the registry`);
      assert.match(section, /Meaning: \S/, `${code}: no meaning`);
      assert.match(section, /Fix: \S/, `${code}: no fix`);
    });
  }

  it('documents no code that the registry does not have', () => {
    const stale = [...documented.keys()].filter((code) => !(code in ERRORS));
    assert.deepEqual(stale, []);
  });
});

describe('the registry', () => {
  it('maps each code to its status through httpStatus() only', () => {
    for (const code of codes) assert.equal(httpStatus(code), ERRORS[code].status);
  });

  it('builds the JSON error body with code, component and run id', () => {
    const body = JSON.parse(errorBody(new PlatformError('FUNCTION_BUSY', 'busy', { function: 'f' }), 'run-1')) as { error: Record<string, unknown> };
    assert.deepEqual(body, { error: { code: 'FUNCTION_BUSY', message: 'busy', component: 'poolmgr', runId: 'run-1', function: 'f' } });
  });
});
