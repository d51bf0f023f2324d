import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { confirmOrStop } from '../../cli/confirm.js';
import type { Context } from '../../cli/context.js';

const what = { question: 'Drop x? [y/N] ', noTerminal: 'pass --yes', declined: 'nothing was dropped' };
/** Only `io.confirm` is read. */
const ctx = (confirm?: (q: string) => Promise<boolean>): Context => ({ io: confirm === undefined ? {} : { confirm } }) as unknown as Context;
const args = (yes: boolean) => ({ values: yes ? { yes: true } : {}, positionals: [] });

describe('confirmOrStop', () => {
  it('goes ahead with --yes without asking', async () => {
    await confirmOrStop(ctx(async () => assert.fail('asked')), args(true), what);
  });

  it('asks a terminal, and a yes goes ahead', async () => {
    const asked: string[] = [];
    await confirmOrStop(ctx(async (q) => { asked.push(q); return true; }), args(false), what);
    assert.deepEqual(asked, ['Drop x? [y/N] ']);
  });

  it('a no stops with NOT_CONFIRMED (exit 1); no terminal stops with CONFIRMATION_REQUIRED (exit 2)', async () => {
    await assert.rejects(confirmOrStop(ctx(async () => false), args(false), what), { code: 'NOT_CONFIRMED', exitCode: 1, message: 'nothing was dropped' });
    await assert.rejects(confirmOrStop(ctx(), args(false), what), { code: 'CONFIRMATION_REQUIRED', exitCode: 2, message: 'pass --yes' });
  });
});
