/**
 * Usage-shaped errors and notes spell the CLI the way it can be run from where the user is (ADR
 * 0040, ADR 0055 "Round 4b"): `fastapi-platform invoke <name>` is not found after `npm start`.
 * One rule (cli/self-command.ts `spelledAs`), applied where errors and notes are printed.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { selfCommand, spelledAs } from '../../cli/self-command.js';
import { EXIT } from '../../cli/errors.js';
import { BIN, ROOT, runCli } from '../helpers/cli-harness.js';

const outside = mkdtempSync(join(tmpdir(), 'fp-spell-'));
after(() => rmSync(outside, { recursive: true, force: true }));
const env = { FP_CONFIG_DIR: join(outside, 'config'), PATH: '' };

describe('the CLI spelled as it runs', () => {
  it('spelledAs rewrites bare command lines only, never twice', () => {
    const self = `node ${BIN}`;
    assert.equal(spelledAs('invoke needs the function name: fastapi-platform invoke <name>', self), `invoke needs the function name: ${self} invoke <name>`);
    assert.equal(spelledAs('Run `fastapi-platform env --help` for usage.', 'npx fastapi-platform'), 'Run `npx fastapi-platform env --help` for usage.');
    // Already spelled (by selfCommandOf), a path, a file name: left alone.
    for (const text of ['`npx fastapi-platform deploy`', `${self} runs x`, '~/.config/fastapi-platform/credentials', 'fastapi-platform: deploy']) {
      assert.equal(spelledAs(text, 'npx fastapi-platform'), text);
    }
    assert.equal(spelledAs('x fastapi-platform runs $1', 'node /a b/$&.js'), 'x node /a b/$&.js runs $1');
    assert.equal(spelledAs('fastapi-platform invoke f', 'fastapi-platform'), 'fastapi-platform invoke f');
  });

  it('a usage error of every command names the CLI as run (outside the repository: node <repo>/bin/…)', async () => {
    const lines: [string[], string][] = [
      [['invoke'], 'invoke <name>'],
      [['logs'], 'logs <fn>'],
      [['rollback'], 'rollback <name>'],
      [['env', 'set'], 'env set <fn>'],
      [['env', 'pull'], 'env pull <fn>'],
      [['functions', 'show'], 'functions show <name>'],
      [['data', 'show'], 'data show <name>'],
      [['runs', 'cancel'], 'runs cancel <runId>'],
      [['workspaces', 'create'], 'workspaces create <name>'],
      [['tokens', 'revoke'], 'tokens revoke <id>'],
      [['triggers'], 'triggers <name>'],
      [['login', 'http://127.0.0.1:1'], 'login <url>'],
      [['runs', '--bogus'], 'runs --help'],
      [['env'], 'env --help'],
    ];
    for (const [argv, usage] of lines) {
      const r = await runCli(argv, { env, cwd: outside });
      assert.equal(r.code, EXIT.USAGE, `${argv.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.includes(`node ${BIN} ${usage}`), `${argv.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /(^|[\s`(:])fastapi-platform /, `${argv.join(' ')}: ${r.stderr}`);
    }
  });

  it("a fastapi-platform found only in npx's node_modules/.bin is not the user's: npx fastapi-platform inside the repository", () => {
    // npx puts the package's node_modules/.bin on the PATH it runs the CLI with; the user's shell
    // has none, and the bare name printed in "Next:" was "command not found".
    const npxBin = join(outside, 'npx-cache', 'node_modules', '.bin');
    mkdirSync(npxBin, { recursive: true });
    writeFileSync(join(npxBin, 'fastapi-platform'), '#!/bin/sh\n', { mode: 0o755 });
    const npxPath = [npxBin, '/usr/bin'].join(':');
    assert.equal(selfCommand(npxPath, ROOT), 'npx fastapi-platform');
    assert.equal(selfCommand(npxPath, outside), `node ${BIN}`);
    // On a PATH of the user's own (npm link, a global install), the bare name.
    const linked = join(outside, 'linked-bin');
    mkdirSync(linked, { recursive: true });
    writeFileSync(join(linked, 'fastapi-platform'), '#!/bin/sh\n', { mode: 0o755 });
    assert.equal(selfCommand([linked, npxBin].join(':'), outside), 'fastapi-platform');
  });

  it('inside the repository: npx fastapi-platform; in --json the message too', async () => {
    const r = await runCli(['invoke', '--json'], { env, cwd: ROOT });
    assert.equal(r.code, EXIT.USAGE);
    const doc = JSON.parse(r.stdout) as { error: { message: string } };
    assert.equal(doc.error.message, "invoke needs the function name: npx fastapi-platform invoke <name> (or run it in a function's folder)");
  });
});
