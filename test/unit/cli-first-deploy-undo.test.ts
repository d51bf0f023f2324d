/**
 * A first deploy refused before its function had a version deletes the function it created (ADR
 * 0170), but only while that function is still as it created it (red team round 37): a teammate's
 * deploy of the same name during the refused deploy's upload found the function, made a version and
 * deployed it, and the refusal then deleted that function with its versions, deploy log and runs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ApiClient, ApiFunction } from '../../cli/client.js';
import { deployFolder, type DeployPlan } from '../../cli/deploy-flow.js';
import { CliError } from '../../cli/errors.js';
import type { Preflight } from '../../cli/preflight.js';
import { parseManifest } from '../../protocol/index.js';

const SHA = 'a'.repeat(64);
const dir = mkdtempSync(join(tmpdir(), 'fp-undo-'));
writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return 1\n');

/** The function as the fake platform holds it. */
function fn(activeVersion: number | null, tags: Record<string, string>): ApiFunction {
  return { name: 'hook', runtime: 'http', invocation: 'both', limits: {}, env: {}, auth: 'public', status: activeVersion === null ? 'not-deployed' : 'ready', activeVersion, settingTags: tags } as unknown as ApiFunction;
}

/**
 * A platform on which the upload is refused (the workspace's codeBytes); `meanwhile` runs just before
 * that refusal, as another deploy of the same name would during a long upload. The names deleted.
 */
async function refusedFirstDeploy(meanwhile: (state: { fn: ApiFunction | null; versions: number[] }) => void): Promise<{ deleted: string[]; message: string }> {
  const state: { fn: ApiFunction | null; versions: number[] } = { fn: null, versions: [] };
  const deleted: string[] = [];
  const client = {
    async createFunction() {
      state.fn = fn(null, { env: 'e0', limits: 'l0' });
      return { function: state.fn, invokeUrl: '/fn/hook/' };
    },
    async putBlob() {
      await new Promise((r) => setTimeout(r, 5));
      meanwhile(state);
      throw new CliError(4, 'QUOTA_EXCEEDED', 'the upload is past the workspace\'s codeBytes quota');
    },
    async getFunction() {
      return state.fn === null ? null : { function: state.fn, invokeUrl: '/fn/hook/' };
    },
    async listVersions() {
      return state.versions.map((version) => ({ version }));
    },
    async deleteFunction(name: string) {
      deleted.push(name);
      state.fn = null;
    },
  } as unknown as ApiClient;
  const raw = { kind: 'function', name: 'hook' };
  const checked = { dir, ok: true, problems: [], warnings: [], heldImports: [], rawManifest: raw, manifest: parseManifest(raw), files: [{ path: 'main.py', size: 42 }], totalBytes: 42, python: null, dependencies: [], envUnset: [] } as unknown as Preflight;
  const file = { path: 'main.py', sha256: SHA, size: 42 };
  const plan = { existing: null, files: [file], byHash: new Map([[SHA, file]]), active: null, missing: [SHA] } as unknown as DeployPlan;
  const err = await deployFolder(client, checked, {}, plan).then(() => assert.fail('the deploy was not refused'), (e: unknown) => e);
  assert.ok(err instanceof CliError, String(err));
  assert.equal(err.code, 'QUOTA_EXCEEDED');
  return { deleted, message: err.message };
}

describe('a refused first deploy takes back only the function it created', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('deletes it when nobody else touched it', async () => {
    const { deleted, message } = await refusedFirstDeploy(() => undefined);
    assert.deepEqual(deleted, ['hook']);
    assert.match(message, /Nothing was kept: the function "hook" this deploy had created was deleted again/);
  });

  it('keeps it when another deploy of the same name made a version and deployed it meanwhile', async () => {
    const { deleted, message } = await refusedFirstDeploy((s) => {
      s.versions = [1];
      s.fn = fn(1, { env: 'e0', limits: 'l0' });
    });
    assert.deepEqual(deleted, [], 'the teammate\'s deployed function was deleted');
    assert.match(message, /The function "hook" this deploy had created was not deleted: it has a version or settings this deploy did not give it/);
  });

  it('keeps it when another deploy made a version not yet active, or changed its settings', async () => {
    const made = await refusedFirstDeploy((s) => { s.versions = [1]; });
    assert.deepEqual(made.deleted, []);
    const changed = await refusedFirstDeploy((s) => { s.fn = fn(null, { env: 'e1', limits: 'l0' }); });
    assert.deepEqual(changed.deleted, []);
  });

  it('says nothing was kept when someone deleted it meanwhile, without claiming it holds a slot', async () => {
    const { deleted, message } = await refusedFirstDeploy((s) => { s.fn = null; });
    assert.deepEqual(deleted, []);
    assert.match(message, /Nothing was kept: the function "hook" this deploy had created is gone already/);
  });
});
