/**
 * Chaos round 6 (ADR 0264): a scheduler process killed with SIGKILL between winning a cron tick's
 * claim and queueing its run. Before, the tick was lost: its claim stayed held (10 minutes) and
 * no scheduler fired it. Now the scheduler that starts next (the restart) fires the claimed,
 * never-settled ticks of the last `maxLateMs`, on the embedded SQLite lock and on real Redis.
 * The kill is real: the child's `fire` kills its own process, after the claim, before any queue.
 * A restart later than `maxLateMs` does not fire such a tick: it tells it as missed, once (loose
 * ends round 10: it was dropped without a trace), which the platform records as a CRON_TICK_MISSED run.
 * A platform stopped past several ticks, and past the claims' 10 minutes, tells the ticks nobody
 * claimed as one summary per trigger (loose ends round 12, ADR 0238: they were lost silently).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CronScheduler, openSqliteTickLock, redisTickLock, type MissedTicks, type TickLock } from '../../controlplane/async/index.js';
import { connectRedis, redisReady } from '../../controlplane/store/production/redis-client.js';
import { serverSkip, startRedis, type ServerProcess } from '../helpers/servers.js';

const asyncIndex = new URL('../../controlplane/async/index.js', import.meta.url).href;
const redisClient = new URL('../../controlplane/store/production/redis-client.js', import.meta.url).href;
const TRIGGER = { function: 'beat', triggerId: 'sec', expression: '* * * * * *' };

/** Runs a scheduler in a child whose first claimed tick kills it (SIGKILL); resolves the tick it died in. */
async function killedAfterClaim(lockSource: string, dir: string): Promise<number> {
  const out = join(dir, 'killed-tick');
  const source = `
    import { writeFileSync } from 'node:fs';
    import { CronScheduler, openSqliteTickLock, redisTickLock } from ${JSON.stringify(asyncIndex)};
    import { connectRedis, redisReady } from ${JSON.stringify(redisClient)};
    const lock = ${lockSource};
    const s = new CronScheduler({ lock, fire: (_t, tick) => { writeFileSync(${JSON.stringify(out)}, String(tick)); process.kill(process.pid, 'SIGKILL'); } });
    s.set(${JSON.stringify(TRIGGER)});
    s.start();
    setTimeout(() => {}, 20_000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'ignore', 'inherit'] });
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
  assert.equal(signal, 'SIGKILL');
  return Number(readFileSync(out, 'utf8'));
}

/** A restarted scheduler on the same lock store: the ticks it fires (and tells as missed) in its first ~1.5 s. */
async function restart(lock: TickLock, maxLateMs?: number): Promise<{ fired: number[]; missed: number[] }> {
  const fired: number[] = [];
  const missed: number[] = [];
  const s = new CronScheduler({ lock, fire: (_t, tick) => void fired.push(tick), missed: (_t, tick) => void missed.push(tick), ...(maxLateMs !== undefined ? { maxLateMs } : {}) });
  s.set(TRIGGER);
  s.start();
  await new Promise((r) => setTimeout(r, 1500));
  await s.stop();
  await lock.close();
  return { fired, missed };
}
const restartFires = async (lock: TickLock): Promise<number[]> => (await restart(lock)).fired;

/** Down longer than `maxLateMs` (500 ms here): the killed tick is not fired, it is told as missed, and once. */
async function missedOnce(tick: number, lock: () => TickLock | Promise<TickLock>): Promise<void> {
  await new Promise((r) => setTimeout(r, Math.max(0, tick + 800 - Date.now())));
  const first = await restart(await lock(), 500);
  assert.ok(!first.fired.includes(tick), `the killed tick ${tick} was fired ${first.fired.length} ticks later than maxLateMs`);
  assert.deepEqual(first.missed, [tick], 'the killed tick is told as missed');
  const again = await restart(await lock(), 500);
  assert.deepEqual(again.missed, [], 'a missed tick is told once');
}

const FIVE_MIN = 300_000;
const EVERY_5_MIN = { function: 'beat', triggerId: 'five', expression: '0 */5 * * * *' };

/**
 * A scheduler of EVERY_5_MIN on the harness's clock (`Date.now() + offsetMs`) for 1.5 s, longer (up
 * to 15 s, a loaded machine) until `done`: the outages it tells, the ticks it fires.
 */
async function runAt(lock: TickLock, offsetMs: number, done: (r: { outages: MissedTicks[]; fired: number[] }) => boolean = () => true): Promise<{ outages: MissedTicks[]; fired: number[]; missed: number[] }> {
  const outages: MissedTicks[] = [];
  const fired: number[] = [];
  const missed: number[] = [];
  const s = new CronScheduler({
    lock, now: () => Date.now() + offsetMs,
    fire: (_t, tick) => void fired.push(tick), missed: (_t, tick) => void missed.push(tick), outage: (_t, ticks) => void outages.push(ticks),
  });
  s.set(EVERY_5_MIN);
  s.start();
  await new Promise((r) => setTimeout(r, 1500));
  for (const deadline = Date.now() + 15_000; !done({ outages, fired }) && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
  await s.stop();
  return { outages, fired, missed };
}

/**
 * Fires one tick of EVERY_5_MIN (the clock set 800 ms before a 5-minute boundary), then restarts
 * 62 minutes later: the 12 ticks between were claimed by nobody and are told as one summary, once.
 */
async function outageTold(open: () => TickLock | Promise<TickLock>): Promise<void> {
  let lock = await open();
  const boundary = Math.ceil((Date.now() + FIVE_MIN) / FIVE_MIN) * FIVE_MIN;
  const offset = boundary - 800 - Date.now();
  const before = await runAt(lock, offset, (r) => r.fired.length > 0);
  await lock.close();
  assert.deepEqual(before.fired, [boundary], 'the tick before the outage fired');
  assert.deepEqual(before.outages, [], 'nothing was missed before the outage');
  const down = offset + 62 * 60_000;
  lock = await open();
  const after1 = await runAt(lock, down, (r) => r.outages.length > 0);
  await lock.close();
  assert.deepEqual(after1.outages, [{ firstMs: boundary + FIVE_MIN, lastMs: boundary + 12 * FIVE_MIN, count: 12, more: false, cause: 'down' }], 'one summary of the 12 ticks nobody claimed');
  assert.deepEqual(after1.missed, [], 'no record per tick');
  lock = await open();
  const note = await lock.note!({ function: 'beat', triggerId: 'five' });
  assert.deepEqual(note, { lastTickMs: boundary + 12 * FIVE_MIN, lastMissedMs: boundary + 12 * FIVE_MIN, missedSinceFired: 12 }, 'the note lists them');
  const again = await runAt(lock, down + 2000);
  await lock.close();
  assert.deepEqual(again.outages, [], 'an outage is told once');
}

describe('a cron tick claimed by a process killed before it queued the run', () => {
  it('a platform down past several ticks and the claims\' 10 minutes tells them as one summary (embedded SQLite lock)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-cron-crash-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    await outageTold(() => openSqliteTickLock({ stateDir: dir }));
  });

  it('is fired by the next scheduler to start (embedded SQLite lock)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-cron-crash-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const tick = await killedAfterClaim(`openSqliteTickLock({ stateDir: ${JSON.stringify(dir)} })`, dir);
    const fired = await restartFires(openSqliteTickLock({ stateDir: dir }));
    assert.ok(fired.includes(tick), `the killed tick ${tick} was not fired again: ${JSON.stringify(fired)}`);
    assert.equal(new Set(fired).size, fired.length, 'a tick fired twice');
    // Settled now: a second restart fires it no more.
    const again = await restartFires(openSqliteTickLock({ stateDir: dir }));
    assert.ok(!again.includes(tick), `the recovered tick ${tick} was fired a third time`);
  });

  it('is told as missed, not fired, by a scheduler starting past maxLateMs (embedded SQLite lock)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-cron-crash-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const tick = await killedAfterClaim(`openSqliteTickLock({ stateDir: ${JSON.stringify(dir)} })`, dir);
    await missedOnce(tick, () => openSqliteTickLock({ stateDir: dir }));
  });

  const skip = serverSkip('redis-server');
  it('is fired by the next scheduler to start (Redis lock)', { skip }, async () => {
    const redis: ServerProcess = await startRedis();
    after(() => redis.destroy());
    const dir = mkdtempSync(join(tmpdir(), 'fp-cron-crash-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const prefix = `t${randomBytes(4).toString('hex')}`;
    const lockSource = `await (async () => { const client = connectRedis(${JSON.stringify(redis.url)}); await redisReady(client); return redisTickLock({ client, ownsClient: true, prefix: ${JSON.stringify(prefix)} }); })()`;
    const tick = await killedAfterClaim(lockSource, dir);
    const client = connectRedis(redis.url);
    await redisReady(client);
    const fired = await restartFires(redisTickLock({ client, ownsClient: true, prefix }));
    assert.ok(fired.includes(tick), `the killed tick ${tick} was not fired again: ${JSON.stringify(fired)}`);
    assert.equal(new Set(fired).size, fired.length, 'a tick fired twice');
    // Killed again, back past maxLateMs: told as missed, once.
    const late = await killedAfterClaim(lockSource, dir);
    await missedOnce(late, async () => {
      const c = connectRedis(redis.url);
      await redisReady(c);
      return redisTickLock({ client: c, ownsClient: true, prefix });
    });
    // Down an hour: the ticks nobody claimed, one summary (ADR 0238).
    const outagePrefix = `${prefix}o`;
    await outageTold(async () => {
      const c = connectRedis(redis.url);
      await redisReady(c);
      return redisTickLock({ client: c, ownsClient: true, prefix: outagePrefix });
    });
  });
});
