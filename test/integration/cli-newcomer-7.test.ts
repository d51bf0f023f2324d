/**
 * New-user round 7 (docs/adr/0075-newcomer-round-7.md), what the CLI prints against a stand-in API.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { stubApi } from '../helpers/stub-api.js';

const RUN = '0f7dee35-5030-4af2-b7e7-3a5ab8839732';

describe('cli invoke --test: a failed call shows its exception, as a direct call does', () => {
  const api = stubApi('fp-cli-new7-test-', (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        runId: RUN, status: 500, headers: { 'content-type': 'application/json' }, durationMs: 2, cold: false,
        body: { error: { code: 'FUNCTION_ERROR', message: 'The function raised an error.', component: 'function', runId: RUN } },
        error: { code: 'FUNCTION_ERROR', type: 'KeyError', message: "'missing' \x1b[31m", file: 'main.py', line: 4 },
      }));
    });
  });

  it('prints the test invoke answer\'s error (type, message escaped, file:line); --json carries it', async () => {
    const r = await api.cli(['invoke', 'f', '--test', '-d', '{}']);
    assert.equal(r.code, EXIT.FAILURE, r.stderr);
    assert.match(r.stdout, /^error \(from the test invoke\): KeyError: 'missing' \\x1b\[31m {2}\(main\.py:4\)$/m);
    const json = await api.cli(['invoke', 'f', '--test', '-d', '{}', '--json']);
    assert.deepEqual((JSON.parse(json.stdout) as { error: unknown }).error, { code: 'FUNCTION_ERROR', type: 'KeyError', message: "'missing' \x1b[31m", file: 'main.py', line: 4, status: 500, exitCode: EXIT.FAILURE });
  });
});

describe('cli functions <name>: shows the function, as `env <name>` lists its env', () => {
  const asked: string[] = [];
  const api = stubApi('fp-cli-new7-fn-', (req, res) => {
    asked.push(`${req.method} ${req.url}`);
    if (req.url === '/api/v1/functions/shop') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ function: { name: 'shop', status: 'active', activeVersion: 2 }, invokeUrl: 'http://x/fn/shop/', contract: {} }));
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'FUNCTION_NOT_FOUND', message: 'not found' } }));
  });

  it('`functions shop` asks for the function shop (it was "unknown subcommand \"shop\"; did you mean \"show\"?")', async () => {
    await api.cli(['functions', 'shop']);
    assert.ok(asked.includes('GET /api/v1/functions/shop'), asked.join('\n'));
  });

  it('no function of a name close to a subcommand: a usage error that names the subcommand', async () => {
    const r = await api.cli(['functions', 'puase']);
    assert.equal(r.code, EXIT.USAGE);
    assert.match(r.stderr, /no function named "puase" in this workspace, and no subcommand "puase"; did you mean "pause"\?/);
    const other = await api.cli(['functions', 'nothing-here']);
    assert.equal(other.code, EXIT.API);
    assert.match(other.stderr, /no function named "nothing-here"/);
  });
});

describe('cli triggers without a name: the usage error reads as the other commands\' do', () => {
  const api = stubApi('fp-cli-new7-trig-', (_req, res) => res.end());
  it('`triggers needs the function name` (it said `triggers <name> needs …`)', async () => {
    const r = await api.cli(['triggers']);
    assert.equal(r.code, EXIT.USAGE);
    assert.match(r.stderr, /error: triggers needs the function name: \S.* triggers <name>/);
    const rotate = await api.cli(['triggers', 'rotate-secret']);
    assert.match(rotate.stderr, /error: triggers rotate-secret needs the function name: \S.* triggers rotate-secret <name> <triggerId>/);
  });
});

describe('cli deploy --dry-run: what a deploy would change, nothing sent that changes anything', () => {
  const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
  const MAIN = 'def handler(event, context):\n    return {"v": 2}\n';
  const YAML = 'kind: function\nname: shop\nentrypoint: main:handler\nenv:\n  KEPT: "1"\n  CHANGED: from-yaml\n  NEW: n\n';
  const writes: string[] = [];
  let latest = 3;
  const api = stubApi('fp-cli-new7-dry-', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST' && req.url === '/api/v1/blobs/missing') {
        const { sha256 } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { sha256: string[] };
        return res.end(JSON.stringify({ missing: sha256.filter((h) => h !== sha(YAML)) }));
      }
      if (req.method !== 'GET') writes.push(`${req.method} ${req.url}`);
      if (req.url === '/api/v1/functions/shop') {
        return res.end(JSON.stringify({ function: { name: 'shop', status: 'active', activeVersion: 3, env: { KEPT: '1', CHANGED: 'pushed', EXTRA: 'x', OTHER: 'y' }, secrets: ['S'] }, invokeUrl: 'http://x/fn/shop/' }));
      }
      if (req.url === '/api/v1/functions/shop/versions?limit=1') return res.end(JSON.stringify({ items: [{ version: latest }] }));
      if (req.url === '/api/v1/functions/shop/versions/4') {
        // After a rollback to 3: the newest version holds this very folder.
        return res.end(JSON.stringify({ version: { version: 4, entrypoint: 'main:handler', manifest: { kind: 'function', name: 'shop', entrypoint: 'main:handler', env: { KEPT: '1', CHANGED: 'from-yaml', NEW: 'n' } }, changes: { added: [], modified: [], removed: [] }, files: [{ path: 'main.py', sha256: sha(MAIN), size: MAIN.length }, { path: 'platform.yaml', sha256: sha(YAML), size: YAML.length }] } }));
      }
      if (req.url === '/api/v1/functions/shop/versions/3') {
        return res.end(JSON.stringify({ version: { version: 3, entrypoint: 'main:handler', manifest: {}, changes: { added: [], modified: [], removed: [] }, files: [{ path: 'main.py', sha256: sha('old'), size: 3 }, { path: 'platform.yaml', sha256: sha(YAML), size: YAML.length }, { path: 'gone.py', sha256: sha('x'), size: 1 }] } }));
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ error: { code: 'FUNCTION_NOT_FOUND', message: 'not found' } }));
    });
  });

  it('lists the files since the active version, the uploads and the env it would remove; only reads', async () => {
    const dir = join(api.dir, 'shop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'main.py'), MAIN);
    writeFileSync(join(dir, 'platform.yaml'), YAML);
    const r = await api.cli(['deploy', dir, '--dry-run']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.match(r.stdout, /^Would deploy a new version of "shop" \(active now: 3\)\.$/m);
    assert.match(r.stdout, /^Changes since version 3: 0 added, 1 modified, 1 removed\n {2}~ main\.py\n {2}- gone\.py$/m);
    assert.match(r.stdout, new RegExp(`^Would upload 1 file \\(${MAIN.length} B\\); the platform has the rest\\.$`, 'm'));
    assert.match(r.stdout, /^Would remove env EXTRA, OTHER: not in platform\.yaml's env/m);
    // What it would set, and a value pushed since set back (the dry run said nothing of either).
    assert.match(r.stdout, /^Would set env NEW \(new in platform\.yaml's env\)\.$/m);
    assert.match(r.stdout, /^Would set env CHANGED back to platform\.yaml's value/m);
    assert.doesNotMatch(r.stdout, /pushed|from-yaml/, 'values are not shown');
    assert.match(r.stderr, /Dry run: nothing was uploaded or changed\./);
    assert.deepEqual(writes, []);
    const json = JSON.parse((await api.cli(['deploy', dir, '--dry-run', '--json'])).stdout) as Record<string, unknown>;
    assert.deepEqual({ ...json, changes: undefined }, { ok: true, dryRun: true, function: 'shop', created: false, activeVersion: 3, changes: undefined, unchanged: false, upload: { files: 1, bytes: MAIN.length }, envRemoved: ['EXTRA', 'OTHER'], envAdded: ['NEW'], envChanged: ['CHANGED'], redeploys: null });
    const both = await api.cli(['deploy', dir, '--dry-run', '--force']);
    assert.equal(both.code, EXIT.USAGE);
    // After a rollback (active 3, newest 4 holding this folder) the deploy makes 4 active again, no new version.
    latest = 4;
    const again = await api.cli(['deploy', dir, '--dry-run']);
    assert.match(again.stdout, /^Would deploy version 4 of "shop" again \(it holds this folder; active now: 3\): no new version\.$/m);
    assert.deepEqual(writes, []);
  });
});
