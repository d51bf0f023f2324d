/**
 * Red team round 29 (docs/security.md, "The runtime's channel"; ADR 0166): a runtime killed for a
 * frame that does not fit the platform's bound on frames being read (FramesOverBudget) spent its
 * function's start budget after crashes (ADR 0158) whoever filled that bound. Two workspaces of a
 * hostile tenant each holding their half with unfinished frames made every large answer of a
 * victim's function a kill charged to the victim: after its burst, the victim's function was
 * refused FUNCTION_CRASH_LOOP ("crashing"), and its workspace's budget spent. Now only a refusal by
 * the runtime's own workspace's share is counted.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import type { FunctionVersion, PoolManager } from '../../poolmgr/index.js';
import { ev, fnVersion, py, until, usePool, writeFunction } from './poolmgr-harness.js';

const MIB = 1024 * 1024;
/** The platform's bound: 8 MiB, a workspace's share 4 MiB. */
const BOUND = 8 * MIB;
/** Each jammer's unfinished frame: just under its workspace's share. */
const JAM = 4 * MIB - 4096;

const HANDLER = py(
  'import os, socket, threading, time',
  'def jam(n):',
  '    time.sleep(0.3)',
  '    s = socket.socket(fileno=os.dup(3))',
  '    s.setblocking(True)',
  '    s.sendall(n.to_bytes(4, "big") + b"\\x90" * (n - 1))',
  '    time.sleep(600)',
  'def handler(event, context):',
  '    q = event["query"]',
  '    if "jam" in q: threading.Thread(target=jam, args=(int(q["jam"]),), daemon=True).start()',
  '    if "big" in q: return "x" * int(q["big"])',
  '    return {"pid": os.getpid()}',
);

function inWorkspace(dir: string, workspace: string): FunctionVersion {
  const fn = fnVersion(dir);
  return { ...fn, name: `${fn.name}.${workspace}` };
}

describe('start budget after crashes: frames refused for other workspaces\' frames (red29)', () => {
  const held = usePool({ poolSize: 2, crashStartBurst: 1, crashStartsPerMinute: 1, maxFrameBytesInFlight: BOUND });
  let pool: PoolManager;
  let dir: string;
  const jammers = [`j1-${randomUUID().slice(0, 6)}`, `j2-${randomUUID().slice(0, 6)}`];
  before(async () => {
    pool = held.pool;
    held.dirs.push(dir = await writeFunction({ 'main.py': HANDLER }));
    // Two workspaces of one tenant each leave a frame of just under their share unfinished.
    for (const ws of jammers) {
      const answer = await pool.invoke(inWorkspace(dir, ws), ev({ jam: String(JAM) }));
      assert.equal(answer.error, null, JSON.stringify(answer.error));
    }
    await until(() => pool.frameJoins.held >= 2 * JAM, 15_000, 'both jams held');
  });

  it('does not charge a victim\'s function: its large answers are refused GATEWAY_OVERLOADED, never FUNCTION_CRASH_LOOP', async () => {
    const victim = inWorkspace(dir, `v-${randomUUID().slice(0, 6)}`);
    for (let i = 0; i < 3; i++) {
      const answer = await pool.invoke(victim, ev({ big: String(MIB) }));
      assert.equal(answer.error?.code, 'GATEWAY_OVERLOADED', `call ${i}: ${JSON.stringify(answer.error)}`);
      assert.equal(answer.error?.details?.['bound'], 'platform');
    }
    // Its small answers are served as before.
    const small = await pool.invoke(victim, ev());
    assert.equal(small.error, null, JSON.stringify(small.error));
  });

  it('still charges a function refused by its own workspace\'s share (ADR 0158)', async () => {
    const own = inWorkspace(dir, jammers[0]!);
    const first = await pool.invoke(own, ev({ big: String(MIB) }));
    assert.equal(first.error?.code, 'GATEWAY_OVERLOADED', JSON.stringify(first.error));
    assert.equal(first.error?.details?.['bound'], 'workspace');
    const second = await pool.invoke(own, ev({ big: String(MIB) }));
    assert.equal(second.error?.code, 'FUNCTION_CRASH_LOOP', JSON.stringify(second.error));
  });
});
