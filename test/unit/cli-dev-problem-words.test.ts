/**
 * How `dev` words what it cannot reload (new-user round 6): its problems name the CLI as this user
 * runs it, as `validate` does (in a folder without platform.yaml it said "create one here with
 * `fastapi-platform init .`", a command not on this shell's PATH), and a refusal of several lines
 * stays indented under its event line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ApiClient } from '../../cli/client.js';
import { loadCliEnv } from '../../cli/config.js';
import type { Context } from '../../cli/context.js';
import { Reloader } from '../../cli/dev/reload.js';
import { Output } from '../../cli/output.js';

describe('dev: a folder without platform.yaml', () => {
  it('names init as this user runs the CLI', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-dev-spell-'));
    const io = { stdout: () => {}, stderr: () => {}, readStdin: async () => Buffer.alloc(0) };
    // A PATH without the CLI on it, and not inside the repository: `node <repo>/bin/fastapi-platform.js`.
    const env = loadCliEnv({ PATH: '/usr/bin:/bin', FP_CONFIG_DIR: dir }, dir);
    const ctx: Context = { out: new Output(io, false), io, env, cwd: dir, now: Date.now, waitForSignal: () => new Promise(() => {}) };
    const reloader = new Reloader(ctx, { dir, client: {} as ApiClient, dotenv: false });
    try {
      const outcome = await reloader.reload();
      assert.equal(outcome.kind, 'invalid');
      const message = outcome.kind === 'invalid' ? outcome.problems[0]!.message : '';
      assert.match(message, /create one here with `node \S+\/bin\/fastapi-platform\.js init \.`/, message);
    } finally {
      reloader.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dev: a refusal of several lines', () => {
  it('is printed under its event line, each line indented (a failed build\'s pip errors were at column 0)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-dev-refused-'));
    const printed: string[] = [];
    const io = { stdout: (t: string) => void printed.push(t), stderr: () => {}, readStdin: async () => Buffer.alloc(0) };
    const env = loadCliEnv({ PATH: '/usr/bin:/bin', FP_CONFIG_DIR: dir }, dir);
    const ctx: Context = { out: new Output(io, false), io, env, cwd: dir, now: Date.now, waitForSignal: () => new Promise(() => {}) };
    const reloader = new Reloader(ctx, { dir, client: {} as ApiClient, dotenv: false });
    try {
      const message = 'the dependencies of version 9 could not be installed: ERROR: Could not find a version\nERROR: No matching distribution found for nosuch==1.0\n(no release with a wheel for this Python …)';
      // The printing step of a reload (private: the outcome is what a refused deploy gives it).
      (reloader as unknown as { print(o: unknown, paths: string[]): void }).print({ kind: 'refused', code: 'DEPS_NOT_FOUND', message, ms: 5, report: [] }, ['requirements.txt']);
      const lines = printed.join('').split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 3, printed.join(''));
      assert.match(lines[0]!, /not reloaded \(nothing deployed yet\): \[DEPS_NOT_FOUND\] the dependencies of version 9/);
      assert.deepEqual(lines.slice(1).map((l) => l.startsWith('  ')), [true, true], printed.join(''));
    } finally {
      reloader.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
