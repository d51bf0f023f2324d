/** Round 4 of the new-user walk (docs-driven): what a typo or a forgotten argument gets (in-process, no platform). */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { runCli } from '../helpers/cli-harness.js';

const NOWHERE = ['--url', 'http://127.0.0.1:1', '--token', 'fpa_x'];

describe('cli: typos and forgotten arguments say what to do next', () => {
  for (const command of ['validate', 'deploy']) {
    it(`${command} of a folder that does not exist is a usage error naming it, not a stack trace`, async () => {
      const r = await runCli([command, '/nonexistent-fp-folder', ...NOWHERE]);
      assert.equal(r.code, EXIT.USAGE, r.stderr);
      assert.match(r.stderr, /\/nonexistent-fp-folder is not a folder: give the function's folder/);
      assert.doesNotMatch(r.stderr, /unexpected error|at async/);
    });
  }

  it('env set NAME with nothing on stdin refuses instead of setting an empty value', async () => {
    const r = await runCli(['env', 'set', 'my-fn', 'API_KEY', '--secret', ...NOWHERE], { stdin: '' });
    assert.equal(r.code, EXIT.USAGE, r.stderr);
    assert.match(r.stderr, /API_KEY: stdin gave no value; .*API_KEY=value/);
  });

  it('env set NAME= still sets an empty value on purpose (it gets as far as the platform)', async () => {
    const r = await runCli(['env', 'set', 'my-fn', 'API_KEY=', ...NOWHERE]);
    assert.equal(r.code, EXIT.UNREACHABLE, r.stderr);
  });

  it('invoke --help says "(repeatable)" once per option', async () => {
    const r = await runCli(['invoke', '--help']);
    assert.equal(r.code, EXIT.OK);
    for (const line of r.stdout.split('\n')) assert.ok((line.match(/\(repeatable/g) ?? []).length <= 1, line);
  });

  it("the http template's docstring says a returned str is sent as JSON (quoted), as docs/api-invoke.md does", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-cli-docs-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const r = await runCli(['init', dir, '--name', 'shapes']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.match(readFileSync(join(dir, 'main.py'), 'utf8'), /dict, list or str \(sent as JSON: a str arrives quoted\)/);
  });

  it('init into a file, or where no folder can be made, says so (no stack trace, and /proc does not hang)', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-cli-docs-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'afile'), '');
    const file = await runCli(['init', join(dir, 'afile')]);
    assert.equal(file.code, EXIT.USAGE, file.stderr);
    assert.match(file.stderr, /afile is a file, not a folder/);
    const proc = await runCli(['init', '/proc/fp-no-such/fn', '--name', 'x']);
    assert.equal(proc.code, EXIT.FAILURE, proc.stderr);
    assert.match(proc.stderr, /cannot create the folder \/proc\/fp-no-such \(E[A-Z]+\): pick a folder you can write in \[FOLDER_NOT_CREATED\]/);
  });
});
