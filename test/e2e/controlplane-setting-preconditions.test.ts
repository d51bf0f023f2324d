/**
 * A precondition per setting (docs/adr/0159-a-precondition-per-setting.md): `settingTags` in the
 * answers, `ifMatch` on PATCH refusing a change made from a stale read (409 SETTING_CONFLICT with
 * the current value, nothing changed), and `envChanges`, env values set or removed by name on the
 * server (what `env set` and `env unset` send: no read, so nothing set meanwhile is undone).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createFunction, deploy, errorOf, fnName, upload, usePlatform } from './platform-harness.js';
import { runCli } from '../helpers/cli-harness.js';

const h = usePlatform();

type Tags = Record<'env' | 'limits' | 'retry' | 'auth' | 'preset' | 'invocation', string>;

async function read(name: string): Promise<{ env: Record<string, string>; secrets: string[]; settingTags: Tags; revision: number }> {
  const res = await h.api.call('GET', `/functions/${name}`);
  assert.equal(res.status, 200);
  return res.body.function;
}

describe('a precondition per setting (ifMatch, settingTags)', () => {
  it('a whole env written from a stale read is refused with the current value; nothing changed', async () => {
    const name = fnName('ifenv');
    await createFunction(h.api, name, { env: { A: '1' } });
    const seen = await read(name);
    // Another writer adds FOO (the CLI, another tab).
    assert.equal((await h.api.call('PATCH', `/functions/${name}`, { env: { A: '1', FOO: 'x' } })).status, 200);
    // The first one writes the env it read plus BAR, on the condition that it is still what it read.
    const stale = await h.api.call('PATCH', `/functions/${name}`, { env: { A: '1', BAR: 'y' }, ifMatch: { env: seen.settingTags.env } });
    assert.equal(stale.status, 409);
    const error = errorOf(stale);
    assert.equal(error.code, 'SETTING_CONFLICT');
    assert.deepEqual(error.settings, ['env']);
    assert.deepEqual(error.current, { env: { A: '1', FOO: 'x' } });
    const now = await read(name);
    assert.deepEqual(now.env, { A: '1', FOO: 'x' });
    assert.deepEqual(error.tags, { env: now.settingTags.env });
    // With the current tag it goes through, and the answer's tag is that of the new value.
    const ok = await h.api.call('PATCH', `/functions/${name}`, { env: { A: '1', FOO: 'x', BAR: 'y' }, ifMatch: { env: now.settingTags.env } });
    assert.equal(ok.status, 200);
    assert.notEqual(ok.body.function.settingTags.env, now.settingTags.env);
    assert.deepEqual((await read(name)).env, { A: '1', FOO: 'x', BAR: 'y' });
  });

  it("other settings' changes, a pause and a secret do not move a setting's tag; its own change does", async () => {
    const name = fnName('tags');
    await createFunction(h.api, name, { env: { A: '1' }, limits: { timeout: '10s' } });
    const first = await read(name);
    assert.equal((await h.api.call('PATCH', `/functions/${name}`, { env: { A: '2' }, secrets: { S: 'v' } })).status, 200);
    assert.equal((await h.api.call('POST', `/functions/${name}/pause`, {})).status, 200);
    const after = await read(name);
    assert.ok(after.revision > first.revision);
    for (const s of ['limits', 'retry', 'auth', 'preset', 'invocation'] as const) assert.equal(after.settingTags[s], first.settingTags[s], s);
    assert.notEqual(after.settingTags.env, first.settingTags.env);
    // So a limits save from the first read is not refused, while a merge-free env save is.
    assert.equal((await h.api.call('PATCH', `/functions/${name}`, { limits: { timeout: '20s' }, ifMatch: { limits: first.settingTags.limits } })).status, 200);
    const refused = await h.api.call('PATCH', `/functions/${name}`, { limits: { timeout: '30s' }, ifMatch: { limits: first.settingTags.limits, env: first.settingTags.env } });
    assert.equal(errorOf(refused).code, 'SETTING_CONFLICT');
    assert.deepEqual(errorOf(refused).settings, ['env', 'limits']);
    assert.equal((await h.api.call('GET', `/functions/${name}`)).body.function.limits.timeoutMs, 20_000, 'nothing of the refused change landed');
  });

  it('the listing carries no tags; an unknown ifMatch key is 400', async () => {
    const name = fnName('taglist');
    await createFunction(h.api, name);
    const list = await h.api.call('GET', '/functions');
    const item = (list.body.items as Record<string, unknown>[]).find((i) => i.name === name);
    assert.ok(item !== undefined && !('settingTags' in item));
    const bad = await h.api.call('PATCH', `/functions/${name}`, { ifMatch: { secrets: 'x' } });
    assert.equal(bad.status, 400);
  });
});

describe('envChanges: env values by name, merged on the server', () => {
  it('sets and removes names without touching the others; a name set as secret stays one place', async () => {
    const name = fnName('envch');
    await createFunction(h.api, name, { env: { A: '1', B: '2' } });
    const res = await h.api.call('PATCH', `/functions/${name}`, { envChanges: { C: '3', B: null, NOPE: null } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.function.env, { A: '1', C: '3' });
    const both = await h.api.call('PATCH', `/functions/${name}`, { env: {}, envChanges: { D: '4' } });
    assert.equal(both.status, 400);
    assert.deepEqual((await read(name)).env, { A: '1', C: '3' });
    const reserved = await h.api.call('PATCH', `/functions/${name}`, { envChanges: { FP_X: '1' } });
    assert.equal(reserved.status, 400);
    // The env's rules hold for values by name too: no NUL, the size bound on the merged env.
    assert.equal((await h.api.call('PATCH', `/functions/${name}`, { envChanges: { N: 'a\u0000b' } })).status, 400);
    const big = await h.api.call('PATCH', `/functions/${name}`, { envChanges: { BIG: 'x'.repeat(70_000) } });
    assert.equal(big.status, 400);
    assert.equal(errorOf(big).field, 'env');
    assert.deepEqual((await read(name)).env, { A: '1', C: '3' });
  });

  it('env set, env unset and env push of the CLI do not undo a change another client made after their read', async () => {
    const name = fnName('envcli');
    await createFunction(h.api, name, { env: { A: '1' } });
    // Each PATCH the CLI sends waits for another client's change first (a console tab saving the
    // env between the CLI's read and its write): ordered, not timed.
    let other = 0;
    const proxy = await orderingProxy(h.url, async (method) => {
      if (method === 'PATCH') assert.equal((await h.api.call('PATCH', `/functions/${name}`, { envChanges: { [`OTHER${++other}`]: 'x' } })).status, 200);
    });
    const env = { FP_URL: proxy.url, FP_TOKEN: h.api.token!, HOME: '/nonexistent', FP_CONFIG_DIR: '/nonexistent' };
    try {
      const set = await runCli(['env', 'set', name, 'B=2', '--no-check'], { env });
      assert.equal(set.code, 0, set.stderr);
      assert.deepEqual((await read(name)).env, { A: '1', B: '2', OTHER1: 'x' });
      const secret = await runCli(['env', 'set', name, 'A=s', '--secret', '--no-check'], { env });
      assert.equal(secret.code, 0, secret.stderr);
      const now = await read(name);
      assert.deepEqual([now.env, now.secrets], [{ B: '2', OTHER1: 'x', OTHER2: 'x' }, ['A']]);
      const unset = await runCli(['env', 'unset', name, 'A', 'B', 'Z', '--no-check'], { env });
      assert.equal(unset.code, 0, unset.stderr);
      assert.match(unset.stdout, /Removed A, B/);
      assert.match(unset.stdout, /Not set on .*: Z/);
      const last = await read(name);
      assert.deepEqual([last.env, last.secrets], [{ OTHER1: 'x', OTHER2: 'x', OTHER3: 'x' }, []]);
      // push writes the whole env made from the one it showed the diff against: refused, not applied.
      const dir = await mkdtemp(path.join(tmpdir(), 'fp-push-'));
      await writeFile(path.join(dir, '.env'), 'ONLY=1\n');
      const push = await runCli(['env', 'push', name, '--yes', '--no-manifest', '--no-check'], { env, cwd: dir });
      assert.notEqual(push.code, 0, push.stdout);
      assert.match(push.stderr, /SETTING_CONFLICT|changed since this diff was read/);
      assert.deepEqual((await read(name)).env, { OTHER1: 'x', OTHER2: 'x', OTHER3: 'x', OTHER4: 'x' });
    } finally {
      await proxy.close();
    }
    const audit = await h.api.call('GET', `/audit?action=secret.unset&limit=50`);
    const mine = (audit.body.items as { target: string; detail: { names: string[] } }[]).filter((e) => e.target === name);
    assert.deepEqual(mine.map((e) => e.detail.names), [['A']], 'env set B=2 sent B: null for secrets, which removed no secret and is no entry');
  });
});

describe('a refused deploy puts back what it changed, not what another client changed since', () => {
  it("the env by name, the other settings only where they are still the deploy's", async () => {
    const name = fnName('restore');
    await createFunction(h.api, name, { env: { A: '1', KEEP: 'k' }, limits: { timeout: '10s' } });
    await upload(h.api, name, { 'main.py': 'def handler(event, context):\n    return 1\n' });
    await deploy(h.api, name);
    const dir = await mkdtemp(path.join(tmpdir(), 'fp-restore-'));
    await writeFile(path.join(dir, 'platform.yaml'), `kind: function\nname: ${name}\nentrypoint: main:handler\nlimits:\n  timeout: 20s\nenv:\n  A: "2"\n  NEW: "n"\n`);
    await writeFile(path.join(dir, 'main.py'), 'import os\nif os.environ.get("NEW"):\n    raise RuntimeError("does not load")\ndef handler(event, context):\n    return 2\n');
    // Between the deploy's settings change (the first PATCH) and its put-back (the second), another
    // client adds OTHER to the env and sets the timeout to 30s.
    let patches = 0;
    const proxy = await orderingProxy(h.url, async (method) => {
      if (method === 'PATCH' && ++patches === 2) {
        assert.equal((await h.api.call('PATCH', `/functions/${name}`, { envChanges: { OTHER: 'x' } })).status, 200);
        assert.equal((await h.api.call('PATCH', `/functions/${name}`, { limits: { timeout: '30s' } })).status, 200);
      }
    });
    try {
      const res = await runCli(['deploy'], { cwd: dir, env: { FP_URL: proxy.url, FP_TOKEN: h.api.token!, HOME: dir, FP_CONFIG_DIR: dir } });
      assert.notEqual(res.code, 0, res.stdout);
      assert.match(res.stderr, /DEPLOY_START_FAILED|does not load/);
      assert.match(res.stderr, /put back/);
    } finally {
      await proxy.close();
    }
    assert.equal(patches, 3, 'the put-back again without the limits, which the other client had changed (SETTING_CONFLICT)');
    const fn = (await h.api.call('GET', `/functions/${name}`)).body.function;
    assert.deepEqual(fn.env, { A: '1', KEEP: 'k', OTHER: 'x' }, 'the deploy\'s A and NEW undone by name; OTHER kept');
    assert.equal(fn.limits.timeoutMs, 30_000, "the other client's timeout kept");
    assert.equal(fn.activeVersion, 1);
  });
});

/** A proxy to `target` that runs `before(method)` ahead of forwarding each request. */
async function orderingProxy(target: string, before: (method: string) => Promise<void>): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          await before(req.method ?? 'GET');
          const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length' && k !== 'connection')) as Record<string, string>;
          const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
          const answer = await fetch(`${target}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, ...(body !== undefined && req.method !== 'GET' ? { body } : {}) });
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
          res.end(Buffer.from(await answer.arrayBuffer()));
        } catch (err) {
          res.writeHead(599).end(String(err));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('secrets removed by names of Object.prototype (red29)', () => {
  it('removing constructor, toString or hasOwnProperty, never secrets, writes no secret.unset entry', async () => {
    const name = fnName('protonames');
    await createFunction(h.api, name, { secrets: { KEPT: 's' } });
    const res = await h.api.call('PATCH', `/functions/${name}`, { secrets: { constructor: null, toString: null, hasOwnProperty: null } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual((await read(name)).secrets, ['KEPT']);
    const audit = await h.api.call('GET', `/audit?action=secret.unset&limit=50`);
    const mine = (audit.body.items as { target: string; detail: { names: string[] } }[]).filter((e) => e.target === name);
    assert.deepEqual(mine, [], 'names read from the prototype of the function\'s secrets were taken for secrets');
  });
});
