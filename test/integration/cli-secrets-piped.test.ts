/**
 * A credential shown once is alone on stdout when stdout is not a terminal (ADR 0188, 0199): the
 * webhook secret of `triggers rotate-secret` and the invoke token of `functions rotate-token`, as
 * `tokens create`'s token was already. New-user round 4: `SECRET=$(… triggers rotate-secret hook
 * github)`, for docs/api-invoke.md's signing example, held the sentence and the secret indented on
 * a second line, and every signature made with it was refused `WEBHOOK_SIGNATURE_INVALID`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { stubApi } from '../helpers/stub-api.js';

const SECRET = 'whsec_e3YQz7CkIY6mNn2l2bTJxS4x0y4dGQq8fSYqjv9vU0A';
const INVOKE = 'fpi_9nC0a0F7ZxqkZ2v3mS0yN8fJpX2yQbT6c4wKq1Hq2sE';

describe('a credential shown once, piped', () => {
  const api = stubApi('fp-cli-piped-', (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.method === 'POST' && req.url === '/api/v1/functions/hook/triggers/github/secret/rotate') return res.end(JSON.stringify({ secret: SECRET }));
    if (req.method === 'GET' && req.url === '/api/v1/functions/priv') return res.end(JSON.stringify({ function: { name: 'priv', workspace: 'default', auth: 'token', status: 'active', activeVersion: 1 } }));
    if (req.method === 'POST' && req.url === '/api/v1/functions/priv/tokens/rotate') return res.end(JSON.stringify({ invokeToken: INVOKE }));
    res.writeHead(404).end('{}');
  });

  it('triggers rotate-secret: the secret alone on stdout, the sentence on stderr', async () => {
    const r = await api.cli(['triggers', 'rotate-secret', 'hook', 'github']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.equal(r.stdout, `${SECRET}\n`);
    assert.match(r.stderr, /New secret for webhook "github" of "hook" \(shown only this once\) is on stdout: give it to the sender\./);
    assert.match(r.stderr, /the previous secret keeps working for 1h/);
  });

  it('functions rotate-token: the invoke token alone on stdout, the sentence on stderr', async () => {
    const r = await api.cli(['functions', 'rotate-token', 'priv']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.equal(r.stdout, `${INVOKE}\n`);
    assert.match(r.stderr, /New invoke token for "priv" \(shown once\) is on stdout; saved to the credentials file for `\S.* invoke`; the old one stopped working\./);
  });

  it('--json is unchanged: the document holds the value', async () => {
    const r = await api.cli(['triggers', 'rotate-secret', 'hook', 'github', '--json']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { secret: string }).secret, SECRET);
  });
});
