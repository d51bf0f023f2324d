/** Saving a checked bundle into the embedded blob store and materializing a version on disk. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkBundle, materialize, saveBundle } from '../../controlplane/bundles/index.js';
import { CodeDirs } from '../../controlplane/service/code-dirs.js';
import type { BlobStore, Store, VersionRecord } from '../../controlplane/store/index.js';
import { openSqliteStore } from '../../controlplane/store/sqlite/index.js';
import { settings, sha256, uniqueName } from '../conformance/fixtures.js';
import { testKeyring } from '../helpers/keyring.js';

const ring = testKeyring();

const b64 = (text: string) => Buffer.from(text).toString('base64');

let dir: string;
let store: Store;
let version: VersionRecord;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fp-materialize-'));
  store = await openSqliteStore({ keyring: ring, stateDir: join(dir, 'state') });
  const name = uniqueName();
  await store.functions.create(name, settings());
  const bundle = checkBundle({ 'main.py': b64('def handler(e, c):\n    return 1\n'), 'pkg/__init__.py': b64(''), 'pkg/util.py': b64('X = 2\n') });
  const files = await saveBundle(bundle, store.blobs);
  version = await store.versions.create({ function: name, entrypoint: 'main:handler', files, manifest: {}, createdBy: 'test' });
});

after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('bundle save and materialize', () => {
  it('saves contents as blobs and resolves references to stored content', async () => {
    const util = version.files.find((f) => f.path === 'pkg/util.py')!;
    const next = checkBundle([{ path: 'pkg/util.py', sha256: util.sha256 }, { path: 'main.py', contentBase64: b64('changed') }]);
    const files = await saveBundle(next, store.blobs);
    assert.deepEqual(files.find((f) => f.path === 'pkg/util.py'), { path: 'pkg/util.py', sha256: util.sha256, size: 6 });
    assert.equal((await store.blobs.get(sha256('changed')))?.toString(), 'changed');
  });

  it('refuses a reference to content never uploaded, and size limits count referenced files', async () => {
    const ghost = checkBundle([{ path: 'ghost.bin', sha256: sha256('never uploaded') }]);
    await assert.rejects(saveBundle(ghost, store.blobs), { code: 'BUNDLE_BLOB_MISSING', path: 'ghost.bin' });
    const util = version.files.find((f) => f.path === 'pkg/util.py')!;
    const big = checkBundle([{ path: 'u.py', sha256: util.sha256 }]);
    await assert.rejects(saveBundle(big, store.blobs, { maxFileBytes: 5 }), { code: 'BUNDLE_FILE_TOO_LARGE', path: 'u.py' });
  });

  it('writes the version into a directory, hard-linked from the blobs', async () => {
    const target = join(dir, 'functions', 'v1');
    const result = await materialize(version, store.blobs, target);
    assert.deepEqual([result.created, result.linked, result.copied], [true, 3, 0]);
    assert.equal(await readFile(join(target, 'main.py'), 'utf8'), 'def handler(e, c):\n    return 1\n');
    assert.equal(await readFile(join(target, 'pkg', 'util.py'), 'utf8'), 'X = 2\n');
    const main = version.files.find((f) => f.path === 'main.py')!;
    assert.equal((await stat(join(target, 'main.py'))).ino, (await stat((await store.blobs.localPath(main.sha256))!)).ino);
    assert.deepEqual((await readdir(join(dir, 'functions'))).sort(), ['v1'], 'no temporary directory left');
    const again = await materialize(version, store.blobs, target);
    assert.equal(again.created, false);
  });

  it('copies when asked to, or when the blob store has no local files', async () => {
    const copied = await materialize(version, store.blobs, join(dir, 'functions', 'copy'), { mode: 'copy' });
    assert.deepEqual([copied.linked, copied.copied], [0, 3]);
    const remote: BlobStore = { ...bind(store.blobs), localPath: async () => null };
    const fetched = await materialize(version, remote, join(dir, 'functions', 'remote'));
    assert.deepEqual([fetched.linked, fetched.copied], [0, 3]);
    assert.equal(await readFile(join(dir, 'functions', 'remote', 'pkg', 'util.py'), 'utf8'), 'X = 2\n');
  });

  it('leaves nothing behind when a blob is missing', async () => {
    const broken = { files: [...version.files, { path: 'lost.py', sha256: sha256('lost'), size: 4 }] };
    await assert.rejects(materialize(broken, store.blobs, join(dir, 'broken', 'v9')));
    assert.deepEqual(await readdir(join(dir, 'broken')), []);
  });

  it('lets two materializations of the same version race safely', async () => {
    const target = join(dir, 'race', 'v1');
    const results = await Promise.all([materialize(version, store.blobs, target), materialize(version, store.blobs, target)]);
    assert.equal(results.filter((r) => r.created).length >= 1, true);
    assert.deepEqual((await readdir(join(dir, 'race'))).sort(), ['v1']);
    assert.equal(await readFile(join(target, 'main.py'), 'utf8'), 'def handler(e, c):\n    return 1\n');
  });

  it('writes every file of a version with the version\'s creation time, so its copies agree on it', async () => {
    // Starlette's StaticFiles and FileResponse make Last-Modified and the ETag from the file's mtime:
    // two platform processes (production mode), or one process after a restart, that each write
    // the version must give the same, or a conditional request to the other gets a full 200.
    const first = new CodeDirs(join(dir, 'replica-a'), store.blobs);
    const second = new CodeDirs(join(dir, 'replica-b'), store.blobs);
    const a = await first.ensure(version);
    const b = await second.ensure(version);
    for (const file of ['main.py', 'pkg/util.py']) {
      // Written after the version was created: only a time set on purpose equals its creation time.
      const [sa, sb] = [await stat(join(a, file)), await stat(join(b, file))];
      assert.equal(Math.round(sa.mtimeMs), version.createdAt, file);
      assert.equal(sb.mtimeMs, sa.mtimeMs, file);
    }
  });

  it('prepares a version written now, and tells the pool of every version it ensures, written now or before', async () => {
    const prepared: string[] = [];
    const expected: string[][] = [];
    const root = join(dir, 'told');
    const make = (): CodeDirs => new CodeDirs(root, store.blobs, async (d) => { prepared.push(d); return true; }, null, (d, entrypoint) => { expected.push([d, entrypoint]); });
    const written = await make().ensure(version);
    const again = await make().ensure(version); // a restart: the directory is there
    assert.equal(again, written);
    assert.deepEqual(prepared, [written], 'compiled once, when written');
    assert.deepEqual(expected, [[written, version.entrypoint], [written, version.entrypoint]], 'expected both times (its preset\'s zygote starts)');
  });
});

/** The blob store's methods bound to it, so they survive being spread into another object. */
function bind(blobs: BlobStore): BlobStore {
  return {
    has: (s) => blobs.has(s),
    size: (s) => blobs.size(s),
    put: (d, s) => blobs.put(d, s),
    get: (s) => blobs.get(s),
    localPath: (s) => blobs.localPath(s),
    touch: (s) => blobs.touch(s),
    sweep: (c, u) => blobs.sweep(c, u),
  };
}
