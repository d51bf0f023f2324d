/**
 * `dev`'s problems name the CLI as this user runs it, as `validate` does (new-user round 6): `dev`
 * in a folder without platform.yaml said "create one here with `fastapi-platform init .`", a command
 * not on this shell's PATH, where `validate` said `node <repo>/bin/fastapi-platform.js init .`.
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
