/**
 * The one `--json` shape (docs/cli.md, "JSON output"; ADR 0174) on a real embedded platform, each
 * command a separate `node bin/fastapi-platform.js` process: a list (`functions`, `data`) in
 * `items`, one object (`functions show`), and errors with `error: {code, message, exitCode}` on
 * stdout and the exit code of their class: a not-found of the API and of the gateway (`invoke`)
 * both 4, the function's own error status 1.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { documentProblems } from '../../cli/json-document.js';
import { jsonOf as json, spawnCli, type CliResult } from '../helpers/cli-harness.js';
import { fnName, usePlatform } from './platform-harness.js';

const EXIT = { OK: 0, FAILURE: 1, API: 4 };

describe('cli --json: one shape on a real platform', { timeout: 120_000 }, () => {
  const h = usePlatform({ poolSize: 1 });
  const name = fnName('clij');
  let work = '';
  let env: Record<string, string> = {};
  const cli = (argv: string[]): Promise<CliResult> => spawnCli([...argv, '--url', h.url, '--token', h.api.token!, '--json'], { env });
  /** The document, checked against the rule for the exit code it came with. */
  const doc = (r: CliResult): any => { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON
    assert.deepEqual(documentProblems(json(r), r.code), [], r.stdout + r.stderr);
    return json(r);
  };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'fp-cli-json-'));
    env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work };
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'platform.yaml'), `kind: function\nname: ${name}\n`);
    writeFileSync(join(app, 'main.py'), 'def handler(event, context):\n    if event["path"] == "/own":\n        return {"statusCode": 404, "body": "no such order"}\n    return {"ok": 1}\n');
    const deployed = await cli(['deploy', app]);
    assert.equal(deployed.code, EXIT.OK, deployed.stdout + deployed.stderr);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('a list is in items; data lists in items too', async () => {
    const listed = await cli(['functions']);
    assert.equal(listed.code, EXIT.OK, listed.stderr);
    assert.ok(doc(listed).items.some((f: { name: string }) => f.name === name), listed.stdout);
    const data = await cli(['data']);
    assert.ok(Array.isArray(doc(data).items), data.stdout);
  });

  it('one object: functions show has the API answer, the function under function', async () => {
    const shown = await cli(['functions', 'show', name]);
    assert.equal(shown.code, EXIT.OK, shown.stderr);
    assert.equal(doc(shown).function.name, name);
    assert.equal(doc(shown).function.activeVersion, 1);
  });

  it('not found is exit 4 with error.code on stdout, from the API and from the gateway alike', async () => {
    for (const argv of [['functions', 'show', `${name}-none`], ['invoke', `${name}-none`], ['invoke', `${name}-none`, '--async']]) {
      const r = await cli(argv);
      assert.equal(r.code, EXIT.API, `${argv.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(doc(r).error.code, 'FUNCTION_NOT_FOUND', r.stdout);
      assert.equal(doc(r).error.exitCode, EXIT.API);
      // Notes may be on stderr; the error is not (it is the document).
      assert.doesNotMatch(r.stderr, /FUNCTION_NOT_FOUND|^error:/m, r.stderr);
    }
  });

  it("the function's own error status is exit 1, FUNCTION_ANSWERED_ERROR, its body kept", async () => {
    const r = await cli(['invoke', name, '--path', '/own']);
    assert.equal(r.code, EXIT.FAILURE, r.stdout + r.stderr);
    assert.deepEqual([doc(r).error.code, doc(r).error.status, doc(r).status, doc(r).body], ['FUNCTION_ANSWERED_ERROR', 404, 404, 'no such order']);
  });
});
