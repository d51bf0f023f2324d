/**
 * What README.md tells an evaluator holds on their machine (new-user round 7): the API example's
 * `TOKEN=…` line reads the credentials file where the CLI keeps it (FP_CONFIG_DIR, else
 * XDG_CONFIG_HOME, else ~/.config: cli/config.ts), and "Performance" names bench/README.md's newest
 * "Results" run, so its figures are not older than the latest measurement. Runs bash and node; no server.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadCliEnv } from '../../cli/config.js';
import { repoPath } from '../helpers/runtime-process.js';

const README = readFileSync(repoPath('README.md'), 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'fp-docs-readme-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The README's `TOKEN=$(…)` line, as a reader pastes it. */
function tokenLine(): string {
  const line = README.split('\n').find((l) => l.startsWith('TOKEN=$('));
  assert.ok(line, 'README.md has its TOKEN=$(…) line');
  return line;
}

/** Runs the line in bash with only `env` set and returns $TOKEN ('' when the line failed). */
function runTokenLine(env: Record<string, string>): string {
  const script = `${tokenLine()} 2>/dev/null\nprintf '%s' "$TOKEN"`;
  return execFileSync('bash', ['-c', script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8' });
}

describe("README's API example", () => {
  const cases: [string, Record<string, string>][] = [
    ['FP_CONFIG_DIR set', { HOME: join(scratch, 'h1'), FP_CONFIG_DIR: join(scratch, 'conf') }],
    ['XDG_CONFIG_HOME set', { HOME: join(scratch, 'h2'), XDG_CONFIG_HOME: join(scratch, 'xdg') }],
    ['neither (~/.config)', { HOME: join(scratch, 'h3') }],
  ];
  cases.forEach(([name, env], i) => {
    it(`reads the token from the credentials file the CLI uses: ${name}`, () => {
      const dir = loadCliEnv(env, env.HOME!).configDir;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'credentials.json'), JSON.stringify({ url: 'http://127.0.0.1:8080', token: `fpa_case${i}` }));
      assert.equal(runTokenLine(env), `fpa_case${i}`);
    });
  });
});

describe("README's Performance", () => {
  it("names bench/README.md's newest Results run (date and time), so its figures are the latest", () => {
    const bench = readFileSync(repoPath('bench/README.md'), 'utf8');
    const results = bench.slice(bench.indexOf('\n## Results'));
    const newest = /^### (\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})/m.exec(results);
    assert.ok(newest, 'bench/README.md has a dated Results entry');
    const performance = README.slice(README.indexOf('\n## Performance'), README.indexOf('\n## ', README.indexOf('\n## Performance') + 1));
    assert.ok(performance.includes(`${newest[1]} ${newest[2]}`), `README's "Performance" does not name the newest run, ${newest[1]} ${newest[2]}`);
  });
});
