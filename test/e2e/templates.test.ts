/**
 * Every `init` template as a new user meets it (issue 15): scaffolded by the CLI, its own tests
 * pass under pytest, it validates, deploys to a real embedded platform and answers its sample
 * payload the way its docstring says (sync, async with --wait, or a signed webhook delivery).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { TEMPLATES } from '../../cli/commands/init.js';
import { ROOT, runCli } from '../helpers/cli-harness.js';
import { serverSkip } from '../helpers/servers.js';
import { fnName, sleep, usePlatform } from './platform-harness.js';

const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const run = promisify(execFile);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- CLI JSON answers
type Json = any;

describe('init templates: scaffold, test, validate, deploy, invoke', { timeout: 240_000 }, () => {
  // The mongo template needs pymongo in the runtime's venv (runtime/requirements.txt; FP_TEST_PYTHON: another interpreter).
  const h = usePlatform(process.env.FP_TEST_PYTHON ? { pythonPath: process.env.FP_TEST_PYTHON } : {});
  const root = mkdtempSync(join(tmpdir(), 'fp-templates-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const cli = async (argv: string[], cwd: string): Promise<Json> => {
    const r = await runCli([...argv, '--json'], { cwd, env: { FP_URL: h.url, FP_TOKEN: h.api.token! } });
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stdout}${r.stderr}`);
    return JSON.parse(r.stdout) as Json;
  };

  /** Scaffolds, runs the template's own tests, validates and deploys; returns the folder. */
  async function scaffold(template: string, name: string): Promise<{ dir: string; deployed: Json }> {
    const dir = join(root, name);
    const made = await cli(['init', dir, '--template', template], root);
    assert.ok(made.files.includes('conftest.py') && made.files.some((f: string) => f.startsWith('test_')), JSON.stringify(made.files));
    const tests = await run(PYTHON, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider'], { cwd: dir, env: { PATH: process.env.PATH ?? '', PYTHONDONTWRITEBYTECODE: '1' } });
    assert.match(tests.stdout, /\d+ passed/);
    assert.equal((await cli(['validate'], dir)).ok, true);
    return { dir, deployed: await cli(['deploy'], dir) };
  }

  it('covers every template', () => {
    assert.deepEqual([...TEMPLATES].sort(), ['cron', 'fastapi', 'http', 'mongo', 'webhook', 'worker']);
  });

  it('http answers its payload', async () => {
    const name = fnName('tpl-http');
    const { dir, deployed } = await scaffold('http', name);
    assert.equal(deployed.asyncUrl, `${h.url}/async/${name}/`, 'invocation: both in the template');
    const answer = await cli(['invoke', name, '--file', 'payload.json'], dir);
    assert.equal(answer.status, 200, JSON.stringify(answer));
    assert.match(JSON.stringify(answer.body), /Ada|hello/i);
    // A caller's malformed body is the caller's mistake: 400 with a reason, not a 500 FUNCTION_ERROR.
    for (const body of ['{"name":', '[1, 2]']) {
      const r = await runCli(['invoke', name, '--data', body, '--json'], { cwd: dir, env: { FP_URL: h.url, FP_TOKEN: h.api.token! } });
      const bad = JSON.parse(r.stdout) as Json;
      assert.deepEqual([r.code, bad.status], [1, 400], r.stdout);
      assert.match(bad.body.error, /JSON/);
    }
  });

  it('mongo stores its payload in its database and lists the run\'s writes', { skip: serverSkip('ferretdb') }, async () => {
    const name = fnName('tpl-mongo');
    const { dir } = await scaffold('mongo', name);
    const answer = await cli(['invoke', name, '--file', 'payload.json'], dir);
    assert.equal(answer.status, 200, JSON.stringify(answer));
    assert.equal(answer.body.orders[0].item, 'pen');
    const writes = await cli(['runs', answer.runId, '--writes'], dir);
    assert.deepEqual(writes.writes.map((w: Json) => [w.database, w.collection, w.inserted]), [['default_app', 'orders', 1]]);
  });

  it('fastapi answers /greet', async () => {
    const name = fnName('tpl-fastapi');
    const { dir } = await scaffold('fastapi', name);
    const answer = await cli(['invoke', name, '--path', '/greet', '--file', 'payload.json'], dir);
    assert.equal(answer.status, 200, JSON.stringify(answer));
    assert.equal(typeof answer.body.message, 'string');
  });

  for (const template of ['worker', 'cron']) {
    it(`${template} runs its payload as an async run`, async () => {
      const name = fnName(`tpl-${template}`);
      const { dir, deployed } = await scaffold(template, name);
      assert.equal(deployed.asyncUrl, `${h.url}/async/${name}/`, 'an async function is shown its async URL');
      assert.match(deployed.asyncCurl, /-X POST/);
      const answer = await cli(['invoke', name, '--async', '--wait', '--file', 'payload.json'], dir);
      assert.equal(answer.state, 'succeeded', JSON.stringify(answer));
      const result = JSON.stringify(answer.result);
      assert.match(result, template === 'worker' ? /"total"/ : /"job":"report"/);
    });
  }

  it('webhook takes a GitHub-signed delivery and refuses an unsigned one', async () => {
    const name = fnName('tpl-webhook');
    const { dir, deployed } = await scaffold('webhook', name);
    // deploy names the webhook's URL (and, in text, how to get its secret).
    assert.deepEqual([deployed.webhooks, deployed.webhookUrls], [['github'], [`${h.url}/hooks/${name}/github`]]);
    const rotated = await h.api.call('POST', `/functions/${name}/triggers/github/secret/rotate`, {});
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const body = readFileSync(join(dir, 'payload.json'), 'utf8');
    const url = `${h.url}/hooks/${name}/github`;
    const unsigned = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push' }, body });
    assert.equal(unsigned.status, 401);
    const signature = `sha256=${createHmac('sha256', rotated.body.secret as string).update(body).digest('hex')}`;
    const accepted = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature }, body });
    assert.equal(accepted.status, 202, await accepted.clone().text());
    const { runId } = (await accepted.json()) as { runId: string };
    for (let i = 0; ; i++) {
      const r = await h.api.call('GET', `/runs/${runId}`);
      if (r.body?.run?.state === 'succeeded') {
        assert.match(JSON.stringify(r.body.run), /"commits":1/);
        break;
      }
      assert.ok(i < 150, JSON.stringify(r.body));
      await sleep(100);
    }
  });
});
