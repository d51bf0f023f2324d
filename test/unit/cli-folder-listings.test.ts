/**
 * `runs` and `usage` without a name in a function's folder (or below it) are that function's, as
 * `logs` and `invoke` there (new-user round 9: in `my-fn/` they listed every function's, the
 * example `hello` first); `--all` lists the workspace's, and a folder's function that is not
 * deployed says so and what to do.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { answerJson, stubApi } from '../helpers/stub-api.js';

const usageOf = (name: string): Record<string, unknown> => ({
  function: name, window: '15m', state: 'cold', warmInstances: 0, invocations: 0, errors: 0, errorRate: 0, p50Ms: null, p95Ms: null, p99Ms: null,
  coldStarts: 0, coldStartRatio: 0, totals: { invocations: 0, errors: 0, coldStarts: 0 }, lastSuccess: null,
});

describe('cli: runs and usage in a function folder', () => {
  const asked: string[] = [];
  const api = stubApi('fp-cli-folder-listings-', (req, res) => {
    const url = req.url ?? '';
    asked.push(url);
    const json = (status: number, body: unknown): void => answerJson(res, status, body);
    const missing = { ok: false, error: { code: 'FUNCTION_NOT_FOUND', message: 'function "ghost" not found' } };
    if (url.startsWith('/api/v1/functions/ghost')) return json(404, missing);
    const usage = /^\/api\/v1\/functions\/([a-z-]+)\/usage/.exec(url);
    if (usage !== null) return json(200, usageOf(usage[1]!));
    if (url.startsWith('/api/v1/functions?') || url === '/api/v1/functions') return json(200, { items: [{ name: 'hello' }, { name: 'shop' }] });
    if (url.startsWith('/api/v1/functions/')) return json(200, { function: { name: 'shop' } });
    json(200, { items: [], nextCursor: null });
  });
  let shop = '';
  let below = '';
  let ghost = '';
  before(() => {
    shop = join(api.dir, 'shop');
    below = join(shop, 'app', 'routers');
    ghost = join(api.dir, 'ghost');
    mkdirSync(below, { recursive: true });
    mkdirSync(ghost);
    writeFileSync(join(shop, 'platform.yaml'), 'kind: function\nname: shop\nentrypoint: main:handler\n');
    writeFileSync(join(ghost, 'platform.yaml'), 'kind: function\nname: ghost\nentrypoint: main:handler\n');
  });
  const last = (path: string): string | undefined => asked.filter((u) => u.startsWith(path)).at(-1);

  it("runs there lists the folder's function, saying so; --all every function's", async () => {
    for (const cwd of [shop, below]) {
      const r = await api.cli(['runs'], cwd);
      assert.equal(r.code, EXIT.OK, r.stderr);
      assert.match(last('/api/v1/runs') ?? '', /[?&]function=shop(&|$)/);
      assert.match(r.stderr, /\(runs of shop, the function of this folder; --all: every function of the workspace\)/);
    }
    const all = await api.cli(['runs', '--all'], shop);
    assert.equal(all.code, EXIT.OK, all.stderr);
    assert.doesNotMatch(last('/api/v1/runs') ?? '', /function=/);
    assert.equal(all.stderr, '');
    // Outside a function's folder: every function's, as before.
    assert.equal((await api.cli(['runs'])).code, EXIT.OK);
    assert.doesNotMatch(last('/api/v1/runs') ?? '', /function=/);
  });

  it("usage there shows the folder's function; --all the table", async () => {
    const r = await api.cli(['usage'], below);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.match(r.stdout, /^function +shop \(last 15m\)/);
    assert.match(r.stderr, /\(usage of shop, the function of this folder; --all: every function of the workspace\)/);
    const all = await api.cli(['usage', '--all'], shop);
    assert.equal(all.code, EXIT.OK, all.stderr);
    assert.match(all.stdout, /^Last 15m:\nNAME +STATE/);
    assert.match(all.stdout, /\nhello +cold/);
  });

  it('a name and --all together, or --all with a run id, is a usage error', async () => {
    const usage = await api.cli(['usage', 'shop', '--all'], shop);
    assert.equal(usage.code, EXIT.USAGE);
    assert.match(usage.stderr, /usage shop \(one function\) or usage --all, not both/);
    const show = await api.cli(['runs', '5868c7ce-0000-4000-8000-000000000000', '--all']);
    assert.equal(show.code, EXIT.USAGE);
    assert.match(show.stderr, /--all lists the runs of every function/);
  });

  it("a folder's function that is not deployed: FUNCTION_NOT_FOUND saying so and `deploy`", async () => {
    for (const command of ['runs', 'usage']) {
      const r = await api.cli([command], ghost);
      assert.equal(r.code, EXIT.API, r.stderr);
      assert.match(r.stderr, new RegExp(`this folder's function "ghost" is not deployed in this workspace: \`deploy\` creates it .*${command} --all.*\\[FUNCTION_NOT_FOUND\\]`));
      // The folder's note comes with a listing, never before an error, where it would read as its cause.
      assert.doesNotMatch(r.stderr, /the function of this folder/);
    }
    // Every command that took the name from the folder says the same (logs there said "the
    // `functions` command lists …", as for a typo); a name typed stays a name typed.
    for (const argv of [['logs'], ['versions'], ['rollback'], ['triggers']]) {
      const r = await api.cli(argv, ghost);
      assert.equal(r.code, EXIT.API, r.stderr);
      assert.match(r.stderr, /this folder's function "ghost" is not deployed in this workspace: `deploy` creates it \(--workspace picks another workspace\) \[FUNCTION_NOT_FOUND\]/, argv.join(' '));
    }
    const typed = await api.cli(['logs', 'ghost'], ghost);
    assert.doesNotMatch(typed.stderr, /this folder's function/);
  });
});
