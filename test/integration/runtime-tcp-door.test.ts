/**
 * The runtime's TCP door (runtime/fp_runtime/remote.py: a runtime in its own Pod, listening for
 * the platform's one connection) against a stranger on the network: a function in another Pod
 * where no NetworkPolicy is enforced (kind's default CNI, a cluster without a policy engine).
 * Red team 6: the door read one connection at a time with a 5 s timeout per read, so a stranger
 * trickling a byte every few seconds held it for hours (up to 4096 reads of 5 s) while the
 * platform's connection waited behind it: every warm Pod it reached could not be leased.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeFrame } from '../../protocol/frames.js';
import { repoRoot } from '../helpers/runtime-process.js';
import { freePort } from '../helpers/servers.js';

const dir = mkdtempSync(join(tmpdir(), 'fp-door-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function door(): Promise<{ port: number; token: string; stop: () => void }> {
  const token = randomBytes(16).toString('hex');
  const sha = join(dir, `sha-${token}`);
  writeFileSync(sha, createHash('sha256').update(token).digest('hex'));
  const port = await freePort();
  const root = repoRoot();
  const child = spawn(join(root, '.venv', 'bin', 'python'), ['-I', join(root, 'runtime', 'bootstrap.py'),
    '--listen', `tcp:127.0.0.1:${port}`, '--token-sha256-file', sha, '--code-dir', join(dir, `code-${token}`)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('FP_LISTENING')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the runtime exited (${code}) before listening`)));
  });
  return { port, token, stop: () => child.kill('SIGKILL') };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** The first bytes the runtime sends on `s` (its `hello`), or null if `s` closes first. */
function firstBytes(s: Socket): Promise<Buffer | null> {
  return new Promise((resolve) => {
    s.once('data', (d: Buffer) => resolve(d));
    s.once('close', () => resolve(null));
  });
}

describe('the runtime\'s TCP door against strangers (red team 6)', () => {
  it('a stranger trickling its first frame does not hold the platform\'s connection: the platform gets its hello while the stranger is still connected', { timeout: 60_000 }, async () => {
    const rt = await door();
    after(rt.stop);
    const stranger = await open(rt.port);
    let strangerClosed = false;
    stranger.on('close', () => { strangerClosed = true; });
    stranger.on('error', () => {});
    // A frame announced (3 KiB), its bytes sent one at a time, each well within the old per-read timeout.
    stranger.write(Buffer.from([0, 0, 12, 0]));
    const trickle = setInterval(() => { if (!stranger.destroyed) stranger.write(Buffer.from([0xa1])); }, 200);
    after(() => clearInterval(trickle));
    // Some bytes in, so the runtime is reading the stranger when the platform comes.
    await new Promise((r) => setTimeout(r, 600));
    const platform = await open(rt.port);
    const hello = firstBytes(platform);
    platform.write(encodeFrame({ t: 'auth', id: 0, token: rt.token }));
    // Before: no hello until the stranger stopped (its 4096 bytes at one every 200 ms: ~14 minutes;
    // this test's timeout fails it first).
    const got = await hello;
    assert.ok(got !== null, 'the runtime closed the platform\'s connection');
    assert.ok(got.includes(Buffer.from('hello')), got.toString('latin1'));
    // The stranger is let go once the platform is in (the door closes), never served.
    clearInterval(trickle);
    await new Promise<void>((resolve) => (strangerClosed ? resolve() : stranger.once('close', () => resolve())));
    platform.destroy();
  });

  it('silent strangers are read side by side: the platform connecting behind sixteen of them is served without waiting out their timeouts', { timeout: 45_000 }, async () => {
    const rt = await door();
    after(rt.stop);
    const strangers = await Promise.all(Array.from({ length: 16 }, () => open(rt.port)));
    for (const s of strangers) s.on('error', () => {});
    const platform = await open(rt.port);
    const hello = firstBytes(platform);
    platform.write(encodeFrame({ t: 'auth', id: 0, token: rt.token }));
    // Before: 16 × 5 s of waiting (one silent stranger read at a time, 80 s: past this test's
    // timeout); now they are read side by side and the platform is served as it comes.
    const got = await hello;
    assert.ok(got?.includes(Buffer.from('hello')), String(got?.toString('latin1')));
    // Once the platform is in, the strangers are closed (the door closes).
    await Promise.all(strangers.map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())))));
    platform.destroy();
  });
});
