/**
 * When collections run (controlplane/service/collector.ts): first after `firstMs`, then every
 * `everyMs`; `soon()` brings the next one forward but never puts one off; one at a time; `stop()`
 * waits for the one running and no other starts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Collector } from '../../controlplane/service/collector.js';

/** Waits until `test` holds (a budget for a loaded machine, not a timing assertion). */
async function until(test: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await sleep(5);
  }
}

describe('Collector', () => {
  it('runs first after firstMs, then again every everyMs', async () => {
    let runs = 0;
    const c = new Collector(async () => void runs++, 20, 20);
    c.start();
    assert.equal(runs, 0);
    await until(() => runs >= 1, 'a first collection');
    await until(() => runs >= 3, 'the next ones');
    await c.stop();
  });

  it('soon() brings the next collection forward, and calls in a row do not keep putting it off', async () => {
    let runs = 0;
    const c = new Collector(async () => void runs++, 60_000, 60_000, 50);
    c.start();
    // Asked again every 5 ms: a request that moved the collection each time would never let it run.
    await until(() => {
      c.soon();
      return runs === 1;
    }, 'a collection within soonMs of the first request');
    await c.stop();
  });

  it('stop() waits for the collection running, and no other starts', async () => {
    let running = 0;
    let ended = 0;
    const c = new Collector(async () => {
      running++;
      await sleep(50);
      ended++;
    }, 1, 1);
    c.start();
    await until(() => running >= 1, 'a collection running');
    await c.stop();
    const started = running;
    assert.equal(ended, started, 'stop() returned before the running collection ended');
    await sleep(30);
    assert.equal(running, started, 'a collection started after stop()');
  });
});
