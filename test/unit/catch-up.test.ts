/**
 * The bounds of a call's store read for a function not served here (controlplane/service/catch-up.ts,
 * ADR 0117): callers choose the names, so only function keys are read, one read per name at a
 * time, at most CATCH_UP_PER_SECOND started per second and CATCH_UP_MAX_READS at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CATCH_UP_MAX_READS, CATCH_UP_PER_SECOND, storeCatchUp } from '../../controlplane/service/catch-up.js';
import type { ServiceContext } from '../../controlplane/service/context.js';

/** A context whose store holds no function; `held` reads stay open until released. */
function context(held = false): { ctx: ServiceContext; reads: string[]; release(): void } {
  const reads: string[] = [];
  let release = (): void => {};
  const gate = new Promise<void>((resolve) => { release = resolve; });
  const ctx = {
    store: { functions: { get: async (name: string) => { reads.push(name); if (held) await gate; return null; } } },
    log: () => {},
  } as unknown as ServiceContext;
  return { ctx, reads, release: () => release() };
}

describe('catch-up reads', () => {
  it('reads only function keys', async () => {
    const { ctx, reads } = context();
    const catchUp = storeCatchUp(ctx);
    for (const name of ['../etc', 'A', 'x.default', '', 'a'.repeat(64)]) assert.equal(catchUp(name), null, name);
    await catchUp('shop.acme');
    assert.deepEqual(reads, ['shop.acme']);
  });

  it('shares one read among the callers of a name, and runs at most CATCH_UP_MAX_READS at once', async () => {
    const { ctx, reads, release } = context(true);
    const catchUp = storeCatchUp(ctx);
    const waiting = [catchUp('a'), catchUp('a'), catchUp('a')];
    assert.ok(waiting.every((p) => p !== null));
    assert.deepEqual(reads, ['a']);
    for (let i = 1; i < CATCH_UP_MAX_READS; i++) assert.notEqual(catchUp(`f${i}`), null);
    assert.equal(catchUp('one-too-many'), null);
    release();
    await Promise.all(waiting);
    assert.equal(reads.length, CATCH_UP_MAX_READS);
  });

  it('starts at most CATCH_UP_PER_SECOND reads a second', async () => {
    const { ctx, reads } = context();
    let now = 1_000_000;
    const catchUp = storeCatchUp(ctx, () => now);
    let started = 0;
    for (let i = 0; i < CATCH_UP_PER_SECOND * 3; i++) {
      const read = catchUp(`f${i}`);
      if (read !== null) {
        started++;
        await read;
      }
    }
    assert.equal(started, CATCH_UP_PER_SECOND);
    now += 500;
    let later = 0;
    for (let i = 0; i < CATCH_UP_PER_SECOND; i++) {
      const read = catchUp(`g${i}`);
      if (read !== null) {
        later++;
        await read;
      }
    }
    assert.equal(later, CATCH_UP_PER_SECOND / 2);
    assert.equal(reads.length, CATCH_UP_PER_SECOND * 1.5);
  });
});
