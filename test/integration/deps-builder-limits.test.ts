/**
 * The dependency builder's memory (docs/security.md, "The dependency builder"): with sdists
 * allowed, a package's build script runs in the builder's box, and its address-space limit is per
 * process. A hostile in-tree build backend (no build requirements: it runs as soon as pip asks it
 * for its own) forks four processes that hold 150 MiB each at once, 600 MiB under a 256 MiB
 * limit; in root mode the whole build is one cgroup leaf and they cannot.
 * Its staging directories are on the host's disk: a build script that writes there without end is
 * stopped by the host's measure.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runBuild } from '../../controlplane/deps/builder.js';
import { BUILD_TASKS, type DepsOptions } from '../../controlplane/deps/types.js';
import { Cgroups, resolveSandbox } from '../../poolmgr/index.js';
import { builderOptions as options, hostileSdist } from '../helpers/deps-builder.js';

const MIB = 1024 * 1024;
const mode = resolveSandbox('auto');

const BACKEND = [
  'import os, sys, time',
  'def _attack(*_args, **_kw):',
  '    kids = []',
  '    for _ in range(4):',
  '        pid = os.fork()',
  '        if pid == 0:',
  '            try:',
  '                held = bytearray(150 << 20)',
  '                for i in range(0, len(held), 4096): held[i] = 1',
  '                time.sleep(3)',
  '                os._exit(0)',
  '            except MemoryError:',
  '                os._exit(3)',
  '        kids.append(pid)',
  '    statuses = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in kids]',
  '    sys.stderr.write(f"FP-ATTACK statuses={statuses}\\n")',
  '    raise RuntimeError("the attack is over")',
  'get_requires_for_build_wheel = prepare_metadata_for_build_wheel = build_wheel = build_sdist = _attack',
  '',
].join('\n');

/**
 * Writes into the site being built (/deps: a staging directory on the host's disk, bound
 * writable), 1 MiB a file (the file size limit here), until 600 MiB: far past its limit.
 */
const FILLER = [
  'import os, sys, time',
  'def _attack(*_args, **_kw):',
  '    chunk = b"x" * (1 << 20)',
  '    for i in range(600):',
  '        with open(f"/deps/fill-{i}", "wb") as f: f.write(chunk)',
  '        if i % 40 == 0: time.sleep(0.1)',
  '    sys.stderr.write("FP-FILLED\\n")',
  '    raise RuntimeError("the attack is over")',
  'get_requires_for_build_wheel = prepare_metadata_for_build_wheel = build_wheel = build_sdist = _attack',
  '',
].join('\n');

/**
 * Holds as many processes as it can fork (the build's tasks, 1024: its cgroup or RLIMIT_NPROC),
 * says so in /run/fp-build/hog-ready (its work folder, on the host's disk), keeps them until the test
 * writes /run/fp-build/hog-release (at most 30 s). Each child blocks on a pipe whose write end only the
 * hog holds: they end together when it does.
 */
const HOG = [
  'import os, sys, time',
  'def _attack(*_args, **_kw):',
  '    n = 0',
  '    r, w = os.pipe()',
  '    try:',
  '        for _ in range(1100):',
  '            if os.fork() == 0:',
  '                os.close(w)',
  '                os.read(r, 1)',
  '                os._exit(0)',
  '            n += 1',
  '    except OSError:',
  '        pass',
  '    open("/run/fp-build/hog-ready", "w").write(str(n))',
  '    for _ in range(300):',
  '        if os.path.exists("/run/fp-build/hog-release"): break',
  '        time.sleep(0.1)',
  '    raise RuntimeError("the attack is over")',
  'get_requires_for_build_wheel = prepare_metadata_for_build_wheel = build_wheel = build_sdist = _attack',
  '',
].join('\n');

