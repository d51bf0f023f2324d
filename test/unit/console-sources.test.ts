/**
 * The console's sources never turn a string into markup or code: function output (logs, bodies,
 * errors) is attacker-controlled and must reach the page as text only (docs/console.md,
 * "Security"; test/e2e/console-xss.test.ts checks the running page). A pure scan of console/src.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const SRC = join(process.cwd(), 'console', 'src');
const FORBIDDEN = [/dangerouslySetInnerHTML/, /\.innerHTML\b/, /\.outerHTML\b/, /insertAdjacentHTML/, /document\.write/, /\beval\(/, /new Function\(/, /javascript:/i, /srcdoc/i, /<iframe/i];

/** The code of a file without its comments (a comment may name what the code must not do). */
function code(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').map((line) => (/^\s*(\*|\/\/|\/\*)/.test(line) ? '' : line.replace(/\/\/.*$/, '')));
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : /\.(ts|tsx)$/.test(e.name) ? [join(dir, e.name)] : []));
}

describe('console sources', () => {
  it('never write HTML from strings, evaluate code, or frame content', () => {
    const files = sources(SRC);
    assert.ok(files.length > 10);
    const found: string[] = [];
    for (const file of files) {
      code(file).forEach((line, i) => {
        for (const rule of FORBIDDEN) if (rule.test(line)) found.push(`${file}:${i + 1}: ${rule}`);
      });
    }
    assert.deepEqual(found, []);
  });

  it('keep the token in one module (auth.ts), out of URLs and local storage', () => {
    const offenders = sources(SRC).filter((f) => !f.endsWith('auth.ts') && /sessionStorage|localStorage|document\.cookie/.test(code(f).join('\n')));
    assert.deepEqual(offenders, []);
    assert.doesNotMatch(readFileSync(join(SRC, 'auth.ts'), 'utf8'), /localStorage\.setItem|document\.cookie/);
  });
});
