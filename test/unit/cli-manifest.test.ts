/** platform.yaml as the CLI reads it: every problem with its key path and line. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readManifestText } from '../../cli/manifest-file.js';
import { formatProblem } from '../../cli/preflight.js';

async function problems(text: string): Promise<{ path: string; line: number | null; kind: string }[]> {
  return (await readManifestText(text, {})).problems.map(({ path, line, kind }) => ({ path, line, kind }));
}

describe('cli manifest reading', () => {
  it('accepts a valid manifest, resolving ${VAR} and keeping the document as written', async () => {
    const read = await readManifestText('kind: function\nname: hello\nlimits:\n  timeout: 10s\nenv:\n  DB: ${DB_URL}\n  MODE: ${MODE:-dev}\n', { DB_URL: 'mongodb://x' });
    assert.deepEqual(read.problems, []);
    assert.equal(read.manifest?.limits.timeoutMs, 10_000);
    assert.deepEqual(read.manifest?.env, { DB: 'mongodb://x', MODE: 'dev' });
    assert.deepEqual(read.raw, { kind: 'function', name: 'hello', limits: { timeout: '10s' }, env: { DB: '${DB_URL}', MODE: '${MODE:-dev}' } });
  });

  it('reports an unset ${VAR} without a default at its key', async () => {
    const [problem] = (await readManifestText('kind: function\nname: a\nenv:\n  DB: ${DB_URL}\n', {})).problems;
    assert.deepEqual([problem?.path, problem?.line], ['env.DB', 4]);
    assert.match(problem!.message, /DB_URL/);
  });

  it('reports every schema problem with its key path and the line of that key', async () => {
    const text = ['kind: function', 'name: Bad_Name', 'limits:', '  timeout: 30', '  cpu: 2', 'extra: true', 'triggers:', '  - type: cron', ''].join('\n');
    assert.deepEqual(await problems(text), [
      { path: 'name', line: 2, kind: 'manifest' },
      { path: 'limits.timeout', line: 4, kind: 'manifest' },
      { path: 'limits.cpu', line: 5, kind: 'manifest' },
      { path: 'extra', line: 6, kind: 'manifest' },
      { path: 'triggers.0.schedule', line: 8, kind: 'manifest' },
    ]);
    const timeout = (await readManifestText(text, {})).problems.find((p) => p.path === 'limits.timeout')!;
    assert.match(timeout.message, /30s/);
    assert.equal(formatProblem(timeout).startsWith('platform.yaml:4:3: limits.timeout: '), true);
  });

  it("says how to write Lambda's bare Timeout and MemorySize numbers, in their units (new-user round 12)", async () => {
    const read = await readManifestText('kind: function\nname: a\nlimits:\n  timeout: 15\n  memory: 512\n', {});
    const at = (path: string): string => read.problems.find((p) => p.path === path)!.message;
    assert.equal(at('limits.timeout'), "must be text, not the number 15 (write a duration with its unit: 15s for 15 seconds, as Lambda's Timeout counts, or 15ms)");
    assert.equal(at('limits.memory'), "must be text, not the number 512 (write a size with its unit: 512Mi for 512 MiB, as Lambda's MemorySize counts)");
  });

  it('says what an env name must be, and reports one YAML mistake once per place', async () => {
    const [env] = (await readManifestText('kind: function\nname: a\nenv:\n  c-d: x\n', {})).problems;
    assert.deepEqual([env?.path, env?.line], ['env.c-d', 4]);
    assert.match(env!.message, /letters, digits and _/);
    const yaml = (await readManifestText('{{{\n', {})).problems;
    assert.ok(yaml.length > 0 && yaml.every((p) => p.kind === 'yaml'));
    assert.equal(new Set(yaml.map((p) => `${p.line}:${p.column}:${p.message}`)).size, yaml.length, JSON.stringify(yaml));
  });

  it('reports a missing required key at the document', async () => {
    assert.deepEqual(await problems('kind: function\n'), [{ path: 'name', line: null, kind: 'manifest' }]);
    assert.deepEqual(await problems(''), [{ path: '', line: null, kind: 'manifest' }]);
  });

  it('reports YAML errors with their line, and a malformed env reference', async () => {
    assert.deepEqual(await problems('kind: function\nname: [a\n'), [{ path: '', line: 3, kind: 'yaml' }]);
    assert.deepEqual((await problems('kind: function\nname: a\nname: b\n')).map((p) => p.kind), ['yaml']);
    assert.deepEqual(await problems('kind: function\nname: a\nenv:\n  X: ${1BAD}\n'), [{ path: 'env.X', line: 4, kind: 'manifest' }]);
  });

  // New-user round 3: a key indented one space too far under a key with a value was reported at that
  // value, twice, in the parser's words ("Nested mappings are not allowed in compact mappings").
  it('says a key indented deeper than the one above it once, at its own line, with the fix', async () => {
    const read = await readManifestText('kind: function\nname: bad\nentrypoint: main:handler\nlimits:\n  timeout: 10s\n\n   memory: 128Mi\n', {});
    assert.deepEqual(read.problems.map(formatProblem), [
      "platform.yaml:7:4: indented deeper than the key on line 5, so YAML reads this line as part of that key's value: give it the same indentation as the key above it",
    ]);
    assert.deepEqual(await problems('kind: function\nname: x\n entrypoint: main:handler\n'), [{ path: '', line: 3, kind: 'yaml' }]);
  });
});
