/**
 * What a declaration can make the dependency builder do (red team of 2026-12-05, second round): a pyproject.toml string
 * whose `--hash=` swallowed a line break put a pip option on a line of its own in pip's input,
 * `-r /proc/self/cmdline` (pip printed its command line, the private index's user:password with
 * it, into the log a viewer reads) or `--no-binary=:all:` (sdists built with sdists off). Real
 * builds, on this machine's runtime, against an index with credentials that is never reached.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
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
      '    pid, seen = os.getppid(), ""',
      '    while pid > 1 and "--index-url" not in seen:',
      '        with open(f"/proc/{pid}/cmdline") as f: seen = f.read()',
      '        with open(f"/proc/{pid}/stat") as f: pid = int(f.read().rsplit(")", 1)[1].split()[1])',
      '    sys.stderr.write("FP-CMDLINE " + seen.replace("\\0", " ") + "\\n")',
      '    raise RuntimeError("said it")',
      'get_requires_for_build_wheel = prepare_metadata_for_build_wheel = build_wheel = build_sdist = _talk',
      '',
    ].join('\n'));
    const opts = { ...builderOptions(dir, null, 16 * MIB), indexUrl: INDEX };
    const outcome = await runBuild(opts, { input: new Map([['requirements.txt', Buffer.from('talker==1.0\n')]]), scope: 'talker', onPhase: () => {} });
    assert.equal(outcome.ok, false);
    assert.match(outcome.log, /FP-CMDLINE .*--index-url http:\/\/ci-reader:\*\*\*\*@127\.0\.0\.1:18801\/simple/, outcome.log.slice(-3000));
    assert.doesNotMatch(`${outcome.error?.message}\n${outcome.log}`, new RegExp(SECRET));
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
