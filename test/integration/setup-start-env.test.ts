/**
 * The quickstart's Python environment (`npm start` → `scripts/setup.sh --start`) has what the
 * runtime's presets preload (docs/adr/0078-preset-packages-with-the-runtime.md): a fresh virtual
 * environment gets exactly the requirement files setup.sh installs at that depth (read from the
 * script), then every module of every preset (fp_runtime/zygote.py's PRESETS) must import in it.
 * `init --template fastapi` failed at its first call on a machine set up by `npm start` alone
 * (`ModuleNotFoundError: No module named 'fastapi'`): FastAPI came only with the test tools.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/cli-harness.js';

const run = promisify(execFile);

/** The requirement files `setup.sh --start` installs (its python_env's `files=(…)`). */
function startRequirementFiles(): string[] {
  const script = readFileSync(join(ROOT, 'scripts', 'setup.sh'), 'utf8');
  const match = /local stamp=[^\n]*\bfiles=\(([^)]*)\)/.exec(script);
  assert.ok(match, 'setup.sh names its requirement files as files=(…)');
  return match[1]!.trim().split(/\s+/);
}

describe('the quickstart environment (setup.sh --start)', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-start-env-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("imports every module the presets preload (FastAPI's too), with only what --start installs", async () => {
    const files = startRequirementFiles();
    assert.ok(files.includes('runtime/requirements-presets.txt'), files.join(' '));
    const venv = join(dir, 'venv');
    const base = (await run(join(ROOT, '.venv', 'bin', 'python'), ['-c', 'import sys; print(sys.base_prefix)'])).stdout.trim();
    await run(join(base, 'bin', 'python3'), ['-m', 'venv', venv]);
    await run(join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', ...files.flatMap((f) => ['-r', join(ROOT, f)])], { timeout: 240_000 });
    const check = [
      'import importlib, sys',
      `sys.path.insert(0, ${JSON.stringify(join(ROOT, 'runtime'))})`,
      'from fp_runtime.zygote import PRESETS',
      'missing = []',
      'for preset, modules in PRESETS.items():',
      '    for m in modules:',
      '        try: importlib.import_module(m)',
      '        except ImportError as e: missing.append(f"{preset}: {m} ({e})")',
      'print("\\n".join(missing) or "all")',
    ].join('\n');
    const out = (await run(join(venv, 'bin', 'python'), ['-I', '-c', check])).stdout.trim();
    assert.equal(out, 'all');
  });

  it('installs into a .venv moved or copied with its clone (its pip script names the old path; new-user round 14)', async () => {
    const script = readFileSync(join(ROOT, 'scripts', 'setup.sh'), 'utf8');
    const install = /^\s*(\.venv\/bin\/\S+(?: -m pip)?) install --quiet/m.exec(script)?.[1];
    assert.ok(install !== undefined, 'setup.sh installs the requirements with .venv/bin/…');
    const base = (await run(join(ROOT, '.venv', 'bin', 'python'), ['-c', 'import sys; print(sys.base_prefix)'])).stdout.trim();
    const made = join(dir, 'made', '.venv');
    const moved = join(dir, 'moved', '.venv');
    await run(join(base, 'bin', 'python3'), ['-m', 'venv', made], { timeout: 120_000 });
    await run('mkdir', [join(dir, 'moved')]);
    await run('mv', [made, moved]);
    const [program, ...args] = install.replace(/^\.venv/, moved).split(' ');
    const { stdout } = await run(program!, [...args, '--version'], { timeout: 60_000 });
    assert.ok(stdout.includes(join(moved, 'lib')), `setup.sh's pip is not the moved venv's: ${stdout}`);
  });
});
