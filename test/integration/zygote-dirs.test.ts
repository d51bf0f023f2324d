/**
 * A zygote's socket directory (`<tmp>/fp-zygote-<preset>-…`) outlives a platform that is killed
 * (SIGKILL, the OOM killer, a crash: its close() never runs). Named by mkdtemp, nothing could tell
 * whose it was, and they piled up: 305 in one day's /tmp of the shared machine (soak1). Named
 * after the process now, the next start removes those whose process is gone, as the template
 * root's (ADR 0125).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defaultPoolConfig, ProcessHost, resolveSandbox } from '../../poolmgr/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const poolmgr = pathToFileURL(join(here, '..', '..', 'poolmgr', 'index.js')).href;
const SANDBOX = resolveSandbox('auto');
const KILLS = 3;

/** The zygote directories under `dir`. */
const zygoteDirs = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('fp-zygote-')).sort();

/** A platform's host, its default zygote ready, killed with SIGKILL; resolves once it is gone. */
async function startAndKill(tmp: string): Promise<void> {
  const script = [
    `const { defaultPoolConfig, ProcessHost } = await import(${JSON.stringify(poolmgr)});`,
    `const host = new ProcessHost({ ...defaultPoolConfig({ tasksMax: 64 }), sandbox: ${JSON.stringify(SANDBOX)}, zygotes: true });`,
    'if (!(await host.zygotesReady(30_000))) { console.log("not ready"); process.exit(1); }',
    'console.log("ready");',
    'setInterval(() => {}, 1000);',
  ].join('\n');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'inherit'] });
  const said = await new Promise<string>((resolve) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => { out += c.toString(); if (out.includes('\n')) resolve(out.trim()); });
    child.once('exit', () => resolve(out.trim()));
  });
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await gone;
  assert.equal(said, 'ready');
}

describe('zygote socket directories', () => {
  it(`those of ${KILLS} killed platforms are removed by the next start, and its own by its close`, { timeout: 180_000 }, async (t) => {
    // A private TMPDIR: other platforms on the machine (and their tests) make and remove their own.
    const tmp = mkdtempSync(join(tmpdir(), 'fp-soak-zd-'));
    t.after(() => rmSync(tmp, { recursive: true, force: true }));
    for (let i = 0; i < KILLS; i++) await startAndKill(tmp);
    // Each start removed the directory the kill before it left: one is left, not one per kill.
    assert.equal(zygoteDirs(tmp).length, 1, `the last kill's directory alone: ${zygoteDirs(tmp).join(' ')}`);

    const saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = tmp;
    const host = new ProcessHost({ ...defaultPoolConfig({ tasksMax: 64 }), sandbox: SANDBOX, zygotes: true });
    try {
      assert.equal(await host.zygotesReady(30_000), true);
      const left = zygoteDirs(tmp);
      assert.equal(left.length, 1, `only the running host's zygote directory is left: ${left.join(' ')}`);
      assert.ok(String(left[0]).includes(`-${process.pid}-`), String(left[0]));
    } finally {
      await host.close();
      if (saved === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = saved;
    }
    assert.deepEqual(zygoteDirs(tmp), [], 'back to none');
  });
});
