/**
 * An sdist's build requirements, with sdists allowed (`FP_DEPS_ALLOW_SDIST=1`, docs/dependencies.md):
 * pip installs them with a pip of its own, which it gives the index and the wheel folder but not
 * `--proxy`. In the builder's box the egress proxy is the only way out, so that pip failed on DNS
 * and every sdist with a `[build-system] requires` (setuptools: nearly all of them) was
 * DEPS_INDEX_UNREACHABLE (new-user round 4: `docopt` with sdists allowed, as the docs say).
 * A real build on this machine's runtime, against an index served here, reached through the proxy.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runBuild } from '../../controlplane/deps/builder.js';
import { pythonPath } from '../../cli/python.js';
import { builderOptions } from '../helpers/deps-builder.js';

const MIB = 1024 * 1024;
const WHEEL = 'fpbuildreq-1.0-py3-none-any.whl';
const PASSWORD = 'S3CRET-NU4-INDEX';

/** A wheel of the package `fpbuildreq` (what the sdist's build needs), made with zipfile. */
function buildRequirementWheel(path: string): void {
  const script = [
    'import sys, zipfile',
    'with zipfile.ZipFile(sys.argv[1], "w") as z:',
    '    z.writestr("fpbuildreq/__init__.py", "MARK = \\"FP-BUILD-REQUIREMENT-IMPORTED\\"\\n")',
    '    z.writestr("fpbuildreq-1.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: fpbuildreq\\nVersion: 1.0\\n")',
    '    z.writestr("fpbuildreq-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")',
    '    z.writestr("fpbuildreq-1.0.dist-info/RECORD", "")',
  ].join('\n');
  execFileSync(pythonPath(undefined), ['-I', '-c', script, path]);
}

/** needsreq-1.0.tar.gz in <dir>/links: its build requires fpbuildreq, and its backend says when it imported it. */
function sdistNeedingIt(dir: string): void {
  const src = join(dir, 'src', 'needsreq-1.0');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'pyproject.toml'), '[build-system]\nrequires = ["fpbuildreq"]\nbuild-backend = "backend"\nbackend-path = ["."]\n');
  writeFileSync(join(src, 'backend.py'), [
    'import sys',
    'def _ran(*_args, **_kw):',
    '    import fpbuildreq',
    '    sys.stderr.write(fpbuildreq.MARK + "\\n")',
    '    raise RuntimeError("the test stops here")',
    'get_requires_for_build_wheel = prepare_metadata_for_build_wheel = build_wheel = build_sdist = _ran',
    '',
  ].join('\n'));
  writeFileSync(join(src, 'PKG-INFO'), 'Metadata-Version: 2.1\nName: needsreq\nVersion: 1.0\n');
  execFileSync('tar', ['czf', join(dir, 'links', 'needsreq-1.0.tar.gz'), '-C', join(dir, 'src'), 'needsreq-1.0']);
}

describe("an sdist's build requirements, with sdists allowed", () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-deps-sdist-'));
  mkdirSync(join(dir, 'links'));
  mkdirSync(join(dir, 'root'));
  let index: Server;
  let port = 0;
  const asked: string[] = [];
  /** Per path asked: the Authorization header, and whether a host process's command line held the index's password then. */
  const seen = new Map<string, { authorization: string | undefined; exposed: string[] }>();

  before(async () => {
    buildRequirementWheel(join(dir, WHEEL));
    sdistNeedingIt(dir);
    // A simple index (PEP 503) holding the build requirement only: the sdist is in the wheel folder.
    index = createServer((req, res) => {
      asked.push(req.url ?? '');
      // While pip waits for this answer, its command line is there to read, as any local user reads it.
      const exposed: string[] = [];
      for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
        try {
          const args = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
          if (args.includes(PASSWORD)) exposed.push(args);
        } catch {
          // gone meanwhile
        }
      }
      seen.set(req.url ?? '', { authorization: req.headers.authorization, exposed });
      if (req.url === '/simple/fpbuildreq/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(`<a href="/files/${WHEEL}">${WHEEL}</a>`);
      } else if (req.url === `/files/${WHEEL}`) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(join(dir, WHEEL)));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => index.listen(0, '127.0.0.1', resolve));
    port = (index.address() as AddressInfo).port;
  });
  after(() => {
    index.close();
    execFileSync('rm', ['-rf', '--', dir]);
  });

  it('are installed from the index through the builder\'s proxy, and its build backend runs', async () => {
    const opts = { ...builderOptions(dir, null, 64 * MIB), indexUrl: `http://127.0.0.1:${port}/simple` };
    const outcome = await runBuild(opts, { input: new Map([['requirements.txt', Buffer.from('needsreq==1.0\n')]]), scope: 'needsreq', onPhase: () => {} });
    assert.equal(outcome.ok, false); // the backend stops the build once it has shown that it ran
    assert.ok(asked.includes(`/files/${WHEEL}`), `the build requirement was fetched from the index: ${asked.join(', ')}\n${outcome.log.slice(-3000)}`);
    assert.match(outcome.log, /FP-BUILD-REQUIREMENT-IMPORTED/, outcome.log.slice(-3000));
    assert.notEqual(outcome.error?.code, 'DEPS_INDEX_UNREACHABLE', outcome.error?.message ?? '');
  });

  it("a private index's login reaches the index from both pips, and is on no command line while they run", async () => {
    // The pip that installs build requirements is given the index as `-i URL`: its password was
    // on that command line, every local user's to read (`ps -eo args`; red team round 27's rule).
    rmSync(join(dir, 'root'), { recursive: true, force: true });
    mkdirSync(join(dir, 'root'));
    asked.length = 0;
    seen.clear();
    const opts = { ...builderOptions(dir, null, 64 * MIB), indexUrl: `http://ci-reader:${PASSWORD}@127.0.0.1:${port}/simple` };
    const outcome = await runBuild(opts, { input: new Map([['requirements.txt', Buffer.from('needsreq==1.0\n')]]), scope: 'needsreq', onPhase: () => {} });
    assert.match(outcome.log, /FP-BUILD-REQUIREMENT-IMPORTED/, outcome.log.slice(-3000));
    const basic = `Basic ${Buffer.from(`ci-reader:${PASSWORD}`).toString('base64')}`;
    for (const path of ['/simple/needsreq/', '/simple/fpbuildreq/']) {
      assert.equal(seen.get(path)?.authorization, basic, `${path} was asked with the index's login`);
      assert.deepEqual(seen.get(path)?.exposed, [], `${path}: a command line held the password`);
    }
    assert.doesNotMatch(outcome.log, new RegExp(PASSWORD));
  });
});
