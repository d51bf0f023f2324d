/**
 * Red team round 35: `GET /functions/{name}/triggers` (any viewer) lists each cron trigger's next
 * five fire times, and the cron library finds each by stepping luxon dates on the event loop (ms
 * per tick, years of steps for a rare date). A function with 32 triggers on
 * 29 February (a date that comes, so the manifest is taken) held every tenant's calls and API for
 * seconds per listing, as often as a viewer asked; and a listing asked more than 8 years ahead of
 * today (the library's horizon) answered 500.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFunction, deploy, fnName, py, upload, usePlatform } from './platform-harness.js';

const h = usePlatform({ poolSize: 1 });

const GOOD = py('def handler(event, context):', '    return {"ok": True}');

async function deployCrons(name: string, schedules: string[]): Promise<void> {
  const triggers = schedules.map((schedule, i) => ({ type: 'cron', id: `c${i}`, schedule }));
  await createFunction(h.api, name);
  await upload(h.api, name, { 'main.py': GOOD }, { manifest: { kind: 'function', name, triggers } });
  await deploy(h.api, name);
}

describe('cron fire times in the triggers listing (red team round 35)', () => {
  it('32 triggers on 29 February: a listing asked again takes little of the event loop (was ~0.5-3 s each)', async () => {
    const name = fnName('feb');
    await deployCrons(name, Array.from({ length: 32 }, (_, i) => `${i} ${i % 24} 29 2 *`));
    const first = await h.api.call('GET', `/functions/${name}/triggers`);
    assert.equal(first.status, 200, JSON.stringify(first.body).slice(0, 300));
    const started = performance.now();
    for (let i = 0; i < 5; i++) assert.equal((await h.api.call('GET', `/functions/${name}/triggers`)).status, 200);
    const ms = (performance.now() - started) / 5;
    assert.ok(ms < 100, `a listing took ${ms.toFixed(0)} ms`);
  });

  it('a date that comes every four years lists the fires within reach, no 500 (was 500 at the third, 8 years from today)', async () => {
    const name = fnName('leap');
    await deployCrons(name, ['0 0 29 2 *']);
    const res = await h.api.call('GET', `/functions/${name}/triggers`);
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
    const cron = res.body.items.find((t: { type: string }) => t.type === 'cron');
    assert.ok(cron.nextFires.length >= 1 && cron.nextFires.length <= 5, JSON.stringify(cron));
    for (const t of cron.nextFires) assert.equal(new Date(t).toISOString().slice(4, 16), '-02-29T00:00');
    assert.ok(cron.nextFires.every((t: number, i: number) => i === 0 || t > cron.nextFires[i - 1]));
  });
});
