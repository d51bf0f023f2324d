/**
 * Pure parts of the pool manager: the class→code table, option defaults, function limits and
 * the wait queue. No processes here (those are in test/integration/poolmgr-*.test.ts).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, mock } from 'node:test';
import { ERROR_CLASSES, ERRORS } from '../../protocol/index.js';
import { defaultPoolConfig, FUNCTION_DEFAULTS, runtimeChildEnv, runtimePath } from '../../poolmgr/index.js';
import { FunctionGroup } from '../../poolmgr/group.js';
import { CODE_FOR_CLASS, fromWireError } from '../../poolmgr/outcome.js';
import type { FunctionVersion } from '../../poolmgr/types.js';
import { TimedWaitQueue, WaitQueue, type Deadlined, type QueueLinks } from '../../poolmgr/wait-queue.js';

describe('poolmgr error classes', () => {
  it('maps every runtime error class to a registered code', () => {
    for (const cls of ERROR_CLASSES) assert.ok(CODE_FOR_CLASS[cls] in ERRORS, cls);
    assert.equal(CODE_FOR_CLASS.user_error, 'FUNCTION_ERROR');
    assert.equal(CODE_FOR_CLASS.init_error, 'FUNCTION_INIT_FAILED');
    assert.equal(CODE_FOR_CLASS.timeout, 'FUNCTION_TIMEOUT');
    assert.equal(CODE_FOR_CLASS.out_of_memory, 'FUNCTION_OUT_OF_MEMORY');
    assert.equal(CODE_FOR_CLASS.crash, 'RUNTIME_CRASHED');
    assert.equal(CODE_FOR_CLASS.bad_return, 'FUNCTION_BAD_RESPONSE');
    assert.equal(CODE_FOR_CLASS.protocol_error, 'RUNTIME_PROTOCOL_ERROR');
  });

  it('keeps the user frame of a runtime error and treats an unknown class as a protocol error', () => {
    const known = fromWireError({ class: 'user_error', type: 'KeyError', message: "'x'", file: 'main.py', line: 3 });
    assert.deepEqual(known, { code: 'FUNCTION_ERROR', class: 'user_error', type: 'KeyError', message: "'x'", file: 'main.py', line: 3 });
    // The data binding's server down under the function's exception: the platform's code, no class (as RUNTIME_UNAVAILABLE).
    const platform = fromWireError({ class: 'user_error', code: 'DATA_BACKEND_UNAVAILABLE', type: 'OperationFailure', message: 'DATA_BACKEND_UNAVAILABLE: …', file: 'main.py', line: 4 });
    assert.deepEqual(platform, { code: 'DATA_BACKEND_UNAVAILABLE', class: null, type: 'OperationFailure', message: 'DATA_BACKEND_UNAVAILABLE: …', file: 'main.py', line: 4 });
    // @ts-expect-error: a code the runtime may not name is ignored
    assert.equal(fromWireError({ class: 'user_error', code: 'INTERNAL_ERROR', type: 'X', message: 'y' }).code, 'FUNCTION_ERROR');
    // @ts-expect-error: a class outside the closed list, as a buggy runtime could send
    const unknown = fromWireError({ class: 'meltdown', type: 'X', message: 'y' });
    assert.equal(unknown.code, 'RUNTIME_PROTOCOL_ERROR');
  });
});

describe('poolmgr config', () => {
  it('has the documented defaults and finds the runtime from the repository root', () => {
    const config = defaultPoolConfig({}, { PATH: '/bin' });
    assert.equal(config.poolSize, 3);
    assert.equal(config.idleTimeoutMs, 300_000);
    assert.equal(config.reapIntervalMs, 1_000);
    assert.equal(config.spawnTimeoutMs, 10_000);
    assert.equal(config.initTimeoutMs, 10_000);
    assert.equal(config.debug, false);
    assert.deepEqual(config.childEnv, { PATH: '/bin', LANG: 'C.UTF-8' });
    assert.ok(config.pythonPath.endsWith(join('.venv', 'bin', 'python')));
    assert.ok(existsSync(config.runtimeEntry), config.runtimeEntry);
    assert.ok(Object.isFrozen(config));
  });

  it("gives runtimes PATH, LANG, the host's TLS trust settings that exist and the variables named, nothing else", () => {
    const env = {
      PATH: '/bin', LANG: 'en_US.UTF-8', SSL_CERT_FILE: '/etc/passwd', SSL_CERT_DIR: '/no/such/dir', REQUESTS_CA_BUNDLE: 'relative.pem',
      CURL_CA_BUNDLE: '/etc', HTTPS_PROXY: 'http://user:pw@proxy:3128', FP_ADMIN_TOKEN: 'secret', AWS_SECRET_ACCESS_KEY: 'k',
    };
    assert.deepEqual(runtimeChildEnv(env), { PATH: '/bin', LANG: 'en_US.UTF-8', SSL_CERT_FILE: '/etc/passwd', CURL_CA_BUNDLE: '/etc' });
    assert.deepEqual(runtimeChildEnv(env, ['HTTPS_PROXY', 'NO_PROXY']), { PATH: '/bin', LANG: 'en_US.UTF-8', SSL_CERT_FILE: '/etc/passwd', CURL_CA_BUNDLE: '/etc', HTTPS_PROXY: 'http://user:pw@proxy:3128' });
    assert.deepEqual(defaultPoolConfig({}, env).childEnv, runtimeChildEnv(env));
    assert.deepEqual(runtimeChildEnv({}), { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' });
  });

  it('gives runtimes the operator\'s PATH without what npm put before it (node_modules/.bin, node-gyp-bin)', () => {
    const npm = '/srv/fp/node_modules/.bin:/srv/node_modules/.bin:/node_modules/.bin:/usr/lib/node_modules/npm/node_modules/@npmcli/run-script/lib/node-gyp-bin:/opt/node/bin:/usr/bin:/bin';
    assert.equal(runtimePath(npm), '/opt/node/bin:/usr/bin:/bin');
    assert.equal(runtimeChildEnv({ PATH: npm }).PATH, '/opt/node/bin:/usr/bin:/bin');
    assert.equal(runtimePath('/srv/node_modules/.bin'), '/usr/local/bin:/usr/bin:/bin');
    assert.equal(runtimePath('::/usr/bin:'), '/usr/bin');
    assert.equal(runtimePath(undefined), '/usr/local/bin:/usr/bin:/bin');
  });

  it('applies overrides and reads FP_DEBUG from the environment it is given', () => {
    const config = defaultPoolConfig({ poolSize: 0 }, { FP_DEBUG: '1' });
    assert.equal(config.poolSize, 0);
    assert.equal(config.debug, true);
    assert.equal(defaultPoolConfig({}, { FP_DEBUG: '0' }).debug, false);
  });
});

describe('poolmgr function limits', () => {
  const base: FunctionVersion = {
    name: 'f', version: 'v1', dir: '/tmp/f', entrypoint: 'main:handler', env: { A: '1' }, memoryBytes: 0,
    timeoutMs: 1_000, concurrency: 0, maxInstances: 0, minWarm: -1, maxQueue: -1,
  };

  it('falls back to the defaults for missing or invalid limits', () => {
    const group = new FunctionGroup('f@v1', base);
    assert.deepEqual(group.limits, { ...FUNCTION_DEFAULTS, timeoutMs: 1_000 });
  });

  it('sends the runtime only the FunctionSpec fields at specialize', () => {
    const group = new FunctionGroup('f@v1', { ...base, concurrency: 4, memoryBytes: 64 << 20 });
    assert.deepEqual(Object.keys(group.spec).sort(),
      ['concurrency', 'dir', 'entrypoint', 'env', 'memoryBytes', 'name', 'timeoutMs', 'version']);
    assert.equal(group.spec.concurrency, 4);
    assert.equal(group.spec.memoryBytes, 64 << 20);
  });

  it('caps a timeout at what a timer can wait', () => {
    const group = new FunctionGroup('f@v1', { ...base, timeoutMs: 10 ** 12 });
    assert.equal(group.limits.timeoutMs, 2 ** 31 - 1);
  });
});

describe('poolmgr wait queue', () => {
  class Item implements QueueLinks<Item> {
    prev: Item | null = null;
    next: Item | null = null;
    queuedIn: WaitQueue<Item> | null = null;
    constructor(readonly n: number) {}
  }
  const drain = (q: WaitQueue<Item>): number[] => {
    const out: number[] = [];
    for (let item = q.shift(); item !== null; item = q.shift()) out.push(item.n);
    return out;
  };

  it('is first in, first out', () => {
    const q = new WaitQueue<Item>();
    for (const n of [1, 2, 3]) q.push(new Item(n));
    assert.equal(q.length, 3);
    assert.deepEqual(drain(q), [1, 2, 3]);
    assert.equal(q.length, 0);
    assert.equal(q.head, null);
  });

  it('removes from the head, the middle and the tail, and ignores items it does not hold', () => {
    const q = new WaitQueue<Item>();
    const items = [1, 2, 3, 4, 5].map((n) => new Item(n));
    for (const item of items) q.push(item);
    q.remove(items[2]!);
    q.remove(items[0]!);
    q.remove(items[4]!);
    q.remove(items[4]!);
    q.remove(new Item(9));
    assert.equal(q.length, 2);
    q.push(new Item(6));
    assert.deepEqual(drain(q), [2, 4, 6]);
  });

  it('refuses an item that is already queued', () => {
    const q = new WaitQueue<Item>();
    const item = new Item(1);
    q.push(item);
    assert.throws(() => q.push(item));
  });
});

describe('poolmgr timed wait queue (one timer for every queued call\'s deadline)', () => {
  class Waiting implements QueueLinks<Waiting>, Deadlined {
    prev: Waiting | null = null;
    next: Waiting | null = null;
    queuedIn: TimedWaitQueue<Waiting> | null = null;
    deadline = Infinity;
    constructor(readonly n: number, private readonly expired: number[]) {}
    expire(): void {
      this.expired.push(this.n);
      this.queuedIn?.remove(this); // as Call.fail → leaveQueue does
    }
  }

  it('expires each item at its deadline, not before, with one timer; re-arms for the next; none when empty', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let clock = 0;
    const q = new TimedWaitQueue<Waiting>(() => clock);
    const expired: number[] = [];
    const add = (n: number, waitMs: number, first = false): Waiting => {
      const item = new Waiting(n, expired);
      if (first) q.unshift(item);
      else q.push(item);
      if (Number.isFinite(waitMs)) {
        item.deadline = clock + waitMs;
        q.watch(item.deadline);
      }
      return item;
    };
    const advance = (ms: number): void => {
      clock += ms;
      t.mock.timers.tick(ms);
    };
    const timeouts = mock.method(globalThis, 'setTimeout');
    add(1, 100);
    add(2, 100);
    advance(50);
    add(3, 100); // deadline 150
    add(4, Infinity); // no limit of its own
    add(5, 20, true); // jumps the line, deadline 70: the timer moves earlier
    assert.equal(timeouts.mock.callCount(), 2, 'one timer for the first deadline, one more only when an earlier one came');
    advance(19);
    assert.deepEqual(expired, []);
    advance(1);
    assert.deepEqual(expired, [5]);
    advance(29);
    assert.deepEqual(expired, [5], 'not before its deadline');
    advance(1);
    assert.deepEqual(expired, [5, 1, 2]);
    advance(50);
    assert.deepEqual(expired, [5, 1, 2, 3]);
    assert.equal(q.length, 1);
    advance(10_000);
    assert.deepEqual(expired, [5, 1, 2, 3], 'an item without a deadline waits');
    timeouts.mock.restore();
  });

  it('drops its timer when the queue empties, and an item that left never expires', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let clock = 0;
    const q = new TimedWaitQueue<Waiting>(() => clock);
    const expired: number[] = [];
    const a = new Waiting(1, expired);
    q.push(a);
    a.deadline = 100;
    q.watch(a.deadline);
    const cleared = mock.method(globalThis, 'clearTimeout');
    q.remove(a);
    assert.equal(cleared.mock.callCount(), 1, 'the queue emptied: its timer goes');
    cleared.mock.restore();
    clock = 200;
    t.mock.timers.tick(200);
    assert.deepEqual(expired, []);
    const b = new Waiting(2, expired);
    q.push(b);
    b.deadline = clock + 10;
    q.watch(b.deadline);
    clock += 10;
    t.mock.timers.tick(10);
    assert.deepEqual(expired, [2], 'armed again by the next item');
  });
});