/** Another workspace's build: its backend says whether it could fork. */
const PLAIN = [
  'import os, sys',
  'def _attack(*_args, **_kw):',
  '    try:',
  '        pid = os.fork()',
  '        if pid == 0: os._exit(0)',
  '        os.waitpid(pid, 0)',
  '        sys.stderr.write("FP-PLAIN fork=ok\\n")',
  '    except OSError as err:',
  '        sys.stderr.write(f"FP-PLAIN fork={err}\\n")',
  '    raise RuntimeError("done")',
  'get_requires_for_build_wheel = prepare_metadata_for_build_wheel = build_wheel = build_sdist = _attack',
  '',
].join('\n');

/** The first file named `name` under `dir`, or null. */
function findFile(dir: string, name: string): string | null {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name === name) return join(entry.parentPath, entry.name);
  }
  return null;
}

function build(opts: DepsOptions, requirement: string): ReturnType<typeof runBuild> {
  return runBuild(opts, { input: new Map([['requirements.txt', Buffer.from(`${requirement}\n`)]]), scope: 'hostile', onPhase: () => {} });
}

describe('the dependency builder\'s limits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-deps-limits-'));
  mkdirSync(join(dir, 'links'));
  mkdirSync(join(dir, 'root'));
  hostileSdist(dir, 'hostile', BACKEND);
  hostileSdist(dir, 'filler', FILLER);
  hostileSdist(dir, 'hog', HOG);
  hostileSdist(dir, 'plain', PLAIN);
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a build script\'s processes together stay within the build\'s memory limit', { skip: mode !== 'root' ? 'one cgroup leaf per build needs root mode' : false }, async () => {
    const cgroups = Cgroups.open({ tasksMax: BUILD_TASKS, cpuShares: 1024 }).cgroups;
    after(() => cgroups?.close());
    assert.ok(cgroups !== null, 'no writable cgroups');
    const outcome = await build(options(dir, cgroups, 16 * MIB), 'hostile==1.0');
    assert.equal(outcome.ok, false);
    const line = /FP-ATTACK statuses=\[([^\]]*)\]/.exec(outcome.log);
    assert.ok(line !== null, `the backend did not run: ${outcome.log.slice(-2000)}`);
    assert.notEqual(line[1], '0, 0, 0, 0', 'four processes held 600 MiB under a 256 MiB limit');
    assert.match(line[1] ?? '', /-9/, 'the build\'s cgroup stops them (the OOM killer)');
  });

  it('a build script cannot fill the host\'s disk through its staging directories: the build ends with DEPS_TOO_LARGE', async () => {
    const outcome = await build(options(dir, null, MIB), 'filler==1.0');
    assert.equal(outcome.ok, false);
    assert.equal(outcome.error?.code, 'DEPS_TOO_LARGE', `${JSON.stringify(outcome.error)}\n${outcome.log.slice(-1500)}`);
    assert.doesNotMatch(outcome.log, /FP-FILLED/, 'it wrote its 600 MiB');
  });

  it('a build holding all its tasks leaves another build (the same builder uid) room to fork', { skip: mode !== 'root' ? 'builds share a host uid in root mode only' : false }, async () => {
    const cgroups = Cgroups.open({ tasksMax: BUILD_TASKS, cpuShares: 1024 }).cgroups;
    after(() => cgroups?.close());
    assert.ok(cgroups !== null, 'no writable cgroups');
    const opts = { ...options(dir, cgroups, 16 * MIB), concurrency: 2 };
    const hog = build(opts, 'hog==1.0');
    let ready: string | null = null;
    for (let i = 0; i < 600 && ready === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ready = findFile(join(dir, 'root'), 'hog-ready');
    }
    assert.ok(ready !== null, 'the hog never said it was ready');
    const held = Number(readFileSync(ready, 'utf8'));
    assert.ok(held > 900, `the hog held only ${held} processes`);
    const plain = await build(opts, 'plain==1.0');
    writeFileSync(join(dirname(ready), 'hog-release'), ''); // the hog lets its processes go (else after 30 s)
    assert.match(plain.log, /FP-PLAIN fork=ok/, `the other build could not fork (the hog holds ${held} processes of the uid): ${plain.log.slice(-1500)}`);
    await hog;
  });
});
