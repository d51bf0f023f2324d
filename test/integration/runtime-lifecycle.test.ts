/**
 * Runtime life cycle against real Python processes: hello, health, shutdown, environment
 * isolation between runtimes, and malformed frames (which must be answered, never hang).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { encodeFrame, MAX_FRAME_BYTES } from '../../protocol/frames.js';
import { ErrorClass, PROTOCOL_VERSION } from '../../protocol/messages.js';
import {
  testSandbox,
  bodyJson, py, removeFunction, startRuntime, writeFunction, type ErrorReply, type RuntimeHandle,
} from '../helpers/runtime-process.js';

type TestContext = { after: (fn: () => unknown) => void };

async function runtime(t: TestContext): Promise<RuntimeHandle> {
  const rt = await startRuntime();
  t.after(() => rt.kill());
  return rt;
}

async function fnDir(t: TestContext, files: Record<string, string>): Promise<string> {
  const dir = await writeFunction(files);
  t.after(() => removeFunction(dir));
  return dir;
}

const SYNC = { 'main.py': py('def handler(event, context):', '    return {"ok": True}') };
const ASYNC = { 'main.py': py('async def handler(event, context):', '    return {"ok": True}') };

function assertProtocolError(reply: unknown, id: number): void {
  const r = reply as ErrorReply;
  assert.equal(r.t, 'error');
  assert.equal(r.id, id);
  assert.equal(r.error.class, ErrorClass.protocol);
  assert.equal(r.fatal, false);
}

describe('hello, health, shutdown', () => {
  test('hello carries the protocol version, pid, python version and boot time', async (t) => {
    const spawned = performance.now();
    const rt = await runtime(t);
    const helloAfterMs = performance.now() - spawned;
    assert.equal(rt.hello.t, 'hello');
    assert.equal(rt.hello.v, PROTOCOL_VERSION);
    assert.equal(rt.hello.v, PROTOCOL_VERSION);
    // In its box the runtime is pid 2 of its own PID namespace (its init is 1); unsandboxed, the host's pid.
    assert.equal(rt.hello.pid, testSandbox() === 'off' ? rt.pid : 2);
    assert.match(rt.hello.python, /^3\.\d+\.\d+/);
    assert.equal(typeof rt.hello.bootMs, 'number');
    // Milliseconds, within what the host saw from the spawn to the hello.
    assert.ok(rt.hello.bootMs > 0 && rt.hello.bootMs <= helloAfterMs, `bootMs ${rt.hello.bootMs}, hello ${helloAfterMs.toFixed(1)} ms after the spawn`);
  });

  test('health answers before and after specialize, echoing the id', async (t) => {
    const rt = await runtime(t);
    const before = await rt.request({ t: 'health', id: 41 });
    assert.deepEqual(Object.keys(before).sort(), ['id', 'inflight', 'ok', 'rssBytes', 't']);
    assert.equal(before.t, 'health');
    assert.equal(before.id, 41);
    if (before.t !== 'health') return;
    assert.equal(before.ok, true);
    assert.equal(before.inflight, 0);
    assert.ok(before.rssBytes > 1024 * 1024, `rssBytes ${before.rssBytes}`);

    const spec = await rt.specialize({ dir: await fnDir(t, SYNC) });
    assert.equal(spec.contract, 'handler');
    const after = await rt.health();
    assert.equal(after.ok, true);
    assert.equal(after.inflight, 0);
    assert.ok(after.rssBytes > 1024 * 1024);
    // Still serving after the health check.
    assert.deepEqual(bodyJson(await rt.invokeOk()), { ok: true });
  });

  test('health counts in-flight calls of an async handler and of a sync pool', async (t) => {
    for (const [files, concurrency] of [
      [{ 'main.py': py('import asyncio', 'async def handler(event, context):', '    await asyncio.sleep(1)', '    return 1') }, 1],
      [{ 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(1)', '    return 1') }, 2],
    ] as const) {
      const rt = await runtime(t);
      await rt.specialize({ dir: await fnDir(t, files), concurrency });
      const call = rt.invokeOk();
      // Counted once the call started (a pool thread takes it up); asked until then, not after a guessed delay.
      let during = await rt.health();
      while (during.inflight === 0) during = await rt.health();
      assert.equal(during.inflight, 1, `concurrency ${concurrency}`);
      await call;
      assert.equal((await rt.health()).inflight, 0);
    }
  });

  test('shutdown exits 0 when generic, serving a sync handler, and serving an async handler', async (t) => {
    const generic = await runtime(t);
    generic.send({ t: 'shutdown', id: 1 });
    assert.deepEqual(await generic.waitExit(), { code: 0, signal: null });

    for (const files of [SYNC, ASYNC]) {
      const rt = await runtime(t);
      await rt.specialize({ dir: await fnDir(t, files) });
      await rt.invokeOk();
      rt.send({ t: 'shutdown', id: rt.id() });
      assert.deepEqual(await rt.waitExit(), { code: 0, signal: null });
    }
  });

  test('shutdown of an ASGI app runs its lifespan shutdown, then exits 0', async (t) => {
    const dir = await fnDir(t, {
      'main.py': py(
        'from contextlib import asynccontextmanager',
        'from fastapi import FastAPI',
        '@asynccontextmanager',
        'async def lifespan(app):',
        '    yield',
        '    print("lifespan shutdown ran", flush=True)', // outside any call: the process's own stdout
        'app = FastAPI(lifespan=lifespan)',
      ),
    });
    const rt = await runtime(t);
    await rt.specialize({ dir, entrypoint: 'main:app' });
    rt.send({ t: 'shutdown', id: rt.id() });
    assert.deepEqual(await rt.waitExit(), { code: 0, signal: null });
    assert.ok(rt.stdout.includes('lifespan shutdown ran'), `lifespan shutdown did not run; stdout: ${rt.stdout}`);
  });

  // SDKs flush what they hold from atexit (sentry-sdk's transport, OpenTelemetry's batch span
  // processor, analytics clients, logging.shutdown); uvicorn and gunicorn run the callbacks at a
  // graceful stop. The runtime ended with os._exit, so none ran (apps round 6, ADR 0095).
  test('shutdown runs the atexit callbacks (after an ASGI app\'s lifespan shutdown), then exits 0', async (t) => {
    const files = {
      asgi: {
        entrypoint: 'main:app',
        source: py(
          'import asyncio, atexit',
          'from contextlib import asynccontextmanager',
          'from fastapi import FastAPI',
          // Outside the serving loop, as after uvicorn's: a callback may run a loop of its own.
          'atexit.register(lambda: print(asyncio.run(asyncio.sleep(0, result="atexit ran")), flush=True))',
          '@asynccontextmanager',
          'async def lifespan(app):',
          '    yield',
          '    print("lifespan shutdown ran", flush=True)',
          'app = FastAPI(lifespan=lifespan)',
        ),
      },
      sync: {
        entrypoint: 'main:handler',
        source: py('import atexit', 'atexit.register(lambda: print("atexit ran", flush=True))', 'def handler(event, context):', '    return {"ok": True}'),
      },
      async: {
        entrypoint: 'main:handler',
        source: py('import atexit', 'atexit.register(lambda: print("atexit ran", flush=True))', 'async def handler(event, context):', '    return {"ok": True}'),
      },
    };
    for (const [kind, { entrypoint, source }] of Object.entries(files)) {
      const rt = await runtime(t);
      await rt.specialize({ dir: await fnDir(t, { 'main.py': source }), entrypoint });
      await rt.invokeOk();
      rt.send({ t: 'shutdown', id: rt.id() });
      assert.deepEqual(await rt.waitExit(), { code: 0, signal: null }, kind);
      assert.ok(rt.stdout.includes('atexit ran'), `${kind}: the atexit callback did not run; stdout: ${rt.stdout}`);
      if (kind === 'asgi') assert.ok(rt.stdout.indexOf('lifespan shutdown ran') < rt.stdout.indexOf('atexit ran'), rt.stdout);
    }
  });

  test('end of stream on the socket ends the runtime (generic and specialized)', async (t) => {
    const generic = await runtime(t);
    generic.socket.end();
    assert.equal((await generic.waitExit()).code, 0);
    for (const files of [SYNC, ASYNC]) {
      const rt = await runtime(t);
      await rt.specialize({ dir: await fnDir(t, files) });
      rt.socket.end();
      assert.equal((await rt.waitExit()).code, 0);
    }
  });
});

describe('the protocol socket', () => {
  test('is not inherited by subprocesses the function starts', async (t) => {
    const rt = await runtime(t);
    await rt.specialize({
      dir: await fnDir(t, {
        'main.py': py(
          'import os, subprocess',
          'def handler(event, context):',
          '    os.system("if [ -e /proc/$$/fd/3 ]; then echo open; else echo closed; fi > /tmp/fd3.txt")',
          '    shell = open("/tmp/fd3.txt").read().strip()',
          '    popen = subprocess.run(["sh", "-c", "[ -e /proc/$$/fd/3 ] && echo open || echo closed"],',
          '                           close_fds=False, capture_output=True, text=True).stdout.strip()',
          '    return {"shell": shell, "popen": popen}',
        ),
      }),
    });
    assert.deepEqual(bodyJson(await rt.invokeOk()), { shell: 'closed', popen: 'closed' });
  });
});

describe('environment isolation', () => {
  test('two runtimes with different env each see only their own values', async (t) => {
    const files = {
      'main.py': py(
        'import os',
        'AT_IMPORT = os.environ.get("FP_COLOR")',
        'def handler(event, context):',
        '    return {k: os.environ.get(k) for k in ("FP_COLOR", "FP_ONLY_A", "FP_ONLY_B")} | {"atImport": AT_IMPORT}',
      ),
    };
    const a = await runtime(t);
    const b = await runtime(t);
    await a.specialize({ dir: await fnDir(t, files), env: { FP_COLOR: 'red', FP_ONLY_A: 'a' } });
    await b.specialize({ dir: await fnDir(t, files), env: { FP_COLOR: 'blue', FP_ONLY_B: 'b' } });
    const [ra, rb] = await Promise.all([a.invokeOk(), b.invokeOk()]);
    assert.deepEqual(bodyJson(ra), { FP_COLOR: 'red', FP_ONLY_A: 'a', FP_ONLY_B: null, atImport: 'red' });
    assert.deepEqual(bodyJson(rb), { FP_COLOR: 'blue', FP_ONLY_A: null, FP_ONLY_B: 'b', atImport: 'blue' });
  });

  // The C library read the time zone at the interpreter's start, before the env was set: TZ in the
  // env gave UTC's local time, where uvicorn started with TZ set gives the zone's (apps round 7).
  test('TZ in the env sets the local time zone, at import and in the handler, as at an interpreter\'s start', async (t) => {
    const files = {
      'main.py': py(
        'import datetime, time',
        'AT_IMPORT = list(time.tzname)',
        'def handler(event, context):',
        '    winter = time.localtime(1704067200)  # 2024-01-01T00:00:00Z',
        '    return {"atImport": AT_IMPORT, "tzname": list(time.tzname), "winterHour": winter.tm_hour,',
        '            "offset": datetime.datetime(2024, 7, 1, 12).astimezone().utcoffset().total_seconds()}',
      ),
    };
    const rt = await runtime(t);
    await rt.specialize({ dir: await fnDir(t, files), env: { TZ: 'Europe/Paris' } });
    assert.deepEqual(bodyJson(await rt.invokeOk()), { atImport: ['CET', 'CEST'], tzname: ['CET', 'CEST'], winterHour: 1, offset: 7200 });
  });

  // The interpreter started long before (with -I): PYTHONPATH and PYTHONWARNINGS in the function's
  // env did nothing, where `python`/uvicorn started with them apply both (apps round 6, ADR 0095).
  test('PYTHONPATH (relative to the code) and PYTHONWARNINGS in the env apply to the function, as at an interpreter\'s start', async (t) => {
    const files = {
      'lib/extra.py': 'WHERE = "lib"\n',
      'main.py': py(
        'import sys, warnings',
        'import extra',
        'def handler(event, context):',
        '    try:',
        '        warnings.warn("careful", UserWarning)',
        '        warned = "ignored"',
        '    except UserWarning:',
        '        warned = "raised"',
        '    return {"extra": extra.WHERE, "warned": warned, "libFirst": sys.path.index(extra.__file__.rsplit("/", 1)[0]) < 3}',
      ),
    };
    const rt = await runtime(t);
    await rt.specialize({ dir: await fnDir(t, files), env: { PYTHONPATH: 'lib', PYTHONWARNINGS: 'error::UserWarning' } });
    assert.deepEqual(bodyJson(await rt.invokeOk()), { extra: 'lib', warned: 'raised', libFirst: true });
  });

  // A module parsing its arguments at import (argparse, absl) read the runtime's own command line
  // (`--fd 3 --preset …`) and exited (apps round 6 of 2026-12-05).
  test('sys.argv is a bare interpreter\'s ([""]) at import and in calls: argparse at import sees no arguments', async (t) => {
    const files = {
      'main.py': py(
        'import argparse, sys',
        'ARGS = vars(argparse.ArgumentParser().parse_args())',
        'AT_IMPORT = list(sys.argv)',
        'def handler(event, context):',
        '    return {"atImport": AT_IMPORT, "now": sys.argv, "args": ARGS}',
      ),
    };
    const rt = await runtime(t);
    await rt.specialize({ dir: await fnDir(t, files) });
    assert.deepEqual(bodyJson(await rt.invokeOk()), { atImport: [''], now: [''], args: {} });
  });
});

describe('malformed frames', () => {
  const notMsgpack = (): Buffer => {
    // 0xc1 is the one byte msgpack never uses.
    const frame = Buffer.alloc(4 + 3);
    frame.writeUInt32BE(3, 0);
    frame.set([0xc1, 0xc1, 0xc1], 4);
    return frame;
  };

  async function inEveryPhase(t: TestContext, check: (rt: RuntimeHandle, phase: string) => Promise<void>): Promise<void> {
    const generic = await runtime(t);
    await check(generic, 'generic');
    for (const [phase, files] of [['sync', SYNC], ['async', ASYNC]] as const) {
      const rt = await runtime(t);
      await rt.specialize({ dir: await fnDir(t, files) });
      await check(rt, phase);
      // Still serving calls afterwards.
      assert.deepEqual(bodyJson(await rt.invokeOk()), { ok: true }, phase);
    }
  }

  test('a frame that is not msgpack gets protocol_error (id 0) and the runtime still answers health', async (t) => {
    await inEveryPhase(t, async (rt, phase) => {
      rt.sendRaw(notMsgpack());
      assertProtocolError(await rt.reply(0), 0);
      const health = await rt.health();
      assert.equal(health.ok, true, phase);
    });
  });

  test('a message without t or id, or not a map, gets protocol_error echoing the id when present', async (t) => {
    await inEveryPhase(t, async (rt) => {
      rt.send({ id: 7 });
      assertProtocolError(await rt.reply(7), 7);
      rt.send({ t: 'health' });
      assertProtocolError(await rt.reply(0), 0);
      rt.send({ t: 'health', id: 'eight' });
      assertProtocolError(await rt.reply(0), 0);
      rt.send([1, 2, 3]);
      assertProtocolError(await rt.reply(0), 0);
      // Protocol v4: an invoke array of the wrong length gets protocol_error echoing its id.
      rt.send(['invoke', 11, 'r']);
      assertProtocolError(await rt.reply(11), 11);
      rt.send({ t: 'no-such-message', id: 9 });
      assertProtocolError(await rt.reply(9), 9);
      assert.equal((await rt.health()).ok, true);
    });
  });

  test('invoke before specialize gets protocol_error with its id; specialize still works after', async (t) => {
    const rt = await runtime(t);
    const reply = await rt.invoke();
    assertProtocolError(reply, (reply as ErrorReply).id);
    assert.equal(rt.exitStatus, null);
    await rt.specialize({ dir: await fnDir(t, SYNC) });
    assert.deepEqual(bodyJson(await rt.invokeOk()), { ok: true });
  });

  test('a second specialize gets protocol_error and the first function keeps serving', async (t) => {
    for (const files of [SYNC, ASYNC]) {
      const rt = await runtime(t);
      const dir = await fnDir(t, files);
      await rt.specialize({ dir });
      const again = await rt.specializeRaw({ dir });
      assertProtocolError(again, again.id);
      assert.deepEqual(bodyJson(await rt.invokeOk()), { ok: true });
    }
  });

  test('an invoke without an event map gets protocol_error, not a user error', async (t) => {
    for (const files of [SYNC, ASYNC]) {
      const rt = await runtime(t);
      await rt.specialize({ dir: await fnDir(t, files) });
      assertProtocolError(await rt.request({ t: 'invoke', id: 21, context: { requestId: 'r', timeoutMs: 1000, attempt: 1 } }), 21);
      assertProtocolError(await rt.request({ t: 'invoke', id: 22, event: 'nope', context: {} }), 22);
      assert.deepEqual(bodyJson(await rt.invokeOk()), { ok: true });
    }
  });

  test('a frame split into single bytes is reassembled', async (t) => {
    // In every phase: the blocking reads and the asyncio phase's reader callback (Conn.listen).
    await inEveryPhase(t, async (rt, phase) => {
      const id = rt.id();
      const frame = encodeFrame({ t: 'health', id });
      for (const byte of frame) rt.sendRaw(Uint8Array.of(byte));
      const reply = await rt.reply(id);
      assert.equal(reply.t, 'health', phase);
    });
  });

  test('a length prefix over 64 MiB gets protocol_error (id 0), then the process exits 3', async (t) => {
    await (async () => {
      const generic = await runtime(t);
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
      generic.sendRaw(prefix);
      assertProtocolError(await generic.reply(0), 0);
      assert.deepEqual(await generic.waitExit(), { code: 3, signal: null });
    })();
    for (const files of [SYNC, ASYNC]) {
      const rt = await runtime(t);
      await rt.specialize({ dir: await fnDir(t, files), concurrency: 2 });
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(0xffff_ffff, 0);
      rt.sendRaw(prefix);
      assertProtocolError(await rt.reply(0), 0);
      assert.deepEqual(await rt.waitExit(), { code: 3, signal: null });
    }
  });

  test('an oversized length prefix ends the runtime at once, even with a sync call in flight', async (t) => {
    const rt = await runtime(t);
    await rt.specialize({
      // A call that never ends by itself: the runtime's exit cannot have waited for it.
      dir: await fnDir(t, { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(3600)', '    return 1') }),
      concurrency: 2,
    });
    const call = rt.invoke({}, {}, 60_000).catch((err: Error) => err);
    while ((await rt.health()).inflight === 0); // the call is running in a pool thread
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
    rt.sendRaw(prefix);
    assertProtocolError(await rt.reply(0), 0);
    assert.deepEqual(await rt.waitExit(30_000), { code: 3, signal: null });
    assert.ok((await call) instanceof Error, 'the in-flight call cannot complete');
  });
});

describe('waiting for the next call', () => {
  // x86-64 system call numbers (another architecture skips the test).
  const SYSCALLS = { poll: 7, ppoll: 271, recvfrom: 45 } as const;

  /** The pid and its descendants (the sandbox's keeper, then the runtime under it). */
  function tree(pid: number): number[] {
    let children: number[] = [];
    try {
      children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      // gone
    }
    return [pid, ...children.flatMap(tree)];
  }

  test('a box killed by SIGKILL (the OOM killer) ends its keeper by SIGKILL too, not in a traceback and exit 1', async (t) => {
    const rt = await runtime(t);
    await rt.specialize({ dir: await fnDir(t, SYNC) });
    const [, inside] = tree(rt.pid); // the keeper's child: the box
    if (inside === undefined) {
      t.skip('no sandbox keeper here (not root)');
      return;
    }
    process.kill(inside, 'SIGKILL');
    assert.deepEqual(await rt.waitExit(15_000), { code: null, signal: 'SIGKILL' });
  });

  test('an idle sync runtime waits in poll(), not recv(): reading its reply does not wake it', { skip: process.arch !== 'x64' }, async (t) => {
    // A reader blocked in recv() on a Unix stream socket is woken (and sleeps again) each time the
    // peer reads what it wrote, so every call cost the runtime a second wake-up while the gateway
    // handled its reply; poll(POLLIN) sleeps through those (fp_runtime/conn.py, issue 11).
    const rt = await runtime(t);
    await rt.specialize({ dir: await fnDir(t, SYNC) });
    for (let i = 0; i < 3; i++) await rt.invokeOk();
    let waits: number[] = [];
    for (let attempt = 0; attempt < 200; attempt++) {
      // A process on a CPU reads `running`; the idle runtime shows the call it sleeps in.
      waits = tree(rt.pid).map((pid) => Number(readFileSync(`/proc/${pid}/syscall`, 'utf8').split(' ')[0]));
      if (waits.includes(SYSCALLS.poll) || waits.includes(SYSCALLS.ppoll)) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(waits.includes(SYSCALLS.poll) || waits.includes(SYSCALLS.ppoll), `system calls waited in: ${waits.join(', ')}`);
    assert.ok(!waits.includes(SYSCALLS.recvfrom), `system calls waited in: ${waits.join(', ')}`);
  });
});
