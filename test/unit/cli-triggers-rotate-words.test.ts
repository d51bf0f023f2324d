/**
 * `triggers rotate-secret` as a new user types it (new-user round 9): an id the function has no
 * webhook of names the ones it has and the one meant (it said only "no webhook trigger "githb""),
 * and in a function's folder `rotate-secret github` is that function's webhook (it took `github`
 * for the function's name and asked for the trigger id).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { answerJson, stubApi } from '../helpers/stub-api.js';

describe('cli: triggers rotate-secret', () => {
  const rotated: string[] = [];
  const api = stubApi('fp-cli-rotate-words-', (req, res) => {
    const url = req.url ?? '';
    const json = (status: number, body: unknown): void => answerJson(res, status, body);
    const rotate = /^\/api\/v1\/functions\/([a-z-]+)\/triggers\/([^/]+)\/secret\/rotate$/.exec(url);
    if (rotate !== null) {
      rotated.push(`${rotate[1]}/${rotate[2]}`);
      if (rotate[1] === 'hook' && rotate[2] === 'github') return json(200, { secret: 'whsec_test' });
      return json(404, { ok: false, error: { code: 'TRIGGER_NOT_FOUND', message: `function "${rotate[1]}" has no webhook trigger "${rotate[2]}" in its active version` } });
    }
    const webhooks = url.startsWith('/api/v1/functions/hook/') ? [{ type: 'webhook', id: 'github', url: 'http://x/hooks/hook/github', style: 'github', sync: false, path: '/' }] : [];
    json(200, { items: [{ type: 'http', invokeUrl: 'http://x/fn/f/', auth: 'public', invocation: 'both' }, ...webhooks] });
  });
  let folder = '';
  before(() => {
    folder = join(api.dir, 'hook');
    mkdirSync(folder);
    writeFileSync(join(folder, 'platform.yaml'), 'kind: function\nname: hook\nentrypoint: main:handler\n');
  });

  it('an id it has no webhook of: the ones it has and the one meant; none: how to declare one', async () => {
    const typo = await api.cli(['triggers', 'rotate-secret', 'hook', 'githb']);
    assert.equal(typo.code, EXIT.API, typo.stderr);
    assert.match(typo.stderr, /no webhook trigger "githb" in its active version; its webhook triggers: github; did you mean "github"\? \[TRIGGER_NOT_FOUND\]/);
    const none = await api.cli(['triggers', 'rotate-secret', 'plain', 'github']);
    assert.match(none.stderr, /; it declares none: add one to platform\.yaml \(`triggers: \[\{type: webhook, id: github\}\]`\) and deploy \[TRIGGER_NOT_FOUND\]/);
  });

  it("in a function's folder the name may be left out: rotate-secret <triggerId>", async () => {
    const r = await api.cli(['triggers', 'rotate-secret', 'github'], folder);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.equal(rotated.at(-1), 'hook/github');
    assert.equal(r.stdout.trim(), 'whsec_test');
    // With both given, they are the name and the id, in a folder too.
    assert.equal((await api.cli(['triggers', 'rotate-secret', 'plain', 'github'], folder)).code, EXIT.API);
    assert.equal(rotated.at(-1), 'plain/github');
  });
});
