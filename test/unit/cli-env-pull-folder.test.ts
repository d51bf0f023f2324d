/**
 * `env pull my-fn` in the folder holding `my-fn/` (new-user round 9): the .env is written here, as
 * asked, and a note says that dev and env push in my-fn/ read the one there, with the --file that
 * writes it there; the values went to the parent folder and dev never saw them.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { answerJson, stubApi } from '../helpers/stub-api.js';

describe('cli: env pull beside the function folder', () => {
  const api = stubApi('fp-cli-env-pull-folder-', (_req, res) => answerJson(res, 200, { function: { name: 'shop', env: { A: '1' }, secrets: [] }, invokeUrl: 'http://x/fn/shop/' }));
  before(() => {
    mkdirSync(join(api.dir, 'shop'));
    writeFileSync(join(api.dir, 'shop', 'platform.yaml'), 'kind: function\nname: shop\nentrypoint: main:handler\n');
  });

  it('names the function folder and --file shop/.env; not with --file, nor in the folder itself', async () => {
    const r = await api.cli(['env', 'pull', 'shop']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.ok(existsSync(join(api.dir, '.env')));
    assert.match(r.stderr, /note: "shop" has its folder here, shop\/, where dev and env push read their \.env; `--file shop\/\.env` writes it there/);
    rmSync(join(api.dir, '.env'));
    const chosen = await api.cli(['env', 'pull', 'shop', '--file', 'x.env']);
    assert.equal(chosen.code, EXIT.OK, chosen.stderr);
    assert.doesNotMatch(chosen.stderr, /has its folder here/);
    const inside = await api.cli(['env', 'pull'], join(api.dir, 'shop'));
    assert.equal(inside.code, EXIT.OK, inside.stderr);
    assert.doesNotMatch(inside.stderr, /has its folder here/);
    assert.ok(existsSync(join(api.dir, 'shop', '.env')));
  });
});
