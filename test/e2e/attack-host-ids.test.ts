/**
 * Red team round 27: in root mode every function runs as a uid of FP_SANDBOX_UIDS (default
 * 600000-699999), but nothing checked that the host gave those ids to no one else. Debian's
 * `useradd` gives its eighth user the subordinate ids 558752-624287; with `unshare --map-users`
 * (the setuid newuidmap) that user ran a process as uid 600004 and SIGKILLed the instance of
 * another tenant's function holding it (`/work/probe-red27/subuid-attack.sh`). The start now moves
 * the default range past such ids, saying so, and refuses such a range the operator set (BAD_CONFIG,
 * ADR 0160), naming the holder and a range no one holds.
 *
 * The platform runs as a real process in a mount namespace of its own whose /etc is an overlay
 * holding one more /etc/subuid line: the host's own files are never touched.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hostSubordinateMax } from '../../platform/host-ids.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MAIN = join(ROOT, 'dist', 'platform', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'fp-host-ids-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Why these tests cannot run here, or null: root, unshare and an overlay over /etc in a private mount namespace. */
function skipReason(): string | null {
  if (process.getuid?.() !== 0) return 'root mode needs root';
  try {
    mkdirSync(join(dir, 'probe-up'));
    mkdirSync(join(dir, 'probe-work'));
    execFileSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t overlay overlay -o lowerdir=/etc,upperdir=${dir}/probe-up,workdir=${dir}/probe-work /etc`], { stdio: 'ignore' });
    return null;
  } catch {
    return 'no overlay mount over /etc in a private mount namespace here';
  }
}
const skip = skipReason();
/** Where moved ids start: past the subordinate ids `useradd` gives (this host's /etc/login.defs; red team round 28, ADR 0164). */
const PAST = hostSubordinateMax() + 1;

let runs = 0;
/**
 * `node dist/platform/main.js` where /etc/subuid and /etc/subgid also hold `line`; resolves with its exit once it
 * printed its banner (then SIGTERMed) or ended by itself.
 */
function startWith(line: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = join(dir, `run-${++runs}`);
  for (const sub of ['up', 'work', 'state', 'config']) mkdirSync(join(run, sub), { recursive: true });
  const script = [
    `mount -t overlay overlay -o lowerdir=/etc,upperdir=${run}/up,workdir=${run}/work /etc`,
    `printf '%s\\n' "$SUBID_LINE" >> /etc/subuid`,
    `printf '%s\\n' "$SUBID_LINE" >> /etc/subgid`,
    'unset SUBID_LINE',
    'exec "$0" "$@"',
  ].join(' && ');
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, process.execPath, MAIN, '--port', '0', '--state-dir', join(run, 'state')], {
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', LANG: 'C.UTF-8',
      FP_POOL_SIZE: '1', FP_SHUTDOWN_GRACE_MS: '2000', FP_SECRETS_KEY_FILE: join(run, 'config', 'secrets.key'), FP_DATA: 'off',
      SUBID_LINE: line, ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    if (stdout.includes('sandbox:')) child.kill('SIGTERM');
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((done) => child.on('exit', (code) => done({ code, stdout, stderr })));
}

describe('function uids no other user of the host holds (red team round 27)', { skip: skip ?? false }, () => {
  it('a local user\'s subordinate ids inside the default range: functions and builds move to ids no one holds, and the start says so', async () => {
    // What Debian's useradd gives its eighth user; the quickstart sets neither variable and must start.
    const exit = await startWith('mallory:558752:65536', {});
    // Past the ids useradd gives, not the next free ones (624288-724287: the ninth user's; red team round 28).
    assert.ok(exit.stdout.includes(`one uid per function (${PAST}-${PAST + 99_999})`), exit.stdout + exit.stderr);
    assert.ok(exit.stderr.includes('the default function uids 600000-699999 and builder uid 599999 meet ids of other users of this host (mallory\'s subordinate ids 558752-624287 (/etc/subuid, /etc/subgid)): '
      + `functions run as ${PAST}-${PAST + 99_999} and builds as ${PAST + 100_000} instead`), exit.stderr);
  });

  it('ids the operator set that a local user holds: the start is refused, naming them and a range no one holds', async () => {
    const exit = await startWith('mallory:558752:65536', { FP_SANDBOX_UIDS: '610000-619999' });
    assert.doesNotMatch(exit.stdout, /listening on|sandbox:/, 'the platform started with functions on ids mallory holds');
    assert.notEqual(exit.code, 0);
    assert.match(exit.stderr, /BAD_CONFIG/);
    assert.match(exit.stderr, /FP_SANDBOX_UIDS 610000-619999 holds ids of other users of this host: mallory's subordinate ids 558752-624287 \(\/etc\/subuid, \/etc\/subgid\)/);
    assert.match(exit.stderr, /FP_DEPS_BUILDER_UID 599999 is held by mallory's/);
    assert.ok(exit.stderr.includes(`e.g. FP_SANDBOX_UIDS=${PAST}-${PAST + 9_999}`), exit.stderr);
    assert.ok(exit.stderr.includes(`e.g. FP_DEPS_BUILDER_UID=${PAST + 10_000}`), exit.stderr);
  });

  it('the ranges it names start: functions and builds on ids no one holds', async () => {
    const exit = await startWith('mallory:558752:65536', { FP_SANDBOX_UIDS: `${PAST}-${PAST + 99_999}`, FP_DEPS_BUILDER_UID: `${PAST + 100_000}` });
    assert.ok(exit.stdout.includes(`one uid per function (${PAST}-${PAST + 99_999})`), exit.stdout + exit.stderr);
  });

  it('subordinate ids outside both: the start is not concerned', async () => {
    const exit = await startWith('alice:100000:65536', {});
    assert.match(exit.stdout, /one uid per function \(600000-699999\)/, exit.stderr);
  });
});
