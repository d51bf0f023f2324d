/**
 * `fastapi-platform logs` against a real embedded platform with real Python functions: `--follow`
 * gets a line while its call still waits for the test (liveness), also from a call its timeout
 * then kills; it reconnects after a platform restart and shows every line once; what a function
 * prints stays one SSE event and reaches the terminal escaped; filters; only API tokens may tail (workspace scoping: platform-tenants-logs-deps.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPlatform, type StartedPlatform } from '../../platform/start.js';
import { spawnCli } from '../helpers/cli-harness.js';
import { startGate, gatedHandler, RawStream, startProxy, Tail, type Gate } from './logs-harness.js';
import { Api, createFunction, deploy, errorOf, fnName, TEST_SECRETS_KEY, upload } from './platform-harness.js';

const EXIT_API = 4;

describe('logs and logs --follow (embedded platform)', () => {
  let stateDir: string;
  let configDir: string;
  let platform: StartedPlatform;
  let api: Api;
  let gate: Gate;
  const tails: Tail[] = [];
  const FN = fnName('logs');
  const SHORT = fnName('short');
  const start = (port: number): Promise<StartedPlatform> =>
    startPlatform({ stateDir, port, poolSize: 1, shutdownGraceMs: 2000, secretsKey: TEST_SECRETS_KEY, log: () => {} });

  before(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'fp-logs-'));
    configDir = mkdtempSync(join(tmpdir(), 'fp-logs-cfg-'));
    gate = await startGate();
    platform = await start(0);
    api = new Api(platform.url, platform.takeAdminToken() ?? null);
    for (const [name, timeout] of [[FN, '30s'], [SHORT, '2s']] as const) {
      await createFunction(api, name, { limits: { timeout } });
      await upload(api, name, gatedHandler(gate.url));
      await deploy(api, name);
    }
  });
  after(async () => {
    for (const t of tails) t.kill();
    await platform?.close();
    await gate?.close();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(configDir, { recursive: true, force: true });
  });

  const follow = (name: string, ...args: string[]): Tail => followAt(platform.url, name, ...args);
  const followAt = (url: string, name: string, ...args: string[]): Tail => {
    const tail = new Tail(url, api.token, [name, '-n', '0', ...args], { FP_CONFIG_DIR: configDir });
    tails.push(tail);
    return tail;
  };
  const invoke = (name: string, query: Record<string, string>): Promise<Response> => fetch(`${platform.url}/fn/${name}/?${new URLSearchParams(query)}`);
  const tag = (): string => Math.random().toString(36).slice(2, 10);

  it('--follow gets a line while its call still waits for the test, then the rest and the end', async () => {
    const tail = follow(FN);
    await tail.waitFor((e) => e.type === 'ready', 'ready');
    const k = tag();
    const call = invoke(FN, { say: `live-${k}`, wait: k, then: `after-${k}` });
    const line = await tail.line(`live-${k}`);
    // The call is blocked on the gate until now: the line can only have come live.
    gate.release(k);
    assert.equal((await call).status, 200);
    await tail.line(`after-${k}`);
    const end = await tail.waitFor((e) => e.type === 'end' && e['runId'] === line['runId'], 'the end of the run');
    assert.equal(end['status'], 'succeeded');
    assert.equal(end['lines'], 2);
    assert.equal(await tail.stop(), 0);
  });

  it('--follow --run ends with its run: one in flight (no stored lines yet) when it ends, an ended one at once', async () => {
    const watcher = follow(FN);
    await watcher.waitFor((e) => e.type === 'ready', 'ready');
    const k = tag();
    const call = invoke(FN, { say: `flight-${k}`, wait: k, then: `landed-${k}` });
    const runId = (await watcher.line(`flight-${k}`))['runId'] as string;
    await watcher.stop();
    // Stored lines first (the default 10): the run has none before it ends; it used to end the command with RUN_NOT_FOUND.
    const one = new Tail(platform.url, api.token, [FN, '--run', runId], { FP_CONFIG_DIR: configDir });
    tails.push(one);
    await one.waitFor((e) => e.type === 'ready', 'ready');
    gate.release(k);
    assert.equal((await call).status, 200);
    await one.line(`landed-${k}`);
    await one.waitFor((e) => e.type === 'end' && e['runId'] === runId, 'the end of the run');
    assert.equal(await one.exitWithin(10_000), 0, one.stderr);
    // The run has ended: its stored lines, and the command ends (it used to follow until Ctrl-C).
    const ended = await spawnCli(['logs', FN, '--follow', '--run', runId, '--url', platform.url, '--token', api.token!], { env: { FP_CONFIG_DIR: configDir }, timeoutMs: 15_000 });
    assert.equal(ended.code, 0, ended.stderr);
    assert.match(ended.stdout, new RegExp(`flight-${k}[\\s\\S]*landed-${k}`));
    assert.match(ended.stderr, /has ended: its stored lines, nothing more to follow/);
  });

  it('--follow gets the lines of a call its timeout then kills, and its end as FUNCTION_TIMEOUT', async () => {
    const tail = follow(SHORT);
    await tail.waitFor((e) => e.type === 'ready', 'ready');
    const k = tag();
    const call = invoke(SHORT, { say: `doomed-${k}`, wait: `never-${k}` });
    const line = await tail.line(`doomed-${k}`);
    const end = await tail.waitFor((e) => e.type === 'end' && e['runId'] === line['runId'], 'the end of the killed run');
    assert.equal(end['errorCode'], 'FUNCTION_TIMEOUT');
    assert.equal((await call).status, 504);
    assert.ok(tail.events.indexOf(line) < tail.events.indexOf(end));
    await tail.stop();
  });

  it("--follow shows a failed run's exception after its end (it showed `── FUNCTION_ERROR 500` alone)", async () => {
    const tail = follow(FN);
    await tail.waitFor((e) => e.type === 'ready', 'ready');
    const k = tag();
    const res = await invoke(FN, { raise: `boom-${k}` });
    assert.equal(res.status, 500);
    const runId = res.headers.get('x-run-id');
    const error = await tail.waitFor((e) => e.type === 'error' && e['runId'] === runId, 'the error of the failed run');
    assert.deepEqual(error['error'], { type: 'ValueError', message: `boom-${k}`, file: 'main.py', line: 9 });
    const end = tail.events.find((e) => e.type === 'end' && e['runId'] === runId);
    assert.ok(end !== undefined && tail.events.indexOf(end) < tail.events.indexOf(error));
    await tail.stop();
  });

  it("logs (no --follow) shows a failed run's exception among its lines (it said \"No log lines\" for a function whose calls all raised)", async () => {
    const k = tag();
    const res = await invoke(FN, { say: `before-${k}`, raise: `boom-${k}` });
    assert.equal(res.status, 500);
    const runId = res.headers.get('x-run-id')!;
    const logs = (...args: string[]) => spawnCli(['logs', FN, ...args, '--url', platform.url, '--token', api.token!], { env: { FP_CONFIG_DIR: configDir, TZ: 'UTC' } });
    // The record is written off the request path: asked until it is there.
    let printed = '';
    for (let i = 0; i < 50 && !printed.includes(`boom-${k}`); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      printed = (await logs('--run', runId)).stdout;
    }
    const rows = printed.trimEnd().split('\n');
    assert.match(rows[0] ?? '', new RegExp(`${runId.slice(0, 8)} stdout +before-${k}$`), printed);
    assert.match(rows[1] ?? '', new RegExp(`${runId.slice(0, 8)} error +ValueError: boom-${k} {2}\\(main\\.py:9\\)$`), printed);
    assert.match((await logs()).stdout, new RegExp(`error +ValueError: boom-${k}`), 'the listing of the function has it too');
    const json = JSON.parse((await logs('--run', runId, '--json')).stdout) as { errors: { runId: string; error: unknown }[] };
    assert.deepEqual(json.errors.map((e) => [e.runId, e.error]), [[runId, { type: 'ValueError', message: `boom-${k}`, file: 'main.py', line: 9 }]]);
    // An exception counts as level error; --grep selects lines by their text only.
    assert.doesNotMatch((await logs('--run', runId, '--level', 'critical')).stdout, /ValueError/);
    assert.doesNotMatch((await logs('--run', runId, '--grep', 'before')).stdout, /ValueError/);
  });

  it('keeps what a function writes one event and shows it escaped in the terminal, each of its lines with the columns', async () => {
    const hostile = `ok\n\ndata: {"fake":true}\n\nevent: end\r\nid: 9999999999999-0\n\n\x1b[31mred\x1b[0m \x1b]0;title\x07`;
    const raw = await RawStream.open(`${platform.url}/api/v1/functions/${FN}/logs/stream`, { authorization: `Bearer ${api.token}` });
    assert.equal(raw.status, 200);
    await raw.waitFor((e) => e.type === 'ready', 'ready');
    const res = await invoke(FN, { log: hostile });
    const runId = res.headers.get('x-run-id')!;
    await raw.waitFor((e) => e.type === 'end', 'the end');
    await raw.close();
    assert.deepEqual(raw.events.map((e) => e.type), ['ready', 'logs', 'end']);
    assert.deepEqual(raw.messages(), [`app: ${hostile}`]);
    const cli = await spawnCli(['logs', FN, '--run', runId, '--url', platform.url, '--token', api.token!], { env: { FP_CONFIG_DIR: configDir, TZ: 'UTC' } });
    assert.equal(cli.code, 0, cli.stderr);
    // One message of several lines: each printed with the time, run and level (ADR 0224), so the
    // lines laid out as a stream's `data:`/`event:` stay this run's WARNING lines.
    const printed = cli.stdout.trimEnd().split('\n');
    const columns = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 ([0-9a-f]{8}) WARNING (.*)$/;
    assert.deepEqual(printed.map((l) => columns.exec(l)?.[1]), printed.map(() => runId.slice(0, 8)), cli.stdout);
    assert.deepEqual(printed.map((l) => columns.exec(l)?.[2]), ['app: ok', '', 'data: {"fake":true}', '', 'event: end', 'id: 9999999999999-0', '', '\\x1b[31mred\\x1b[0m \\x1b]0;title\\x07']);
    assert.doesNotMatch(cli.stdout, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
  });

  it('filters stored lines by level, text and run, and live lines by text', async () => {
    const k = tag();
    const first = await invoke(FN, { say: `plain-${k}`, log: `warned-${k}` });
    const second = await invoke(FN, { say: `other-${k}` });
    const run = first.headers.get('x-run-id')!;
    const cli = (...args: string[]) => spawnCli(['logs', FN, '--json', ...args, '--url', platform.url, '--token', api.token!], { env: { FP_CONFIG_DIR: configDir } });
    const msgs = (r: { stdout: string }) => (JSON.parse(r.stdout) as { lines: { msg: string }[] }).lines.map((l) => l.msg);
    assert.deepEqual(msgs(await cli('--level', 'warn', '--since', '1h')).filter((m) => m.includes(k)), [`app: warned-${k}`]);
    assert.deepEqual(msgs(await cli('--grep', `other-${k}`)), [`other-${k}`]);
    assert.deepEqual(msgs(await cli('--run', run)), [`plain-${k}`, `app: warned-${k}`]);
    // The run id as each line shows it (its first 8 characters) finds the run too.
    assert.deepEqual(msgs(await cli('--run', run.slice(0, 8))), [`plain-${k}`, `app: warned-${k}`]);
    assert.equal((await cli('--run', '00000000')).code, 4);
    assert.equal(second.status, 200);
    const bad = await cli('--level', 'loud');
    assert.equal(bad.code, 2);

    const tail = follow(FN, '--grep', `keep-${k}`);
    await tail.waitFor((e) => e.type === 'ready', 'ready');
    await invoke(FN, { say: `drop-${k}`, then: `keep-${k}` });
    await tail.line(`keep-${k}`);
    assert.deepEqual(tail.messages().filter((m) => m.includes(k)), [`keep-${k}`]);
    await tail.stop();
  });

  it('lets only API tokens read logs: no token 401, an invoke token 403, a bad Last-Event-ID 400', async () => {
    const url = `${platform.url}/api/v1/functions/${FN}/logs/stream`;
    const none = await fetch(url);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'ADMIN_TOKEN_REQUIRED');
    const tokened = await createFunction(api, fnName('tok'), { auth: 'token' });
    const invokeToken = await fetch(url, { headers: { authorization: `Bearer ${tokened.invokeToken}` } });
    assert.equal(invokeToken.status, 403);
    assert.equal(((await invokeToken.json()) as { error: { code: string } }).error.code, 'ADMIN_TOKEN_FORBIDDEN');
    const badId = await api.call('GET', `/functions/${FN}/logs/stream`, undefined, { 'last-event-id': 'not-an-id' });
    assert.equal(badId.status, 400);
    assert.equal(errorOf(badId).field, 'headers.last-event-id');
    const missing = await api.call('GET', `/functions/${fnName('nope')}/logs/stream`);
    assert.equal(errorOf(missing).code, 'FUNCTION_NOT_FOUND');
    const cli = await spawnCli(['logs', FN, '--follow', '--url', platform.url], { env: { FP_CONFIG_DIR: configDir } });
    assert.equal(cli.code, EXIT_API);
    assert.match(cli.stderr, /ADMIN_TOKEN_REQUIRED/);
  });

  it('--follow of a function deleted meanwhile (another terminal) ends, saying so, without waiting for a line (journey round 11)', async () => {
    const gone = fnName('gone');
    await createFunction(api, gone);
    await upload(api, gone, { 'main.py': 'def handler(event, context):\n    print("hi")\n    return {}\n' });
    await deploy(api, gone);
    const tail = follow(gone);
    await tail.waitFor((e) => e.type === 'ready', 'ready');
    assert.equal((await api.call('DELETE', `/functions/${gone}`)).status, 204);
    // It waited in silence for ever: the stream ended only at a line, and a deleted function writes none.
    assert.equal(await tail.exitWithin(60_000), EXIT_API, `events: ${JSON.stringify(tail.events)}\nstderr: ${tail.stderr}`);
    // --json: the error ends the lines as one object on one line (it came indented, over lines a line reader failed on).
    const last = tail.events.at(-1) as unknown as { ok?: boolean; error?: { code?: string } };
    assert.equal(last.ok, false);
    assert.equal(last.error?.code, 'FUNCTION_NOT_FOUND');
  });

  it('--follow reconnects after a platform restart and shows every line once', async () => {
    // The tail reaches the platform at one address; the restarted platform listens on another port.
    const proxy = await startProxy(platform.port);
    const tail = followAt(proxy.url, FN);
    try {
      await tail.waitFor((e) => e.type === 'ready', 'ready');
      const k = tag();
      await invoke(FN, { say: `a-${k}` });
      await tail.line(`a-${k}`);
      await platform.close();
      await tail.waitFor((e) => e.type === 'disconnected', 'the disconnect');
      // The stream ended, then every new connection fails: that is said too (the ended stream's
      // "reconnecting" stayed the only note while the platform was down).
      await tail.waitFor((e) => e.type === 'disconnected' && e['reason'] === 'unreachable', 'the platform said to be unreachable');
      assert.ok(tail.events.filter((e) => e.type === 'disconnected').length <= 2, `one note per kind of outage: ${JSON.stringify(tail.events)}`);
      platform = await start(0);
      api = new Api(platform.url, api.token);
      proxy.target(platform.port);
      // Right after the restart, maybe before the tail is back: shown live, or from the stored runs.
      await invoke(FN, { say: `c-${k}` });
      const ready = await tail.waitFor((e) => e.type === 'ready' && e['resumedFrom'] !== null, 'the reconnect');
      const from = tail.events.indexOf(ready);
      await invoke(FN, { say: `b-${k}` });
      await tail.line(`b-${k}`, from);
      await tail.line(`c-${k}`);
      await tail.stop();
      const mine = tail.messages().filter((m) => m.endsWith(k));
      assert.deepEqual(mine.sort(), [`a-${k}`, `b-${k}`, `c-${k}`].sort(), JSON.stringify(tail.events));
    } finally {
      await proxy.close();
    }
  });
});
