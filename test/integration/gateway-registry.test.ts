/** DirectoryRegistry over real files in a temp directory. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { DirectoryRegistry, RegistryError } from '../../gateway/index.js';

function tempRoot(t: TestContext): string {
  const root = mkdtempSync(join(tmpdir(), 'fp-reg-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

function put(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

describe('DirectoryRegistry', () => {
  it('loads each folder with a platform.yaml into a FunctionVersion', async (t) => {
    const root = tempRoot(t);
    put(root, {
      'alpha/platform.yaml': 'kind: function\nname: alpha\nlimits:\n  timeout: 2s\n  memory: 64Mi\n  maxQueue: 0\nenv:\n  HOME_COPY: ${HOME}\n',
      'alpha/main.py': 'def handler(e, c):\n    return 1\n',
      'beta/platform.yaml': 'kind: function\nname: beta\nentrypoint: app:app\nversion: release-3\n',
      'notes/README.md': 'no manifest: skipped',
      '.hidden/platform.yaml': 'garbage: [',
      '_draft/platform.yaml': 'garbage: [',
    });
    const registry = await DirectoryRegistry.load(root, { platformEnv: { HOME: '/home/me' } });
    assert.deepEqual(registry.list().map((f) => f.name), ['alpha', 'beta']);
    const alpha = registry.get('alpha')!;
    assert.equal(alpha.dir, join(root, 'alpha'));
    assert.equal(alpha.entrypoint, 'main:handler');
    assert.equal(alpha.timeoutMs, 2000);
    assert.equal(alpha.memoryBytes, 64 * 1024 * 1024);
    assert.equal(alpha.maxQueue, 0);
    assert.deepEqual(alpha.env, { HOME_COPY: '/home/me' });
    assert.match(alpha.version, /^[0-9a-f]{12}$/);
    assert.equal(registry.get('beta')?.version, 'release-3');
    assert.equal(registry.manifest('beta')?.entrypoint, 'app:app');
    assert.equal(registry.get('gamma'), undefined);
    assert.ok(Object.isFrozen(alpha));
  });

  it('derives the version from the content: same files same version, any edit a new one', async (t) => {
    const root = tempRoot(t);
    put(root, { 'f/platform.yaml': 'kind: function\nname: f\n', 'f/main.py': 'A = 1\n', 'f/__pycache__/main.cpython-311.pyc': 'x' });
    const v1 = (await DirectoryRegistry.load(root)).get('f')!.version;
    put(root, { 'f/__pycache__/main.cpython-311.pyc': 'changed bytecode is ignored' });
    assert.equal((await DirectoryRegistry.load(root)).get('f')!.version, v1);
    put(root, { 'f/main.py': 'A = 2\n' });
    const v2 = (await DirectoryRegistry.load(root)).get('f')!.version;
    assert.notEqual(v2, v1);
    put(root, { 'f/lib/util.py': '' });
    assert.notEqual((await DirectoryRegistry.load(root)).get('f')!.version, v2);
  });

  it('fails with every bad function listed at once', async (t) => {
    const root = tempRoot(t);
    put(root, {
      'good/platform.yaml': 'kind: function\nname: good\n',
      'typo/platform.yaml': 'kind: function\nname: typo\nlimit:\n  timeout: 1s\n',
      'yaml/platform.yaml': 'kind: function\nname: [unclosed\n',
      'mismatch/platform.yaml': 'kind: function\nname: other\n',
      'unset/platform.yaml': 'kind: function\nname: unset\nenv:\n  X: ${NOT_SET_ANYWHERE}\n',
    });
    await assert.rejects(DirectoryRegistry.load(root, { platformEnv: {} }), (err: unknown) => {
      assert.ok(err instanceof RegistryError);
      assert.equal(err.code, 'BAD_FUNCTIONS_DIR');
      assert.deepEqual(err.problems.map((p) => p.function).sort(), ['mismatch', 'typo', 'unset', 'yaml']);
      return true;
    });
  });

  it('fails clearly when the directory does not exist', async () => {
    await assert.rejects(DirectoryRegistry.load('/nonexistent/functions'), { code: 'BAD_FUNCTIONS_DIR' });
  });
});
