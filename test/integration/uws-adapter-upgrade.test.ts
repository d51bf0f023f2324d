/**
 * A WebSocket upgrade answered after the handshake arrived (as every function's is: ADR 0129).
 * Upgraded inside `res.cork`, uWS's cork ended by reading the new WebSocket as the HTTP response it
 * had been (resized in place): now and then it found a `Connection: close` there and ended the
 * connection after the app's message but before its close frame (the client saw 1006). The adapter
 * upgrades outside the cork, and the binding, mended by scripts/patch-uws.mjs, does not warn about
 * it. Each child is a new process (the stale bytes differed from one process to the next).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'ws-upgrade-child.js');

function runChild(connections: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD], { env: { ...process.env, WS_CHILD_CONNECTIONS: String(connections) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('uws adapter: a WebSocket upgrade answered later', () => {
  it('every connection gets the message and the close frame after it, and nothing is printed', async () => {
    const runs = await Promise.all([runChild(200), runChild(200), runChild(200)]);
    for (const run of runs) {
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), { '4001 hi': 200 });
      assert.doesNotMatch(run.stderr, /corked callback/, 'the binding warned about the upgrade');
    }
  });
});
