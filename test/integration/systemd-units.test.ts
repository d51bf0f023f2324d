/**
 * The systemd units in deploy/systemd as `systemd-analyze verify` reads them (new-user round 13):
 * README's production setup started FerretDB from a shell, so after a reboot the platform's unit
 * failed every start until someone started FerretDB by hand. The FerretDB unit, the platform
 * unit's order after it and Redis, and the `FP_MONGO_URL` the docs give for its socket are checked
 * here. systemd is not PID 1 on the test machines: verify reads the files, it starts nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { findBinary } from '../helpers/servers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const UNITS = join(ROOT, 'deploy', 'systemd');
const PLATFORM = 'fastapi-platform.service';
const FERRETDB = 'fastapi-platform-ferretdb.service';
const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;

/** The values of `key=` lines in a unit's text (comments left out). */
function values(text: string, key: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${key}=`)).flatMap((l) => l.slice(key.length + 1).split(/\s+/)).filter((v) => v !== '');
}

describe('deploy/systemd units', () => {
  // Read in each test, so a missing unit fails them rather than the suite's set-up.
  const unit = (name: string): string => readFileSync(join(UNITS, name), 'utf8');

  it('systemd-analyze verify takes both units without a word (the FerretDB binary where this machine has it)', { skip: !analyze || findBinary('ferretdb') === null ? 'needs systemd-analyze and ferretdb' : false }, () => {
    const ferret = unit(FERRETDB);
    const dir = mkdtempSync(join(tmpdir(), 'fp-units-'));
    try {
      copyFileSync(join(UNITS, PLATFORM), join(dir, PLATFORM));
      // verify checks that ExecStart's program exists: the unit's /usr/local/bin is where its install line puts it.
      writeFileSync(join(dir, FERRETDB), ferret.replaceAll('/usr/local/bin/ferretdb', findBinary('ferretdb')!));
      const r = spawnSync('systemd-analyze', ['verify', PLATFORM, FERRETDB], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      // An unknown key or a bad value is a warning with status 0: nothing may be said.
      assert.equal(`${r.stdout}${r.stderr}`.trim(), '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the platform starts after Redis and FerretDB and wants both; FerretDB after PostgreSQL', () => {
    const [platform, ferret] = [unit(PLATFORM), unit(FERRETDB)];
    for (const key of ['After', 'Wants']) {
      assert.ok(values(platform, key).includes('redis-server.service'), key);
      assert.ok(values(platform, key).includes(FERRETDB), key);
      assert.ok(values(ferret, key).includes('postgresql.service'), key);
    }
    assert.deepEqual(values(ferret, 'Restart'), ['on-failure']);
  });

  it('FerretDB listens on its Unix socket only, in a 0700 state directory, and the docs give its URL encoded', () => {
    const [platform, ferret] = [unit(PLATFORM), unit(FERRETDB)];
    const exec = values(ferret, 'ExecStart');
    assert.ok(exec.includes('--listen-addr='), 'no TCP listener');
    const socket = exec.find((a) => a.startsWith('--listen-unix='))!.slice('--listen-unix='.length);
    const stateDir = values(ferret, 'StateDirectory')[0]!;
    assert.equal(dirname(socket), `/var/lib/${stateDir}`);
    assert.deepEqual(values(ferret, 'StateDirectoryMode'), ['0700']);
    const url = `mongodb://${encodeURIComponent(socket)}/`;
    assert.ok(ferret.includes(`FP_MONGO_URL=${url}`), 'the unit\'s install comment');
    assert.ok(readFileSync(join(ROOT, 'docs', 'platform.md'), 'utf8').includes(`FP_MONGO_URL=${url}`), 'docs/platform.md');
    // The same user as the platform: PostgreSQL's peer authentication, the socket's folder its own.
    assert.deepEqual(values(ferret, 'User'), values(platform, 'User'));
  });
});
