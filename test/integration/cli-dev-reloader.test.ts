/**
 * `dev`'s Reloader (cli/dev/reload.ts): saves during a reload are folded into one more reload,
 * and after Ctrl-C (`stop()`) no new reload starts: only the one in progress finishes. Real
 * preflight (validate.py) on a real folder; the platform is an address where none listens, so each
 * deploy is refused fast (CONNECTION_FAILED-style) and the count of reloads is what is checked.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ApiClient } from '../../cli/client.js';
import { loadCliEnv } from '../../cli/config.js';
import type { Context } from '../../cli/context.js';
import { Reloader, type ReloadOutcome } from '../../cli/dev/reload.js';
import { Output } from '../../cli/output.js';

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fp-reloader-'));
  writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: reloaded\nentrypoint: main:handler\n');
  writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return "hi"\n');
  return dir;
}

function reloader(dir: string, outcomes: ReloadOutcome[]): Reloader {
  const ctx: Context = {
    out: new Output({ stdout: () => undefined, stderr: () => undefined, readStdin: async () => Buffer.alloc(0) }, true),
    io: { stdout: () => undefined, stderr: () => undefined, readStdin: async () => Buffer.alloc(0) },
    env: loadCliEnv({}, dir),
    cwd: dir,
    now: () => Date.now(),
    waitForSignal: () => new Promise(() => undefined),
  };
  // Port 9 (discard) on loopback: nothing listens, every deploy is refused at once.
  return new Reloader(ctx, { dir, client: new ApiClient('http://127.0.0.1:9', 'fp_none'), dotenv: false, onOutcome: (o) => outcomes.push(o) });
}

describe('dev reloader', () => {
  const dirs: string[] = [];
  after(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }); });

  it('saves during a reload are folded into one more reload', async () => {
    const dir = folder();
    dirs.push(dir);
    const outcomes: ReloadOutcome[] = [];
    const r = reloader(dir, outcomes);
    r.request([]);
    r.request(['main.py']);
    r.request(['platform.yaml']);
    await r.idle();
    r.close();
    assert.equal(outcomes.length, 2, JSON.stringify(outcomes));
    assert.equal(outcomes[0]!.kind, 'refused', 'nothing listens: the deploy is refused');
  });

  it('after stop() (Ctrl-C) no new reload starts: the one in progress ends, saves queued or later are dropped', async () => {
    const dir = folder();
    dirs.push(dir);
    const outcomes: ReloadOutcome[] = [];
    const r = reloader(dir, outcomes);
    r.request([]);
    r.request(['main.py']); // queued behind the first
    r.stop();
    r.request(['main.py']); // a save after Ctrl-C
    await r.idle();
    r.close();
    assert.equal(outcomes.length, 1, JSON.stringify(outcomes));
  });
});
