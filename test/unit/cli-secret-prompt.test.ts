/**
 * `env set <fn> NAME` on a terminal reads the value without echo, as a password prompt does
 * (cli/secret-prompt.ts); piped or redirected stdin is read as before (ADR 0055, "Round 4b").
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { main } from '../../cli/main.js';
import { EXIT } from '../../cli/errors.js';
import { readHidden, type HiddenInput } from '../../cli/secret-prompt.js';

class FakeTty extends EventEmitter implements HiddenInput {
  raw: boolean[] = [];
  paused = true;
  setRawMode(on: boolean): this { this.raw.push(on); return this; }
  resume(): this { this.paused = false; return this; }
  pause(): this { this.paused = true; return this; }
  setEncoding(): this { return this; }
}

async function typed(chunks: string[]): Promise<{ value: string | null; shown: string; tty: FakeTty; interrupted: boolean }> {
  const tty = new FakeTty();
  let shown = '';
  let interrupted = false;
  const promise = readHidden(tty, (t) => { shown += t; }, 'Value of KEY: ', () => { interrupted = true; });
  for (const c of chunks) tty.emit('data', Buffer.from(c));
  const value = await promise;
  return { value, shown, tty, interrupted };
}

describe('a secret typed on the terminal', () => {
  it('is not echoed; Enter ends it; backspace and Ctrl-U edit it; the terminal is left as it was', async () => {
    const r = await typed(['s3cr', '\x7f', 'et', 'x\x15', 'pa', 'ss\r']);
    assert.equal(r.value, 'pass');
    assert.equal(r.shown, 'Value of KEY: \n');
    assert.deepEqual(r.tty.raw, [true, false]);
    assert.equal(r.tty.paused, true);
    assert.equal((await typed(['abc\n'])).value, 'abc');
    assert.equal((await typed(['a', 'b', '\x04'])).value, 'ab'); // Ctrl-D ends it too
  });

  it('Ctrl-C interrupts (and restores the terminal first)', async () => {
    const r = await typed(['abc', '\x03']);
    assert.equal(r.value, null);
    assert.equal(r.interrupted, true);
    assert.deepEqual(r.tty.raw, [true, false]);
  });

  it('env set on a terminal asks with readSecret, never reads stdin; --help says so', async () => {
    let asked = '';
    let stdinRead = false;
    let stderr = '';
    const code = await main(['env', 'set', 'f', 'API_KEY', '--secret', '--url', 'http://127.0.0.1:9'], {
      io: {
        stdout: () => undefined,
        stderr: (t) => { stderr += t; },
        readStdin: async () => { stdinRead = true; return Buffer.from('x'); },
        stdinKind: 'tty',
        readSecret: async (prompt) => { asked = prompt; return 'typed'; },
      },
      env: { FP_CONFIG_DIR: '/nonexistent-fp-config' },
      cwd: '/',
      waitForSignal: () => new Promise(() => undefined),
    });
    assert.equal(code, EXIT.UNREACHABLE, stderr); // it read the value, then went to the platform
    assert.match(asked, /API_KEY.*not shown/);
    assert.equal(stdinRead, false);
    let help = '';
    await main(['env', '--help'], { io: { stdout: (t) => { help += t; }, stderr: () => undefined, readStdin: async () => Buffer.alloc(0) }, env: {}, cwd: '/', waitForSignal: () => new Promise(() => undefined) });
    assert.match(help, /on a terminal.*without echo/s);
  });

  it('an empty value typed is refused, as an empty stdin is', async () => {
    let stderr = '';
    const code = await main(['env', 'set', 'f', 'API_KEY', '--secret'], {
      io: { stdout: () => undefined, stderr: (t) => { stderr += t; }, readStdin: async () => Buffer.alloc(0), stdinKind: 'tty', readSecret: async () => '' },
      env: { FP_CONFIG_DIR: '/nonexistent-fp-config' }, cwd: '/', waitForSignal: () => new Promise(() => undefined),
    });
    assert.equal(code, EXIT.USAGE);
    assert.match(stderr, /API_KEY: no value was typed/);
  });
});
