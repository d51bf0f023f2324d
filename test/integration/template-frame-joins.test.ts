/**
 * Red team round 15 (docs/security.md, "The runtime's channel"): the frames being read from
 * runtimes are bounded together (poolmgr/frame-joins.ts), but a template's channel had a second
 * reader: the process host watches it for `forkExit` beside the pool (process-host.ts
 * watchTemplate), with a decoder of its own that kept every piece of an unfinished frame, in no
 * budget. A template's import can leave a SIGALRM handler (no thread, no descriptor: the template
 * checks for those) that writes the prefix of a large frame and all of it but its last byte on the
 * channel, then waits: the platform held the frame twice, once counted.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { resolveSandbox } from '../../poolmgr/index.js';
import { workspaceOfKey } from '../../protocol/index.js';
import { testSandbox } from '../helpers/runtime-process.js';
import { ev, fnVersion, keyOf, openPool, py, removeFunction, until, writeFunction } from './poolmgr-harness.js';

const SANDBOX = resolveSandbox(testSandbox());
const MIB = 1024 * 1024;
const FRAME = 32 * MIB;
setFlagsFromString('--expose-gc');
/** The copies of the channel's reads handed to a second reader are garbage once read: what is measured is what stays held. */
const gc = runInNewContext('gc') as () => void;

function held(): number {
  gc();
  return process.memoryUsage().arrayBuffers;
}

/** Imports slowly (so it gets a template); the template, which never serves a call, jams its channel 1.5 s after its import. */
const JAM_IN_TEMPLATE = py(
  'import os, signal, socket, stat, time',
  'SERVED = []',
  'def jam(signum, frame):',
  '    if SERVED or not stat.S_ISSOCK(os.fstat(3).st_mode): return',
  '    s = socket.socket(fileno=os.dup(3))',
  '    s.setblocking(True)',
  `    s.sendall((${FRAME}).to_bytes(4, "big") + b"\\x90" * (${FRAME} - 1))`,
  '    while True: time.sleep(600)',
  'signal.signal(signal.SIGALRM, jam)',
  'signal.setitimer(signal.ITIMER_REAL, 1.5)',
  'time.sleep(0.3)',
  'def handler(event, context):',
  '    SERVED.append(1)',
  '    return {"pid": os.getpid()}',
);

/**
 * Imports slowly (so it gets a template) and replaces the runtime's own Conn.send (user code shares
 * the interpreter): in an instance forked from the template, right after the fork's hello, the
 * prefix of a large frame and all of it but its last byte, then nothing more.
 */
const JAM_AFTER_FORK_HELLO = py(
  'import os, time',
  'from fp_runtime import conn',
  'ORIGINAL = conn.Conn.send',
  'def send(self, message):',
  '    if not (isinstance(message, dict) and message.get("t") == "hello" and "nonce" in message):',
  '        return ORIGINAL(self, message)',
  '    # the hello and the frame in one write: the host reads them together',
  `    self.sock.sendall(conn.encode(message) + (${FRAME}).to_bytes(4, "big") + b"\\x90" * (${FRAME} - 1))`,
  '    while True: time.sleep(600)',
  'conn.Conn.send = send',
  'time.sleep(0.3)',
  'def handler(event, context):',
  '    time.sleep(float(event["query"].get("sleep", "0")))',
  '    return {"pid": os.getpid()}',
);

describe('a template\'s unfinished frame', { skip: SANDBOX === 'off' ? 'templates need a box' : false }, () => {
  const dirs: string[] = [];
  after(async () => { for (const dir of dirs) await removeFunction(dir); });

  /** A pool, and a version of `code` whose first call was answered and whose template is ready. */
  const withTemplate = async (t: { after(fn: () => unknown): void }, code: string) => {
    const pool = await openPool({ sandbox: SANDBOX });
    t.after(() => pool.close());
    const dir = await writeFunction({ 'main.py': code });
    dirs.push(dir);
    const fn = fnVersion(dir, { concurrency: 1 });
    const first = await pool.invoke(fn, ev());
    assert.equal(first.response?.status, 200, JSON.stringify(first.error));
    await until(() => pool.stats().functions[keyOf(fn)]?.template === 'ready', 15_000, 'a ready template');
    return { pool, fn };
  };

  it('is held once, in the bound of frames being read (not a second time by the watcher of its forkExit reports)', async (t) => {
    const before = held();
    const { pool } = await withTemplate(t, JAM_IN_TEMPLATE);
    await until(() => pool.frameJoins.held >= FRAME, 15_000, 'the template\'s frame begun');
    // The frame's bytes arrive after its prefix: wait (at most 10 s) until the pool's copy is whole, and the watcher's if any.
    const end = Date.now() + 10_000;
    while (Date.now() < end && held() - before < 2 * FRAME - 4 * MIB) await new Promise((r) => setTimeout(r, 100));
    const grew = held() - before;
    assert.equal(pool.frameJoins.held, FRAME, 'the bound counts the frame once');
    assert.ok(grew < 1.5 * FRAME, `the platform holds ${Math.round(grew / MIB)} MiB more for one unfinished frame of ${FRAME / MIB} MiB`);
  });

  it('of an instance forked from it, begun before the instance is placed, counts in its workspace\'s share', async (t) => {
    const { pool, fn } = await withTemplate(t, JAM_AFTER_FORK_HELLO);
    // Two calls at once: the second scales out, forked from the template (its call fails once the fork is killed).
    const calls = [pool.invoke(fn, ev({ sleep: '0.5' })), pool.invoke(fn, ev({ sleep: '0.5' }))];
    await until(() => pool.frameJoins.held >= FRAME, 15_000, 'the forked instance\'s frame begun');
    // Without its workspace's share a workspace's forks alone could fill the whole bound (every other workspace's large answers refused).
    assert.equal(pool.frameJoins.heldBy(workspaceOfKey(keyOf(fn))), pool.frameJoins.held, 'the frame counts in its workspace');
    await pool.close();
    await Promise.allSettled(calls);
  });
});

