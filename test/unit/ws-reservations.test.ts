/** What upgraded WebSocket connections reserve for the message uWS joins unseen (gateway/ws-reservations.ts, uws-adapter rule 13, ADR 0198). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteBudget, type Holder } from '../../gateway/byte-budget.js';
import { refusalResponse } from '../../gateway/uws-head.js';
import { defaultWsReservedBytes, upgradeRefused, WS_RESERVE_RETRY_AFTER_S } from '../../gateway/ws-reservations.js';
import { loadConfig, gatewaySettings } from '../../platform/config.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const socket = (): Holder => ({ cut: () => assert.fail('a reservation is never cut') });

describe('WebSocket reservations', () => {
  it('default to an eighth of the memory, at least 64 MiB: 3 GiB on 24 GiB, 128 MiB in a 1 GiB container', () => {
    assert.equal(defaultWsReservedBytes(24 * GIB), 3 * GIB);
    assert.equal(defaultWsReservedBytes(GIB), 128 * MIB);
    assert.equal(defaultWsReservedBytes(256 * MIB), 64 * MIB);
    assert.ok(defaultWsReservedBytes() >= 64 * MIB);
  });

  it('one function reserves a quarter, one workspace a half; another workspace still fits; each refusal names its scope and asks to retry', () => {
    // Functions `a` and `b` of workspace `t`, `c` of workspace `u` (the gateway's shareGroup).
    const budget = new ByteBudget(128 * MIB, () => 0, (share) => share.split('.')[1] ?? null);
    const take = (share: string) => {
      const s = socket();
      if (!budget.hold(s, 16 * MIB, share)) return upgradeRefused(budget, share, 16 * MIB);
      budget.settle(s);
      return null;
    };
    assert.equal(take('a.t'), null);
    assert.equal(take('a.t'), null);
    const fn = take('a.t');
    assert.deepEqual([fn?.code, fn?.status, fn?.details['scope'], fn?.details['limitBytes']], ['GATEWAY_OVERLOADED', 503, 'function', 32 * MIB]);
    assert.equal(take('b.t'), null);
    assert.equal(take('b.t'), null);
    const ws = take('b2.t');
    assert.deepEqual([ws?.details['scope'], ws?.details['limitBytes']], ['workspace', 64 * MIB]);
    for (let i = 0; i < 2; i++) assert.equal(take(`c${i}.u`), null);
    assert.equal(take('c2.u'), null);
    assert.equal(take('c3.u'), null);
    const all = take('d.v');
    assert.deepEqual([all?.details['scope'], all?.details['limitBytes']], ['gateway', 128 * MIB]);
    // The refusal carries its Retry-After (uws-head's padded refusal, the connection closed).
    const out = refusalResponse(all!);
    assert.equal(out.status, 503);
    assert.deepEqual(out.headers.find(([name]) => name === 'retry-after'), ['retry-after', String(WS_RESERVE_RETRY_AFTER_S)]);
    assert.equal(out.closeConnection, true);
    budget.sweep(); // settled: never timed as slow clients
  });

  it('are set by FP_WS_RESERVED_BYTES and FP_WS_MAX_MESSAGE_BYTES (1 MiB by default, at most 16 MiB)', () => {
    const plain = gatewaySettings(loadConfig({}));
    assert.equal(plain.wsMaxMessageBytes, MIB);
    assert.equal(plain.maxWsReservedBytes, undefined);
    const set = gatewaySettings(loadConfig({ FP_WS_RESERVED_BYTES: String(256 * MIB), FP_WS_MAX_MESSAGE_BYTES: String(16 * MIB) }));
    assert.deepEqual([set.maxWsReservedBytes, set.wsMaxMessageBytes], [256 * MIB, 16 * MIB]);
    assert.throws(() => loadConfig({ FP_WS_MAX_MESSAGE_BYTES: String(16 * MIB + 1) }), /FP_WS_MAX_MESSAGE_BYTES/);
  });
});
