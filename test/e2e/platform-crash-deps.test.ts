/**
 * Chaos round 7: a platform SIGKILLed while the dependency builder installs a new version's
 * requirements (the builder's box running). What it leaves: the active version keeps serving after
 * the restart, the new version's build is not `building` forever (the start builds it again, with no
 * read of the version: ADR 0239, docs/dependencies.md "What happens"), the half-built site is never
 * published (every `<stateDir>/deps/<lock>/` holds a whole site, `.staging/` is cleared at the
 * start), and a deploy of the version serves the rebuilt site.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeHeavyWheel, writeWheel } from '../helpers/wheels.js';
import { started, startMain } from './main-harness.js';
import { Api, deployed, fnName, py, upload, until } from './platform-harness.js';

/** A builder uid of this test's own, so the builder's processes are told apart from other tests' builds. */
const BUILDER_UID = 599_977;

/** Host pids running as `uid` (the builder's box). */
function pidsOf(uid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(readFileSync(`/proc/${entry}/status`, 'utf8'))) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The lock directories under deps/ (not `.inputs`, `.staging`): each must hold its lock and site. */
function publishedSites(root: string): string[] {
  return existsSync(root) ? readdirSync(root).filter((d) => /^[0-9a-f]{64}$/.test(d)) : [];
}

describe('a platform killed -9 while a dependency build installs', { timeout: 120_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-crash-deps-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  const wheels = join(work, 'wheels');
  // Enough modules that installing and compiling takes a while: the kill lands inside the build.
  writeHeavyWheel(wheels);
  writeWheel(wheels, { name: 'light', version: '2.0', modules: { 'light.py': 'NAME = "light-2.0"\n' } });
  const stateDir = join(work, 'state');
  const env = { FP_DEPS_INDEX_URL: 'none', FP_DEPS_FIND_LINKS: wheels, FP_DEPS_BUILDER_UID: String(BUILDER_UID) };

  it('the active version keeps serving, the build is redone at the start (never published half), the deploy serves it', async () => {
    const first = startMain(['--state-dir', stateDir, '--port', '0'], env);
    const { url, token } = await started(first);
    const api = new Api(url, token!);
    const name = fnName('crashdeps');
    await deployed(api, name, { 'main.py': py('def handler(event, context):', '    return {"version": context.function_version}') });
    const v2 = await upload(api, name, {
      'requirements.txt': 'heavy\nlight\n',
      'main.py': py('import heavy, light', 'def handler(event, context):', '    return {"version": context.function_version, "deps": [heavy.NAME, light.NAME]}'),
    });
    // Kill while the builder installs or compiles (its box running), not before it started.
    let phase = '';
    await until('the build installs', async () => {
      const res = await api.call('GET', `/functions/${name}/versions/${v2}/deps`);
      phase = res.body.deps?.phase ?? res.body.deps?.state;
      return phase === 'installing' || phase === 'compiling' || phase === 'ready';
    }, 60_000);
    assert.notEqual(phase, 'ready', 'the build ended before the kill could land in it');
    assert.ok(pidsOf(BUILDER_UID).length > 0, 'the builder runs when the platform is killed');
    first.child.kill('SIGKILL');
    await first.exited;
    // The builder's box dies with its platform: nothing goes on writing into the state directory.
    await until('the builder dies with its platform', () => pidsOf(BUILDER_UID).length === 0, 5_000);

    const root = join(stateDir, 'deps');
    for (const lock of publishedSites(root)) {
      assert.ok(existsSync(join(root, lock, 'lock.txt')) && existsSync(join(root, lock, 'site')), `${lock} was published half`);
    }

    const halfBuilt = existsSync(join(root, '.staging')) ? readdirSync(join(root, '.staging')) : [];
    assert.ok(halfBuilt.length > 0, 'the killed build left its staging tree');
    const second = startMain(['--state-dir', stateDir, '--port', '0'], env);
    const again = await started(second);
    // The resumed build has a staging tree of its own (another name) by now.
    const staged = existsSync(join(root, '.staging')) ? readdirSync(join(root, '.staging')) : [];
    assert.deepEqual(staged.filter((d) => halfBuilt.includes(d)), [], 'the half-built staging tree is cleared at the start');
    const api2 = new Api(again.url, token!);
    const served = await fetch(`${again.url}/fn/${name}/`);
    assert.equal(served.status, 200);
    assert.deepEqual(await served.json(), { version: '1' });

    // Not building forever, and not waiting for a read either: the start builds it again (ADR 0239),
    // so a deploy waiting elsewhere or a cluster peer sees it finish. Nothing here reads the version
    // until the build's record is on disk.
    const inputs = join(root, '.inputs');
    const records = (): string[] => readdirSync(inputs).filter((f) => /^[0-9a-f]{64}\.json$/.test(f));
    await until('the build ends after the restart, with no read of the version', () => records().length > 0 && !readdirSync(inputs).some((f) => f.endsWith('.pending')), 60_000);
    const record = JSON.parse(readFileSync(join(inputs, records()[0]!), 'utf8')) as { state: string };
    assert.equal(record.state, 'ready', JSON.stringify(record));
    const deps = (await api2.call('GET', `/functions/${name}/versions/${v2}/deps`)).body.deps as { state: string };
    assert.equal(deps.state, 'ready', JSON.stringify(deps));
    const version = await api2.call('GET', `/functions/${name}/versions/${v2}`);
    assert.equal(version.body.version?.deps?.state, 'ready', JSON.stringify(version.body));
    const res = await api2.call('POST', `/functions/${name}/deploy`, { version: v2 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const now = await fetch(`${again.url}/fn/${name}/`);
    assert.deepEqual(await now.json(), { version: String(v2), deps: ['heavy-1.0', 'light-2.0'] });
    for (const lock of publishedSites(root)) assert.ok(existsSync(join(root, lock, 'lock.txt')), `${lock} has no lock`);
    second.child.kill('SIGTERM');
    await second.exited;
  });
});
