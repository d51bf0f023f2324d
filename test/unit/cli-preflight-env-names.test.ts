/**
 * `dev` sends the folder's .env to the function, so a warning that a variable answers (`needs: env`,
 * validate.py: "DATABASE_URL's default is a SQLite database … and the function's env does not set
 * DATABASE_URL") is not said when .env sets it (new-user round 11: dev said it at every reload while
 * each call had the .env's DATABASE_URL). cli/preflight.ts `envNames`; cli/dev/reload.ts passes them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { preflight } from '../../cli/preflight.js';
import type { PythonPreflight } from '../../cli/python.js';

const WARNING = { file: 'main.py', line: 3, needs: 'env' as const, env: 'DATABASE_URL', message: "DATABASE_URL's default is a SQLite database the app writes in the working directory, and the function's env does not set DATABASE_URL" };
const runPython: PythonPreflight = async () => ({
  python: '3.11.7', checked: 1, syntaxErrors: [], problems: [], warnings: [WARNING],
  entrypoint: { module: 'main', attr: 'app', file: 'main.py', line: 1, kind: 'assignment', async: null, arity: null },
});

const dir = mkdtempSync(join(tmpdir(), 'fp-env-names-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: shop\nentrypoint: main:app\n');
writeFileSync(join(dir, 'main.py'), 'app = 1\n');

describe('preflight: env names set beside platform.yaml', () => {
  it('a needs-env warning is said when nothing sets the variable, and not when envNames (dev: .env) does', async () => {
    const alone = await preflight(dir, 'python3', {}, { runPython });
    assert.deepEqual(alone.warnings.map((w) => w.message), [WARNING.message]);
    const withDotenv = await preflight(dir, 'python3', {}, { runPython, envNames: ['DATABASE_URL'] });
    assert.deepEqual(withDotenv.warnings, []);
    const other = await preflight(dir, 'python3', {}, { runPython, envNames: ['API_KEY'] });
    assert.equal(other.warnings.length, 1);
  });
});
