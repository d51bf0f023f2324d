/**
 * What a declaration can make the dependency builder do (red team of 2026-12-05, second round): a pyproject.toml string
 * whose `--hash=` swallowed a line break put a pip option on a line of its own in pip's input,
 * `-r /proc/self/cmdline` (pip printed its command line, the private index's user:password with
 * it, into the log a viewer reads) or `--no-binary=:all:` (sdists built with sdists off). Real
 * builds, on this machine's runtime, against an index with credentials that is never reached.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runBuild } from '../../controlplane/deps/builder.js';
import { builderOptions, hostileSdist } from '../helpers/deps-builder.js';

const MIB = 1024 * 1024;
const SECRET = 'S3CRET-INDEX-TOKEN';
// Nothing listens there (the port range of these tests): the index is never reached.
const INDEX = `http://ci-reader:${SECRET}@127.0.0.1:18801/simple`;
const HASH = '8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254';

/** The red team's pyproject.toml with `line` smuggled after the requirement. */
function smuggling(line: string): string {
  return `[project]\nname = "leak"\nversion = "1"\ndependencies = ["six==1.16.0 --hash=sha256:${HASH} --hash=sha256:00\\u001f--hash=\\n${line}"]\n`;
}

describe('what a declaration can make the dependency builder do', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-deps-input-'));
  mkdirSync(join(dir, 'links'));
  mkdirSync(join(dir, 'root'));
  after(() => execFileSync('rm', ['-rf', '--', dir])); // folders nested past PATH_MAX: Node's rm fails

  for (const line of ['-r/proc/self/cmdline', '--no-binary=:all:']) {
    it(`a pyproject.toml string cannot add a line of pip options (${line}): refused before pip runs`, async () => {
      const opts = { ...builderOptions(dir, null, 16 * MIB), indexUrl: INDEX, allowSdist: false };
      const outcome = await runBuild(opts, { input: new Map([['pyproject.toml', Buffer.from(smuggling(line))]]), scope: null, onPhase: () => {} });
      assert.equal(outcome.ok, false);
      assert.equal(outcome.error?.code, 'DEPS_REQUIREMENT_INVALID', JSON.stringify(outcome.error));
      assert.match(outcome.error?.message ?? '', /pyproject\.toml: .* holds a control character/);
      assert.doesNotMatch(`${outcome.error?.message}\n${outcome.log}`, new RegExp(`${SECRET}|Collecting|--index-url`));
    });
  }

  it('whatever runs in the build prints, the log and the message never show the index credentials', async () => {
    // With sdists allowed a build script runs in the box, where pip's command line holds the index
    // URL: printed whole, the host's redaction still hides its password.
    hostileSdist(dir, 'talker', [
      'import os, sys',
      'def _talk(*_args, **_kw):',
      '    pid, seen = os.getppid(), []',
      '    while pid > 1:',
      '        with open(f"/proc/{pid}/cmdline") as f: seen.append(f.read().replace("\\0", " "))',
      '        with open(f"/proc/{pid}/stat") as f: pid = int(f.read().rsplit(")", 1)[1].split()[1])',
      '    for name in os.listdir("/run/fp-build"):',
      '        if os.path.isfile("/run/fp-build/" + name):',
      '            with open("/run/fp-build/" + name, errors="replace") as f: seen.append(f.read().replace("\\n", " "))',
      '    sys.stderr.write("".join("FP-SEEN " + s + "\\n" for s in seen))',
      '    raise RuntimeError("said it")',
      'get_requires_for_build_wheel = prepare_metadata_for_build_wheel = build_wheel = build_sdist = _talk',
      '',
    ].join('\n'));
    const opts = { ...builderOptions(dir, null, 16 * MIB), indexUrl: INDEX };
    const outcome = await runBuild(opts, { input: new Map([['requirements.txt', Buffer.from('talker==1.0\n')]]), scope: 'talker', onPhase: () => {} });
    assert.equal(outcome.ok, false);
    // The login is in the work folder's netrc file, not in the URL pip is given (new-user round 4): shown, it is hidden too.
    assert.match(outcome.log, /FP-SEEN .*--index-url '?http:\/\/127\.0\.0\.1:18801\/simple/, outcome.log.slice(-3000));
    assert.match(outcome.log, /FP-SEEN machine "127\.0\.0\.1" login "ci-reader" password "\*\*\*\*"/, outcome.log.slice(-3000));
    assert.doesNotMatch(`${outcome.error?.message}\n${outcome.log}`, new RegExp(SECRET));
  });

  it('no process of the host shows the index credentials on its command line while a build runs (red team round 27)', async () => {
    // /proc/<pid>/cmdline is every local user's to read (`ps -eo args`): the build's spec and pip's
    // `--index-url` named the private index's user and password for as long as each build ran.
    hostileSdist(dir, 'waiter', [
      'import time',
      'def _wait(*_args, **_kw):',
      '    open("/run/fp-build/FP-WAITING", "w").close()',  // pip keeps a build script's output until it ends: a file tells
      '    time.sleep(60)',
      'get_requires_for_build_wheel = prepare_metadata_for_build_wheel = build_wheel = build_sdist = _wait',
      '',
    ].join('\n'));
    const opts = { ...builderOptions(dir, null, 16 * MIB), indexUrl: INDEX, extraIndexUrls: [INDEX.replace('18801', '18802')] };
    const stop = new AbortController();
    const build = runBuild(opts, { input: new Map([['requirements.txt', Buffer.from('waiter==1.0\n')]]), scope: 'waiter', signal: stop.signal, onPhase: () => {} });
    const staging = join(dir, 'root', '.staging');
    const waiting = (): boolean => existsSync(staging) && readdirSync(staging).some((name) => existsSync(join(staging, name, 'work', 'FP-WAITING')));
    for (let i = 0; i < 1200 && !waiting(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    // The build script runs under pip, under the build's box: the whole tree is there now.
    const shown: string[] = [];
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
        if (args.includes('deps_build.py') || args.includes(' pip ')) shown.push(args);
      } catch {
        // gone meanwhile
      }
    }
    stop.abort();
    const outcome = await build;
    assert.equal(outcome.ok, false);
    assert.ok(shown.some((args) => args.includes('deps_build.py --build')), `the build's processes were seen: ${shown.join('\n')}`);
    assert.ok(shown.some((args) => args.includes(' pip ') && args.includes('install')), `pip was seen: ${shown.join('\n')}`);
    for (const args of shown) assert.doesNotMatch(args, new RegExp(`${SECRET}|ci-reader`), args);
  });

  it('a build that nests folders past PATH_MAX and fails leaves no staging folder behind (red team round 19)', async () => {
    // Node's rm failed on it with ENAMETOOLONG: the folder stayed, and at every start again.
    hostileSdist(dir, 'nester', [
      'import os',
      'def get_requires_for_build_wheel(config_settings=None):',
      '    os.chdir("/deps")',
      '    for _ in range(3000):',
      '        os.mkdir("d"); os.chdir("d")',
      '    raise RuntimeError("nested")',
      '',
    ].join('\n'));
    const outcome = await runBuild(builderOptions(dir, null, 16 * MIB), { input: new Map([['requirements.txt', Buffer.from('nester==1.0\n')]]), scope: 'nester', onPhase: () => {} });
    assert.equal(outcome.ok, false);
    assert.deepEqual(readdirSync(join(dir, 'root', '.staging')), []);
  });
});
