/**
 * An upload's warnings (ADR 0248) cost a Python check (~80-160 ms here, more than the rest of a
 * small upload); an upload of files, entrypoint and ceilings checked before in the same workspace
 * answers that check's warnings without a new one (ADR 0248, amended in loose ends round 9). A
 * real CodeChecker on the runtime's Python; its checks counted.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CodeChecker } from '../../controlplane/service/code-check.js';
import type { ServiceContext } from '../../controlplane/service/context.js';
import { versionWarnings } from '../../controlplane/service/version-warnings.js';
import type { VersionRecord } from '../../controlplane/store/index.js';
import { DEFAULT_LIMIT_CEILINGS } from '../../protocol/index.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CODE = Buffer.from('import requests\n\ndef handler(event, context):\n    return 1\n');
const sha = createHash('sha256').update(CODE).digest('hex');
const version = (entrypoint = 'main:handler'): VersionRecord => ({
  function: 'f', version: 1, entrypoint, files: [{ path: 'main.py', sha256: sha, size: CODE.length }], manifest: null,
  createdAt: 0, createdBy: 'u', note: '', changes: { added: ['main.py'], changed: [], removed: [] },
} as unknown as VersionRecord);

describe('version warnings: an identical upload reuses its check', () => {
  it('checks once per workspace, files, entrypoint and ceilings; answers the same warnings', async () => {
    const checker = new CodeChecker({ python: join(ROOT, '.venv', 'bin', 'python'), script: join(ROOT, 'runtime', 'validate.py') }, () => {});
    let checks = 0;
    const check = checker.check.bind(checker);
    checker.check = (...args) => { checks++; return check(...args); };
    const ctx = {
      codeCheck: checker,
      store: { blobs: { get: async (s: string) => (s === sha ? CODE : null) } },
      fileReads: { with: <T>(_w: string, _b: number, run: () => Promise<T>) => run() },
    } as unknown as ServiceContext;
    const first = await versionWarnings(ctx, 'ws-a', version(), DEFAULT_LIMIT_CEILINGS);
    assert.ok('warnings' in first && first.warnings.length === 1, JSON.stringify(first));
    assert.deepEqual(await versionWarnings(ctx, 'ws-a', version(), DEFAULT_LIMIT_CEILINGS), first);
    assert.equal(checks, 1, 'the same upload again: no new check');
    await versionWarnings(ctx, 'ws-b', version(), DEFAULT_LIMIT_CEILINGS);
    assert.equal(checks, 2, 'another workspace: its own check (no timing oracle across tenants)');
    await versionWarnings(ctx, 'ws-a', version('main:other'), DEFAULT_LIMIT_CEILINGS);
    await versionWarnings(ctx, 'ws-a', version(), { ...DEFAULT_LIMIT_CEILINGS, maxFunctionInstances: 5 });
    assert.equal(checks, 4, 'another entrypoint or other ceilings: a new check');
  });
});
