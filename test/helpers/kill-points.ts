/**
 * Kill points that exist only in tests (chaos round 7, as ADR 0264's): preloaded into a platform
 * process (`node --import`), this SIGKILLs that process at the step the file named by
 * `KILL_POINT_MARKER` names, while that file exists:
 * - `function`, `tokens`, `workspace`: about to publish such a change on the config bus (both
 *   modes' buses): the store holds the change (a deploy's or a revoke's write is done), the other
 *   processes were told nothing;
 * - `result`: an async attempt's result was stored (embedded SQLite or production Redis), its
 *   final state not written, its job not acked.
 */
import { readFileSync } from 'node:fs';
import { RedisAsyncRuns } from '../../controlplane/async/runs/index.js';
import { SqliteAsyncRuns } from '../../controlplane/async/runs/runs-sqlite.js';
import { LocalConfigBus, type ConfigChange } from '../../controlplane/store/index.js';
import { RedisConfigBus } from '../../controlplane/store/production/config-bus.js';

const marker = process.env['KILL_POINT_MARKER'];

/** The step the marker file names; null without the file. */
function armedFor(): string | null {
  if (marker === undefined) return null;
  try {
    return readFileSync(marker, 'utf8').trim();
  } catch {
    return null;
  }
}

function killAt(step: string): void {
  if (armedFor() === step) process.kill(process.pid, 'SIGKILL');
}

for (const bus of [RedisConfigBus.prototype, LocalConfigBus.prototype] as { publish(change: ConfigChange): void }[]) {
  const publish = bus.publish; // eslint-disable-line @typescript-eslint/unbound-method -- called with its `this` below
  bus.publish = function (this: unknown, change: ConfigChange): void {
    killAt(change.kind);
    publish.call(this, change);
  };
}

for (const runs of [SqliteAsyncRuns.prototype, RedisAsyncRuns.prototype] as { setResult(...args: unknown[]): Promise<void> }[]) {
  const setResult = runs.setResult; // eslint-disable-line @typescript-eslint/unbound-method -- called with its `this` below
  runs.setResult = async function (this: unknown, ...args: unknown[]): Promise<void> {
    await setResult.apply(this, args);
    killAt('result');
  };
}
