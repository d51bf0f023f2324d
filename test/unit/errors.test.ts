/**
 * The error registry and its documentation: every code in ERRORS has a section in
 * docs/errors.md with the same status and component, a meaning and a fix; no section documents
 * a code that does not exist; and no code is thrown anywhere in the sources that the registry
 * does not have. (Reads the repository's docs and TypeScript sources; no other I/O.)
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { carriesCodeOf, ERRORS, errorBody, httpStatus, PlatformError, retryAfterOf, type ErrorCode } from '../../protocol/index.js';
import { isQueueError, QueueError } from '../../controlplane/async/queue/errors.js';
import { isTriggerError } from '../../controlplane/async/triggers/errors.js';
import { isStoreError, StoreError } from '../../controlplane/store/errors.js';

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

/** The services' sources (tests and bench excluded: they assert codes, they do not throw them). */
const SOURCE_DIRS = ['protocol', 'poolmgr', 'gateway', 'controlplane', 'platform', 'cli'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/**
 * Where a code is given as a literal: `code = 'X'` / `code: 'X'` (error classes, error objects,
 * verdicts), `new CliError(EXIT.…, 'X'` (the CLI's failures) and `… code … ?? 'X'` (a fallback
 * code). Registry-typed places (PlatformError, `satisfies readonly ErrorCode[]`) are checked by
 * the compiler as well; this catches the untyped ones.
 */
const CODE_LITERALS = [
  /\bcode\s*[:=]\s*'([A-Z][A-Z0-9_]*)'/g,
  /\bCliError\(\s*EXIT\.\w+,\s*'([A-Z][A-Z0-9_]*)'/g,
  /\bcode\b[^\n]*\?\?\s*'([A-Z][A-Z0-9_]*)'/g,
];

function codesInSource(text: string): string[] {
  return CODE_LITERALS.flatMap((pattern) => [...text.matchAll(pattern)].map((m) => m[1]!));
}

describe('codes thrown in the sources', () => {
  it('finds the literals it looks for', () => {
    assert.deepEqual(codesInSource("readonly code = 'A_B'; x = { code: 'C' }; new CliError(EXIT.API, 'D', m); const code = k?.code ?? 'E';"), ['A_B', 'C', 'D', 'E']);
    assert.deepEqual(codesInSource("if (err.code === 'ENOENT') {} issue.code === 'custom'"), []);
  });

  it('are every one in the registry', () => {
    const unknown: string[] = [];
    let seen = 0;
    for (const dir of SOURCE_DIRS) {
      for (const file of sourceFiles(join(ROOT, dir))) {
        for (const code of codesInSource(readFileSync(file, 'utf8'))) {
          seen++;
          if (!(code in ERRORS)) unknown.push(`${relative(ROOT, file)}: ${code}`);
        }
      }
    }
    assert.ok(seen > 50, `only ${seen} code literals found: is the scan looking at the sources?`);
    assert.deepEqual(unknown, [], 'codes missing from protocol/errors.ts (append them, document them in docs/errors.md)');
  });
});

describe('docs/errors.md: the CLI\'s exit codes', () => {
  const EXIT_OF: Record<string, number> = { OK: 0, FAILURE: 1, USAGE: 2, INVALID: 3, API: 4, UNREACHABLE: 5 };
  /** Each code the CLI fails with as `new CliError(EXIT.X, 'CODE'`, and the exit codes it is given. */
  const exits = new Map<string, Set<number>>();
  for (const file of sourceFiles(join(ROOT, 'cli'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\bCliError\(\s*EXIT\.(\w+),\s*'([A-Z][A-Z0-9_]*)'/g)) {
      exits.set(m[2]!, (exits.get(m[2]!) ?? new Set()).add(EXIT_OF[m[1]!]!));
    }
  }

  it('reads the exit names the CLI has (cli/errors.ts)', async () => {
    const { EXIT } = await import('../../cli/errors.js');
    assert.deepEqual(EXIT, EXIT_OF);
    assert.ok(exits.size > 10, `${exits.size} codes`);
  });

  it('says the exit code the CLI gives, where a section names one', () => {
    const wrong: string[] = [];
    for (const [code, section] of documented) {
      const said = [...section.matchAll(/\b[Ee]xit (?:code )?(\d)\b/g)].map((m) => Number(m[1]));
      const given = exits.get(code);
      if (given !== undefined) for (const n of said) if (!given.has(n)) wrong.push(`${code}: the doc says exit ${n}, the CLI gives ${[...given].join(' or ')}`);
    }
    assert.deepEqual(wrong, []);
  });

  it('docs/cli.md\'s "Exit codes" table has every exit code, and no other', () => {
    const table = /## Exit codes\n([\s\S]*?)\n\n/.exec(readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8'))?.[1] ?? '';
    assert.deepEqual([...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1])), Object.values(EXIT_OF));
  });
});

describe('the registry', () => {
  it('says when to retry on every outage the platform recovers from by itself, and docs/errors.md says it too', () => {
    // Chaos round 4: the queue's, the live log feed's and the file table's outages answered 503 with no Retry-After.
    const outages: ErrorCode[] = ['RUNTIME_UNAVAILABLE', 'METRICS_UNAVAILABLE', 'ASYNC_QUEUE_UNAVAILABLE', 'TRIGGER_UNAVAILABLE', 'ASYNC_RUNS_UNAVAILABLE',
      'STORE_UNAVAILABLE', 'QUEUE_UNAVAILABLE', 'LOGS_UNAVAILABLE', 'PLATFORM_FILE_LIMIT',
      // Chaos round 5: these answered 503/429 with none, though sending it again shortly is what helps.
      'PLATFORM_PROCESS_LIMIT', 'DATA_BACKEND_UNAVAILABLE', 'FUNCTION_BUSY', 'GATEWAY_OVERLOADED', 'VALIDATION_BUSY',
      'VALIDATION_UNAVAILABLE', 'STORE_BUSY'];
    for (const code of outages) assert.equal(retryAfterOf({ code, details: {} }), '1', code);
    for (const code of codes) {
      const seconds = (ERRORS[code] as { retryAfterS?: number }).retryAfterS;
      if (seconds !== undefined) assert.match(documented.get(code) ?? '', new RegExp(`Status: .*\`Retry-After: ${seconds}\``), `${code}: docs/errors.md does not say its Retry-After`);
    }
  });

  it('says when to retry on every 429 and 503 but those where waiting alone does not help', () => {
    // Each 429/503 either carries a Retry-After (its registry's, or its details' where the throw
    // site knows better) or is here with why a fixed wait would mislead the caller.
    const noWait: Partial<Record<ErrorCode, string>> = {
      SHUTTING_DOWN: 'another gateway, or after the restart: its time is not known',
      FUNCTION_PAUSED: 'until someone resumes it',
      STORE_CLOSED: 'the platform is stopping',
      QUEUE_CLOSED: 'the platform is stopping',
      ASYNC_NOT_ENABLED: 'this process takes no async runs: a setting',
      ASYNC_QUEUE_NOT_DURABLE: "Redis' persistence: a setting",
      BUNDLE_CHECK_TIMEOUT: 'the same upload takes as long again',
      UNREACHABLE: "the CLI's own answer",
      DEPS_INDEX_UNREACHABLE: "a deploy's build result, not a refusal",
      LOG_STREAM_LIMIT: 'until a stream closes; `logs --follow` retries by itself',
      DATA_BACKEND_NOT_CONFIGURED: 'a setting',
      REDIS_PREFIX_IN_USE: 'a setting',
      QUOTA_EXCEEDED: 'its details carry retryAfterS where waiting helps (a rate), none for a count',
      RATE_LIMITED: 'its details carry retryAfterS (the bucket\'s refill)',
      API_RATE_LIMITED: 'its details carry retryAfterS (the minute\'s rest)',
      FUNCTION_CRASH_LOOP: 'its details carry retryAfterS (the start budget\'s wait)',
      FILE_READS_BUSY: 'its details carry retryAfterS',
      DATA_TOO_MANY_CURSORS: "the function's own cursors: a Mongo error inside the function",
      REDIS_DATA_LOST: 'a /readyz problem and a log line, never an answer to a call',
    };
    for (const code of codes) {
      const def = ERRORS[code] as { status: number; retryAfterS?: number; statusBy?: { values: Record<string, number> } };
      const statuses = [def.status, ...Object.values(def.statusBy?.values ?? {})];
      if (!statuses.some((s) => s === 429 || s === 503)) continue;
      assert.ok(def.retryAfterS !== undefined || noWait[code] !== undefined, `${code}: answers ${def.status} with no Retry-After and no reason why`);
    }
  });

  it('maps each code to its status through httpStatus() only', () => {
    for (const code of codes) assert.equal(httpStatus(code), ERRORS[code].status);
  });

  it('builds the JSON error body with code, component and run id', () => {
    const body = JSON.parse(errorBody(new PlatformError('FUNCTION_BUSY', 'busy', { function: 'f' }), 'run-1')) as { error: Record<string, unknown> };
    assert.deepEqual(body, { error: { code: 'FUNCTION_BUSY', message: 'busy', component: 'poolmgr', runId: 'run-1', function: 'f' } });
  });

  it('recognises an error family by its code alone (carriesCodeOf and the families built on it)', () => {
    const codesOf = ['STORE_CLOSED', 'STORE_UNAVAILABLE'] as const;
    assert.equal(carriesCodeOf(codesOf, { code: 'STORE_CLOSED' }), true);
    assert.equal(carriesCodeOf(codesOf, { code: 'STORE_CLOSED' }, 'STORE_UNAVAILABLE'), false);
    assert.equal(carriesCodeOf(codesOf, { code: 'QUEUE_CLOSED' }), false);
    for (const odd of [null, undefined, 'STORE_CLOSED', 7, { code: 7 }, {}]) assert.equal(carriesCodeOf(codesOf, odd), false);
    // A plain object from another realm or driver counts; a code of another family does not.
    assert.equal(isStoreError({ code: 'STORE_UNAVAILABLE' }, 'STORE_UNAVAILABLE'), true);
    assert.equal(isStoreError(new QueueError('QUEUE_CLOSED', 'x')), false);
    assert.equal(isQueueError(new QueueError('QUEUE_CLOSED', 'x'), 'QUEUE_CLOSED'), true);
    assert.equal(isQueueError(new StoreError('STORE_CLOSED', 'x')), false);
    assert.equal(isTriggerError({ code: 'CRON_TIMEZONE_INVALID' }), true);
    assert.equal(isTriggerError({ code: 'CRON_TIMEZONE_INVALID' }, 'TRIGGER_INVALID'), false);
  });
});
