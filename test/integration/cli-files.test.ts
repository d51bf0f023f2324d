/** Walking a function folder as deploy uploads it: exclusions, .platformignore, limits, hashes. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { hashFiles, MAX_IGNORE_BYTES, walkFunctionDir } from '../../cli/files.js';
import { readManifestFile } from '../../cli/manifest-file.js';
import { findApp } from '../../cli/commands/init.js';

function folder(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'fp-cli-files-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

describe('cli file walking', () => {
  it('lists files sorted, skipping dotfiles, caches, bytecode, node_modules and .platformignore entries', async (t) => {
    const dir = folder({
      'main.py': 'x', 'lib/util.py': 'y', 'lib/__pycache__/util.cpython-311.pyc': 'b', 'old.pyc': 'b',
      '.env': 'SECRET=1', '.git/config': 'g', 'node_modules/a/index.js': 'n', 'notes.log': 'l',
      'data/big.csv': 'd', '.platformignore': '*.log\ndata/\n', 'platform.yaml': 'kind: function\n',
    });
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const walk = await walkFunctionDir(dir);
    assert.deepEqual(walk.files.map((f) => f.path), ['lib/util.py', 'main.py', 'platform.yaml']);
    assert.equal(walk.totalBytes, 1 + 1 + 'kind: function\n'.length);
    assert.deepEqual(walk.problems, []);
  });

  it('never uploads a machine\'s credential dotfiles, even under "!.*" in .platformignore (red team of 2026-12-05, fourth round)', async (t) => {
    const dir = folder({
      'main.py': 'x', '.platformignore': '!.*\n', '.well-known/security.txt': 'w',
      '.envrc': 'export AWS_SECRET_ACCESS_KEY=k', '.netrc': 'machine github.com password p', '.npmrc': '//r/:_authToken=t',
      '.pypirc': '[pypi]\npassword = p', '.git-credentials': 'https://u:p@github.com', '.aws/credentials': 'k',
      '.ssh/id_ed25519': 'k', '.docker/config.json': '{}', '.kube/config': 'k', '.env.production': 'S=1',
      'sub/.envrc': 'export K=1',
    });
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const walk = await walkFunctionDir(dir);
    assert.deepEqual(walk.files.map((f) => f.path), ['.platformignore', '.well-known/security.txt', 'main.py']);
  });

  it('skips a virtual environment under any name (a folder with pyvenv.cfg), with a warning', async (t) => {
    const dir = folder({
      'main.py': 'x', 'venv/pyvenv.cfg': 'home = /usr/bin\n', 'venv/lib/python3.11/site-packages/fastapi/__init__.py': 'f',
      'env2/pyvenv.cfg': 'v', 'envs/readme.txt': 'not a venv',
    });
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const walk = await walkFunctionDir(dir);
    assert.deepEqual(walk.files.map((f) => f.path), ['envs/readme.txt', 'main.py']);
    assert.deepEqual(walk.warnings.map((w) => w.file).sort(), ['env2', 'venv']);
    assert.match(walk.warnings[0]!.message, /virtual environment.*requirements\.txt/);
  });

  it('reports every limit breach: file count, total size, one file too large', async (t) => {
    const many = folder(Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i}.py`, 'x'])));
    t.after(() => rmSync(many, { recursive: true, force: true }));
    const tooMany = await walkFunctionDir(many, { maxFiles: 5, maxTotalBytes: 1000, maxFileBytes: 100 });
    assert.equal(tooMany.problems.length, 1);
    assert.match(tooMany.problems[0]!.message, /more than 5 files/);
    // The folder that holds most of them is named (apps round 12: a monorepo's frontend/ sources).
    const mono = folder({ 'main.py': 'x', ...Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`frontend/src/c${i}.tsx`, 'x'])) });
    t.after(() => rmSync(mono, { recursive: true, force: true }));
    const crowded = await walkFunctionDir(mono, { maxFiles: 5, maxTotalBytes: 1000, maxFileBytes: 100 });
    assert.equal(crowded.problems[0]!.message, 'more than 5 files to upload (the limit; frontend/ holds 6 of the first 6); exclude some in .platformignore');

    const big = folder({ 'a.bin': Buffer.alloc(150), 'b.bin': Buffer.alloc(90), 'c.bin': Buffer.alloc(90) });
    t.after(() => rmSync(big, { recursive: true, force: true }));
    const sizes = await walkFunctionDir(big, { maxFiles: 5, maxTotalBytes: 200, maxFileBytes: 100 });
    assert.deepEqual(sizes.problems.map((p) => p.file), ['a.bin', null]);
    assert.match(sizes.problems[1]!.message, /330 bytes; the limit is 200 bytes/);
    assert.match(sizes.problems[0]!.message, /^is 150 bytes; the limit per file is 100 bytes: exclude it in \.platformignore/);
    assert.match(sizes.problems[1]!.message, /exclude what the function does not need in \.platformignore/);
    // Sizes that round alike are told apart (it said "is 10 MiB; the limit per file is 10 MiB").
    const near = folder({ 'big.bin': Buffer.alloc(11_000_000) });
    t.after(() => rmSync(near, { recursive: true, force: true }));
    const over = await walkFunctionDir(near, { maxFiles: 5, maxTotalBytes: 64 << 20, maxFileBytes: 10 << 20 });
    assert.equal(over.problems[0]!.message, 'is 10.5 MiB (11000000 bytes); the limit per file is 10 MiB (10485760 bytes): exclude it in .platformignore, or keep large data out of the bundle (the data binding, or fetched at start)');
  });

  it('a name that is not UTF-8 is a problem shown escaped, not a crash; .platformignore can exclude it', async (t) => {
    const dir = folder({ 'main.py': 'x' });
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const latin1 = Buffer.from('caf\xe9.txt', 'latin1'); // not UTF-8
    writeFileSync(Buffer.concat([Buffer.from(dir + '/'), latin1]), 'x');
    mkdirSync(Buffer.concat([Buffer.from(dir + '/'), Buffer.from('d\xefr', 'latin1')]));
    const walk = await walkFunctionDir(dir);
    assert.deepEqual(walk.files.map((f) => f.path), ['main.py']);
    assert.deepEqual(walk.problems.map((p) => p.file).sort(), ['caf\\xe9.txt', 'd\\xefr']);
    assert.match(walk.problems[0]!.message, /not UTF-8.*rename it, or exclude it in \.platformignore/);
    writeFileSync(join(dir, '.platformignore'), 'caf*\nd*r/\n');
    const ignored = await walkFunctionDir(dir);
    assert.deepEqual(ignored.problems, []);
    assert.deepEqual(ignored.files.map((f) => f.path), ['main.py']);
  });

  it('refuses an empty folder and names that the server would refuse', async (t) => {
    const empty = folder({ '.hidden': 'x' });
    t.after(() => rmSync(empty, { recursive: true, force: true }));
    assert.match((await walkFunctionDir(empty)).problems[0]!.message, /no files/);
    const odd = folder({ 'a\\b.py': 'x' });
    t.after(() => rmSync(odd, { recursive: true, force: true }));
    assert.match((await walkFunctionDir(odd)).problems[0]!.message, /backslash/);
    // The server's name rules, folders included (protocol/file-names.ts).
    const unclear = folder({ 'main.py': 'm', 'lib /x.py': 'x', '~home/y.py': 'y', 'x\u202egnp.py': 'z', 'ok dir/naïve 😀.py': 'fine' });
    t.after(() => rmSync(unclear, { recursive: true, force: true }));
    assert.deepEqual((await walkFunctionDir(unclear)).problems.map((p) => p.file).sort(), ['lib /x.py', 'x\u202egnp.py', '~home/y.py'].sort());
  });

  it("reads a .platformignore and platform.yaml only as small regular files (.platformignore inside the folder): a clone's link to /dev/zero, a FIFO, one leading out (red team round 39)", { timeout: 20_000 }, async (t) => {
    // Before: /dev/zero was read up to Node's 2 GiB string limit (600 MB, 2.5 s) at every deploy,
    // validate and dev reload, then taken as no patterns; a FIFO hung the command.
    const outside = folder({ 'patterns': 'secret.txt\n' });
    const dir = folder({ 'main.py': 'x', 'secret.txt': 's' });
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    });
    const ignore = join(dir, '.platformignore');
    const problem = async (): Promise<string> => {
      const started = performance.now();
      const walk = await walkFunctionDir(dir);
      assert.ok(performance.now() - started < 2000, 'read at once');
      return walk.problems.find((p) => p.file === '.platformignore')?.message ?? '';
    };
    symlinkSync('/dev/zero', ignore);
    assert.match(await problem(), /is \/dev\/zero, outside .* not read/);
    rmSync(ignore);
    execFileSync('mkfifo', [ignore]);
    assert.match(await problem(), /not a regular file/);
    rmSync(ignore);
    symlinkSync(join(outside, 'patterns'), ignore);
    assert.match(await problem(), /outside .* not read/);
    rmSync(ignore);
    writeFileSync(ignore, `${'#'.repeat(MAX_IGNORE_BYTES)}\nsecret.txt\n`);
    assert.match(await problem(), /bytes, over the/);
    writeFileSync(ignore, 'secret.txt\n');
    const walk = await walkFunctionDir(dir);
    assert.deepEqual([walk.problems, walk.files.map((f) => f.path)], [[], ['main.py']]);
    // platform.yaml as well: a FIFO hung validate, deploy and dev; /dev/zero was read up to 2 GiB.
    execFileSync('mkfifo', [join(dir, 'platform.yaml')]);
    const fifo = await readManifestFile(dir, {});
    assert.match(fifo.problems[0]?.message ?? '', /not a regular file/);
    rmSync(join(dir, 'platform.yaml'));
    symlinkSync('/dev/zero', join(dir, 'platform.yaml'));
    assert.match((await readManifestFile(dir, {})).problems[0]?.message ?? '', /not a regular file/);
    // init's look for the app: pyproject.toml a FIFO hung `init .`.
    execFileSync('mkfifo', [join(dir, 'pyproject.toml')]);
    writeFileSync(join(dir, 'app.py'), 'from fastapi import FastAPI\napp = FastAPI()\n');
    assert.equal((await findApp(dir))?.entrypoint, 'app:app');
  });

  it('follows symlinked files, skips symlinked folders with a warning', async (t) => {
    const dir = folder({ 'real/x.py': 'x', 'main.py': 'm' });
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    symlinkSync(join(dir, 'main.py'), join(dir, 'alias.py'));
    symlinkSync(join(dir, 'real'), join(dir, 'linked'));
    const walk = await walkFunctionDir(dir);
    assert.deepEqual(walk.files.map((f) => f.path), ['alias.py', 'main.py', 'real/x.py']);
    assert.deepEqual(walk.warnings.map((w) => w.file), ['linked']);
  });

  it('hashes contents with sha256', async (t) => {
    const dir = folder({ 'main.py': 'print(1)\n' });
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const [file] = await hashFiles(dir, (await walkFunctionDir(dir)).files);
    assert.equal(file!.sha256, createHash('sha256').update('print(1)\n').digest('hex'));
    assert.equal(file!.size, 9);
  });

  it('hashes (and so uploads) no file that a folder swapped for a link after the walk led to (red team round 40)', async (t) => {
    const dir = folder({ 'main.py': 'x', 'conf/settings.py': 'A = 1\n' });
    const away = folder({ 'settings.py': 'aws_secret_access_key = verysecret\n' });
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
      rmSync(away, { recursive: true, force: true });
    });
    const walk = await walkFunctionDir(dir);
    assert.deepEqual(walk.problems, []);
    // Someone else writing in the folder, between deploy's walk and its read of each file.
    renameSync(join(dir, 'conf'), join(dir, 'conf-was'));
    symlinkSync(away, join(dir, 'conf'));
    await assert.rejects(hashFiles(dir, walk.files), /conf\/settings\.py is .*outside .*not uploaded.*nothing was deployed/);
    const inside = folder({ 'a/b.bin': Buffer.from([0xff, 0x00, 0xfe]) });
    t.after(() => rmSync(inside, { recursive: true, force: true }));
    const [bin] = await hashFiles(inside, (await walkFunctionDir(inside)).files);
    assert.equal(bin!.sha256, createHash('sha256').update(Buffer.from([0xff, 0x00, 0xfe])).digest('hex'), 'bytes, not text');
  });
});
