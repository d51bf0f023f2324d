/**
 * Red team, round 3 (December 2026): odd inputs to the control plane (manifests sent to
 * `POST /validate`, which the console's editor and any token holder call) and a bound function
 * naming run ids and collections of its choosing in its writes' comments. Real platform, real
 * FerretDB behind the data proxy, real runtimes.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { EventProcess } from '../../bench/events.js';
import { BIN, runCli } from '../helpers/cli-harness.js';
import { serverSkip } from '../helpers/servers.js';
import { cpuOf, cpuSince } from '../helpers/thread-cpu.js';
import { createFunction, deploy, fnName, py, runsWritten, sleep, upload, usePlatform } from './platform-harness.js';

const h = usePlatform({ poolSize: 2 });

const MAIN = 'def handler(event, context):\n    return 1\n';

async function validateManifest(text: string): Promise<{ status: number; body: { ok?: boolean; problems?: { kind: string; message: string }[] } }> {
  const res = await h.api.call('POST', '/validate', { files: [{ path: 'platform.yaml', content: text }, { path: 'main.py', content: MAIN }] });
  return { status: res.status, body: res.body as { ok?: boolean; problems?: { kind: string; message: string }[] } };
}

describe('attack: manifests that make the YAML parser recurse or expand', () => {
  // Before: the parser and toJS recursed once per level on the platform's event loop. 10 KB of
  // `[` overflowed its stack (caught by yaml, reported as "Maximum call stack size exceeded" at a
  // varying column); once, a 400 KB one took the platform down (V8: "RegExpCompiler Allocation
  // failed - process out of memory", during the overflow). Now refused before parsing.
  it('deep flow and block nesting is refused unparsed with a yaml problem; the platform keeps serving', { timeout: 60_000 }, async () => {
    const deep = [
      '['.repeat(200_000) + ']'.repeat(200_000),
      '{a: '.repeat(100_000) + '1' + '}'.repeat(100_000),
      'kind: function\nname: x\nenv:\n  A: ' + '- '.repeat(200_000) + 'x\n',
      'kind: function\nname: x\nx:\n' + Array.from({ length: 300 }, (_, i) => ' '.repeat(i + 1) + 'a:').join('\n') + '\n',
    ];
    for (const text of deep) {
      const started = Date.now();
      const res = await validateManifest(text);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.ok, false);
      const yaml = res.body.problems?.filter((p) => p.kind === 'yaml') ?? [];
      assert.equal(yaml.length, 1, JSON.stringify(res.body.problems));
      assert.match(yaml[0]!.message, /nested deeper than 128 levels/);
      assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
    }
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
  });

  it('an alias bomb is a yaml problem (it was 500 INTERNAL_ERROR), and an ordinary manifest still validates', { timeout: 60_000 }, async () => {
    const lines = ['kind: function', 'name: x', 'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    const bomb = await validateManifest(lines.join('\n'));
    assert.equal(bomb.status, 200, JSON.stringify(bomb.body));
    assert.equal(bomb.body.ok, false);
    assert.equal(bomb.body.problems?.[0]?.kind, 'yaml', JSON.stringify(bomb.body.problems));
    const keys = Array.from({ length: 300 }, (_, i) => `"k${i}": ${i}`).join(', ');
    const plain = await validateManifest(`kind: function\nname: fine\nentrypoint: main:handler\nlimits: {timeout: 10s}\ntriggers:\n  - {type: cron, schedule: "0 * * * * *", payload: {"a": [1, {"b": [2]}], ${keys}}}\n  - type: cron\n    schedule: "0 * * * * *"\n    payload: |\n      {${keys}}\n`);
    assert.equal(plain.status, 200);
    assert.deepEqual(plain.body.problems, []);
  });

  // Red team 8: yaml's duplicate-key check compares every key of a mapping with every other, on the
  // platform's event loop: a 470 KB platform.yaml of 40 000 env keys sent to POST /validate (role
  // deployer) took 14 s, and every function's calls waited that long; a 10 MiB one, hours.
  // Measured as the event loop's CPU (the platform runs in this process), not as wall-clock time: on a
  // loaded CI machine a linear parse of 20 000 keys (~0.2 s of CPU) took 2.8 s to answer, past the
  // 2 s this test allowed (test/README.md, "No timed assertions"). The loop cannot be held longer
  // than the CPU it spends: under 0.8 s for either check (~0.2 s now) (the pairwise check spent 14 s).
  it('a mapping of many keys is answered quickly and the platform keeps serving meanwhile; a duplicate key is still a yaml problem', { timeout: 120_000 }, async (t) => {
    const many = `kind: function\nname: x\nentrypoint: main:handler\nenv:\n${Array.from({ length: 40_000 }, (_, i) => `  K${i}: v\n`).join('')}`;
    const started = cpuOf();
    const checking = validateManifest(many);
    await sleep(200);
    const probeStart = Date.now();
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
    t.diagnostic(`/healthz answered in ${Date.now() - probeStart} ms during the check`);
    const res = await checking;
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.ok, false);
    const manyMs = cpuSince(started, cpuOf()).mainMs;
    assert.ok(manyMs < 800, `POST /validate of 40 000 keys took ${manyMs} ms of the event loop's CPU`);
    // Under the text limit (229 KB, 20 000 keys: 3.4 s before), parsed, and quickly.
    const under = `kind: function\nname: x\nentrypoint: main:handler\nenv:\n${Array.from({ length: 20_000 }, (_, i) => `  K${i}: v\n`).join('')}`;
    const underStart = cpuOf();
    const parsed = await validateManifest(under);
    assert.equal(parsed.body.problems?.[0]?.kind, 'manifest', JSON.stringify(parsed.body.problems)); // past 64 KiB as JSON, not a yaml problem
    const underMs = cpuSince(underStart, cpuOf()).mainMs;
    t.diagnostic(`the event loop's CPU: ${manyMs} ms for 40 000 keys (refused unparsed), ${underMs} ms for 20 000 (parsed)`);
    assert.ok(underMs < 800, `POST /validate of 20 000 keys took ${underMs} ms of the event loop's CPU`);
    const dup = await validateManifest('kind: function\nname: x\nentrypoint: main:handler\nenv:\n  A: "1"\n  B: "2"\n  A: "3"\n');
    assert.equal(dup.body.ok, false);
    assert.equal(dup.body.problems?.[0]?.kind, 'yaml', JSON.stringify(dup.body.problems));
  });
});

describe('attack: env values a process cannot hold', () => {
  it('an env value with NUL is refused (it was stored, and every call then failed FUNCTION_INIT_FAILED)', async () => {
    await createFunction(h.api, 'nul-env');
    for (const body of [{ env: { E: 'a\u0000b' } }, { secrets: { S: 'a\u0000b' } }]) {
      const res = await h.api.call('PATCH', '/functions/nul-env', body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal((res.body as { error: { code: string } }).error.code, 'INVALID_FIELD');
    }
    assert.equal((await h.api.call('POST', '/functions', { name: 'nul-env2', env: { E: '\u0000' } })).status, 400);
  });

  it('env and secrets past 64 KiB together are refused (a deployer filled the platform\'s memory with 1 MiB of env per function)', async () => {
    await createFunction(h.api, 'big-env');
    const kib = (n: number): string => 'v'.repeat(n * 1024);
    // 60 KiB of env fits; 4 KiB of secrets more do not: the refusal names the field that grew.
    const fits = await h.api.call('PATCH', '/functions/big-env', { env: { A: kib(30), B: kib(30) } });
    assert.equal(fits.status, 200, JSON.stringify(fits.body));
    const refused = await h.api.call('PATCH', '/functions/big-env', { secrets: { S: kib(5) } });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    const error = (refused.body as { error: { code: string; field: string; message: string } }).error;
    assert.deepEqual([error.code, error.field], ['INVALID_FIELD', 'secrets']);
    assert.match(error.message, /at most 65536 \(64 KiB\)/);
    assert.doesNotMatch(error.message, /vvvv/, 'no value is echoed');
    const tooMuch = await h.api.call('PATCH', '/functions/big-env', { env: { A: kib(65) } });
    assert.equal((tooMuch.body as { error: { field: string } }).error.field, 'env');
    assert.equal((await h.api.call('POST', '/functions', { name: 'big-env2', env: { E: kib(65) } })).status, 400);
    // What was refused was not stored.
    const held = (await h.api.call('GET', '/functions/big-env')).body.function as { env: Record<string, string>; secrets: string[] };
    assert.deepEqual([Object.keys(held.env), held.secrets], [['A', 'B'], []]);
  });

  it('an env or secret named __proto__ is refused (it was answered 200 and silently dropped)', async () => {
    await createFunction(h.api, 'proto-env');
    for (const body of [{ env: { ['__proto__']: 'x' } }, { secrets: { ['__proto__']: 'x' } }]) {
      const res = await h.api.call('PATCH', '/functions/proto-env', body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal((res.body as { error: { code: string } }).error.code, 'INVALID_JSON');
    }
  });

  it('a token lifetime past ten years is refused (it had no bound)', async () => {
    const res = await h.api.call('POST', '/tokens', { role: 'viewer', expiresIn: '99999999d' });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal((await h.api.call('POST', '/tokens', { role: 'viewer', expiresIn: '3650d' })).status, 201);
  });

  it('requirements.txt lines end where pip ends them: an option after a lone \\r is refused at upload', async () => {
    await createFunction(h.api, 'req-cr');
    const res = await h.api.call('POST', '/functions/req-cr/versions', {
      files: [
        { path: 'main.py', contentBase64: Buffer.from('def handler(event, context):\n    return 1\n').toString('base64') },
        { path: 'requirements.txt', contentBase64: Buffer.from('requests\r-e ./x\n').toString('base64') },
      ],
    });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal((res.body as { error: { code: string } }).error.code, 'DEPS_REQUIREMENT_INVALID');
  });

  // Red team 8: the upload's requirements check stripped `--hash` options with /\s+--hash…/, which
  // tries every position of a run of spaces to its end, on the platform's event loop: a line of
  // 'requests', 200 000 spaces and 'x' (200 KB) took ~12 s; the file may be 10 MiB.
  it('a requirements.txt line with a long run of spaces is checked quickly; the platform keeps serving meanwhile', { timeout: 120_000 }, async () => {
    await createFunction(h.api, 'req-spaces');
    const started = Date.now();
    const uploading = h.api.call('POST', '/functions/req-spaces/versions', {
      files: [
        { path: 'main.py', contentBase64: Buffer.from('def handler(event, context):\n    return 1\n').toString('base64') },
        { path: 'requirements.txt', contentBase64: Buffer.from(`requests${' '.repeat(200_000)}x\n`).toString('base64') },
      ],
    });
    await sleep(200);
    const probeStart = Date.now();
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
    const probeMs = Date.now() - probeStart;
    const res = await uploading;
    assert.equal(res.status, 201, JSON.stringify(res.body).slice(0, 300)); // `requests` with stray text: the builder's packaging parse refuses it
    // A backtracking parse of the 200 000 spaces takes minutes; these bounds leave a loaded CI room.
    assert.ok(Date.now() - started < 10_000, `the upload took ${Date.now() - started} ms`);
    assert.ok(probeMs < 3000, `/healthz waited ${probeMs} ms behind the check`);
  });
});

describe('attack: a bound function naming run ids and collections in its comments', { skip: serverSkip('ferretdb') }, () => {
  // The proxy counts a write for the run its comment names (`fp:run=<id>`), within the writer's
  // function. The ledger kept 10 000 runs for all functions together: a function writing with
  // 10 000 made-up run ids pushed every other function's pending runs out (their run records lost
  // their writes), and one run listed every collection it touched (2000 zero-count deletes: a
  // 197 KB run record; made-up ids are never taken, so they also held platform memory).
  it('made-up run ids cost the writer its own entries only; a run lists at most 100 collections', { timeout: 240_000 }, async () => {
    const victim = py(
      'import time',
      'def handler(event, context):',
      '    if event["path"] == "/open":',
      '        context.db.gate.insert_one({"go": 1})',
      '        return "opened"',
      '    context.db.orders.insert_one({"item": "pen"})',
      '    deadline = time.time() + 120',
      '    while context.db.gate.find_one({"go": 1}) is None and time.time() < deadline:',
      '        time.sleep(0.1)',
      '    return "done"',
    );
    const attacker = py(
      'import os',
      'from pymongo import MongoClient',
      'def handler(event, context):',
      '    what = event["path"]',
      '    if what == "/collections":',
      '        for i in range(300):',
      '            context.db[f"c{i}"].delete_many({"none": 1})',
      '        return 300',
      '    db = MongoClient(os.environ["FP_MONGO_URI"])[os.environ["FP_MONGO_DATABASE"]]',
      '    for i in range(10_050):',
      '        db.command({"delete": "x", "deletes": [{"q": {"none": 1}, "limit": 0}], "comment": f"fp:run=made-up-{i}"})',
      '    return 10_050',
    );
    for (const [name, code] of [['shop', victim], ['flood', attacker]] as const) {
      await createFunction(h.api, name, { limits: { timeout: '180s' } });
      await upload(h.api, name, { 'main.py': code }, { manifest: { kind: 'function', name, data: { mongo: { database: name } } } });
      await deploy(h.api, name);
    }
    const call = fetch(`${h.url}/fn/shop/`).then(async (res) => ({ status: res.status, runId: res.headers.get('x-run-id'), body: await res.text() }));
    await sleep(2000); // the victim's insert is in the ledger before the flood starts
    const flood = await fetch(`${h.url}/fn/flood/`);
    assert.equal(flood.status, 200, await flood.text());
    assert.equal((await fetch(`${h.url}/fn/shop/open`)).status, 200);
    const done = await call;
    assert.equal(done.status, 200, done.body);
    const many = await fetch(`${h.url}/fn/flood/collections`);
    assert.equal(many.status, 200, await many.text());
    await runsWritten(h.url);
    const run = await h.api.call('GET', `/runs/${done.runId}`);
    const writes = (run.body as { run: { writes?: { collection: string; inserted: number }[] } }).run.writes ?? [];
    assert.deepEqual(writes.map((w) => [w.collection, w.inserted]), [['orders', 1]], 'the victim\'s run kept its write');
    const own = await h.api.call('GET', `/runs/${many.headers.get('x-run-id')}`);
    const listed = (own.body as { run: { writes?: unknown[] } }).run.writes ?? [];
    assert.equal(listed.length, 100, `a run listed ${listed.length} collections`);
  });
});

describe('attack: a bound function holding the data proxy\'s memory', { skip: serverSkip('ferretdb') }, () => {
  // The proxy runs in the platform's process (here, this test's). Before: 60 connections that
  // each sent 16 MiB of a message and stopped took the platform from 100 MB to 1.1 GB in 1.3 s
  // (256 connections allowed per function, a message up to 16 MiB each), and `find`s of a 15 MB
  // document pipelined without reading the replies took it to 550 MB in 9 s, without bound.
  const MIB = 1024 * 1024;
  const held = (): number => process.memoryUsage().arrayBuffers;
  async function peakDuring(work: Promise<Response>): Promise<{ res: Response; peak: number }> {
    let peak = 0;
    const base = held();
    let done = false;
    const sampling = (async () => {
      while (!done) {
        peak = Math.max(peak, held() - base);
        await sleep(50);
      }
    })();
    const res = await work;
    done = true;
    await sampling;
    return { res, peak };
  }

  it('messages begun and never finished on many connections: past 256 MiB the function\'s connections are closed', { timeout: 180_000 }, async () => {
    const code = py(
      'import socket, struct, time',
      'def handler(event, context):',
      '    size = 16 * 1024 * 1024',
      '    part = struct.pack("<iiii", size, 1, 0, 2013) + b"\\0" * (size - 17)',
      '    socks, refused = [], 0',
      '    for i in range(40):',
      '        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
      '        try:',
      '            s.connect("/run/fp-data/mongo.sock")',
      '            s.sendall(part)',
      '            socks.append(s)',
      '        except OSError:',
      '            refused += 1',
      '    time.sleep(2)',
      '    open_ = 0',
      '    for s in socks:',
      '        s.setblocking(False)',
      '        try:',
      '            open_ += 0 if s.recv(1) == b"" else 1',
      '        except BlockingIOError:',
      '            open_ += 1',
      '        except OSError:',
      '            pass',
      '    return {"open": open_, "refused": refused}',
    );
    await createFunction(h.api, 'hoard', { limits: { timeout: '120s', memory: '256Mi' } });
    await upload(h.api, 'hoard', { 'main.py': code }, { manifest: { kind: 'function', name: 'hoard', data: { mongo: { database: 'hoard' } } } });
    await deploy(h.api, 'hoard');
    const { res, peak } = await peakDuring(fetch(`${h.url}/fn/hoard/`));
    const body = (await res.json()) as { open: number; refused: number };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.ok(body.open * 16 <= 256 + 16, `${body.open} connections of 16 MiB each still open (${JSON.stringify(body)})`);
    assert.ok(peak < 400 * MIB, `the platform held ${Math.round(peak / MIB)} MiB more`);
  });

  it('replies never read: one at a time waits in the socket; the next command waits for it', { timeout: 180_000 }, async () => {
    const code = py(
      'import bson, os, struct, time',
      'from pymongo import MongoClient',
      'from pymongo.server_selectors import any_server_selector',
      'def handler(event, context):',
      '    name = os.environ["FP_MONGO_DATABASE"]',
      '    client = MongoClient(os.environ["FP_MONGO_URI"])',
      '    db = client[name]',
      '    if db.big.count_documents({}) == 0:',
      '        db.big.insert_one({"_id": 1, "blob": "x" * (8 * 1024 * 1024)})',
      '    server = client._get_topology().select_server(any_server_selector, "find")',
      '    with server.pool.checkout() as conn:',
      '        sock = conn.conn.get_conn if hasattr(conn.conn, "get_conn") else conn.conn',
      '        sock = getattr(sock, "sock", sock)',
      '        for i in range(60):',
      '            msg = struct.pack("<I", 0) + b"\\0" + bson.encode({"find": "big", "filter": {}, "batchSize": 1, "$db": name})',
      '            sock.sendall(struct.pack("<iiii", 16 + len(msg), 1000 + i, 0, 2013) + msg)',
      '        time.sleep(8)',
      '        conn.close_conn(None)',
      '    return "sent"',
    );
    await createFunction(h.api, 'unread', { limits: { timeout: '120s' } });
    await upload(h.api, 'unread', { 'main.py': code }, { manifest: { kind: 'function', name: 'unread', data: { mongo: { database: 'unread' } } } });
    await deploy(h.api, 'unread');
    const { res, peak } = await peakDuring(fetch(`${h.url}/fn/unread/`));
    assert.equal(res.status, 200, await res.text());
    assert.ok(peak < 100 * MIB, `the platform held ${Math.round(peak / MIB)} MiB more for replies nobody read`);
  });
});

describe('attack: a function folder from elsewhere (a clone, a pull request in CI) deployed with the CLI', () => {
  // Before: `deploy` followed every symbolic link to a file and uploaded its target: a committed
  // `env.txt -> /proc/self/environ` shipped the deploying process's environment (FP_TOKEN and
  // every CI secret), `creds.json -> ~/.config/fastapi-platform/credentials.json` the admin
  // token, and the function served them to anyone ("Uploaded 4 of 4 files", no warning). And
  // `env: {X: "${FP_TOKEN}"}` in platform.yaml put the deployer's token into the function's env.
  const work = mkdtempSync(join(tmpdir(), 'fp-red3-cli-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  const secretFile = join(work, 'outside-secret.txt');
  writeFileSync(secretFile, 'outside-secret-value\n');
  const folder = (name: string, extra: (dir: string) => void, env = ''): string => {
    const dir = join(work, name);
    mkdirSync(join(dir, 'lib'), { recursive: true });
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return open("shared.txt").read()\n');
    writeFileSync(join(dir, 'lib', 'shared.txt'), 'inside\n');
    symlinkSync(join('lib', 'shared.txt'), join(dir, 'shared.txt'));
    writeFileSync(join(dir, 'platform.yaml'), `kind: function\nname: ${name}\nentrypoint: main:handler\n${env}`);
    extra(dir);
    return dir;
  };
  const cli = (dir: string, argv: string[]) => runCli(argv, { cwd: dir, env: { FP_URL: h.url, FP_TOKEN: h.api.token!, HOME: work, PATH: process.env.PATH ?? '' } });

  it('links to files outside the folder are problems: nothing is uploaded', { timeout: 60_000 }, async () => {
    const dir = folder('linked', (d) => {
      symlinkSync('/proc/self/environ', join(d, 'env.txt'));
      symlinkSync(secretFile, join(d, 'creds.json'));
    });
    const res = await cli(dir, ['deploy', '--json']);
    assert.equal(res.code, 3, res.stdout + res.stderr);
    const problems = (JSON.parse(res.stdout) as { problems: { file: string | null; message: string }[] }).problems;
    assert.deepEqual(problems.map((p) => p.file).sort(), ['creds.json', 'env.txt'], JSON.stringify(problems));
    for (const p of problems) assert.match(p.message, /outside the folder/);
    assert.equal((await h.api.call('GET', '/functions/linked')).status, 404, 'nothing was created or uploaded');
  });

  it('${FP_TOKEN} in platform.yaml env is a problem, not the deployer\'s token in the function\'s env', { timeout: 60_000 }, async () => {
    const dir = folder('tokenref', () => undefined, 'env:\n  STOLEN: "${FP_TOKEN}"\n  OK: "${HOME}"\n');
    const res = await cli(dir, ['deploy', '--json']);
    assert.equal(res.code, 3, res.stdout + res.stderr);
    assert.match(res.stdout, /FP_ variables configure the platform and the CLI/);
    assert.ok(!res.stdout.includes(h.api.token!), 'the token is not echoed');
    assert.equal((await h.api.call('GET', '/functions/tokenref')).status, 404);
  });

  it('invoke shows a failed call\'s error from the run record escaped, as runs does', { timeout: 60_000 }, async () => {
    // Before: `error (from the run record): ValueError: E<ESC>]52;c;…<BEL>` reached the terminal
    // raw: the function retitled it, cleared it, or (OSC 52) wrote the user's clipboard.
    await createFunction(h.api, 'boom');
    await upload(h.api, 'boom', { 'main.py': py('def handler(event, context):', '    raise ValueError("E\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x1b[2J")') });
    await deploy(h.api, 'boom');
    const res = await cli(work, ['invoke', 'boom']);
    assert.equal(res.code, 1, res.stdout + res.stderr);
    const line = res.stdout.split('\n').find((l) => l.startsWith('error (from the run record)'));
    assert.ok(line !== undefined, res.stdout);
    assert.ok(!/[\x00-\x08\x0b-\x1f\x7f]/.test(res.stdout + res.stderr), JSON.stringify(line));
    assert.match(line, /ValueError: E\\x1b\]52;c;ZWNobyBwd25lZA==\\x07\\x1b\[2J/);
  });

  // Red team round 11: what the CLI prints of a folder, or of a server's answer, never drives the terminal.
  const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

  it('validate and deploy print a folder\'s file names and manifest keys escaped (they reached the terminal raw)', { timeout: 60_000 }, async () => {
    // Before: `error: x<ESC>]52;c;…<BEL><ESC>[2J.py: the path contains a control character` and
    // `error: platform.yaml:4:1: <ESC>]0;…<BEL>: unknown key`: the folder's author wrote the
    // clipboard of whoever validated or deployed it (OSC 52), retitled or cleared the terminal,
    // or hid the problems behind a fake "0 problems".
    const dir = folder('escapes', (d) => writeFileSync(join(d, 'x\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J.py'), 'x = 1\n'), '"\x1b]0;TITLE\x07\u009b2J": 1\n');
    for (const command of ['validate', 'deploy']) {
      const res = await cli(dir, [command]);
      assert.equal(res.code, 3, res.stdout + res.stderr);
      assert.ok(!RAW_CONTROL.test(res.stdout + res.stderr), `${command}: ${JSON.stringify(res.stderr)}`);
      assert.match(res.stderr, /x\\x1b\]52;c;ZWNobyBwd25lZA==\\x07\\x1b\[2J\.py: /);
      assert.match(res.stderr, /platform\.yaml:\d+:\d+: \\x1b\]0;TITLE\\x07\\x9b2J: unknown key/);
    }
    assert.equal((await h.api.call('GET', '/functions/escapes')).status, 404);
  });

  it('an error answer of the server at --url is printed escaped, its code too', { timeout: 60_000 }, async () => {
    // A platform URL from a README, a CI variable or a colleague's message answers what it likes:
    // its error message and code went to the terminal raw.
    const hostile = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'NOPE\x1b]0;T\x07', message: 'gone\x1b]52;c;ZWNobyBwd25lZA==\x07\n\x1b[2Kerror: 0 problems\u009b1A' } }));
    });
    await new Promise<void>((done) => hostile.listen(0, '127.0.0.1', done));
    try {
      const { port } = hostile.address() as { port: number };
      const res = await runCli(['functions', 'show', 'x'], { cwd: work, env: { FP_URL: `http://127.0.0.1:${port}`, FP_TOKEN: 'fpa_x', HOME: work, PATH: process.env.PATH ?? '' } });
      assert.equal(res.code, 4, res.stdout + res.stderr);
      assert.ok(!RAW_CONTROL.test(res.stdout + res.stderr), JSON.stringify(res.stderr));
      assert.match(res.stderr, /gone\\x1b\]52;c;ZWNobyBwd25lZA==\\x07\n\\x1b\[2Kerror: 0 problems\\x9b1A/);
      assert.match(res.stderr, /\[NOPE\\x1b\]0;T\\x07\]/);
    } finally {
      hostile.close();
    }
  });

  it('an endless answer of the server at --url is cut at 256 MiB (BAD_RESPONSE), not held whole', { timeout: 120_000 }, async () => {
    // Before: the CLI read any answer whole: a server at --url streaming without end made a command
    // grow until the machine ran out of memory.
    let sent = 0;
    const piece = Buffer.alloc(1024 * 1024, 0x20);
    const hostile = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const more = (): void => {
        while (sent < 300 * 1024 * 1024 && !res.destroyed) {
          sent += piece.length;
          if (!res.write(piece)) return void res.once('drain', more);
        }
        res.end();
      };
      res.on('close', () => res.destroy());
      more();
    });
    await new Promise<void>((done) => hostile.listen(0, '127.0.0.1', done));
    try {
      const { port } = hostile.address() as { port: number };
      const res = await runCli(['functions', 'show', 'x'], { cwd: work, env: { FP_URL: `http://127.0.0.1:${port}`, FP_TOKEN: 'fpa_x', HOME: work, PATH: process.env.PATH ?? '' } });
      assert.equal(res.code, 4, res.stdout + res.stderr);
      assert.match(res.stderr, /answered more than 256 MiB/);
    } finally {
      hostile.closeAllConnections();
      hostile.close();
    }
  });

  it('init writes nothing through a link: a .gitignore or a folder on the way leading out is left alone', { timeout: 60_000 }, async () => {
    // Before: `.gitignore -> ~/.ssh/config` had init append `.env`, `__pycache__/`… to that file
    // (a link to a file not there yet created it), and `.github -> elsewhere` had `init --ci github`
    // write the workflow there.
    const outside = join(work, 'outside-home');
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'ssh_config'), 'Host *\n  User me\n');
    const dir = join(work, 'init-links');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'main.py'), 'from fastapi import FastAPI\napp = FastAPI()\n');
    symlinkSync(join(outside, 'ssh_config'), join(dir, '.gitignore'));
    const res = await cli(dir, ['init', '.']);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.equal(readFileSync(join(outside, 'ssh_config'), 'utf8'), 'Host *\n  User me\n');
    assert.match(res.stderr, /\.gitignore is a link/);
    assert.ok(existsSync(join(dir, 'platform.yaml')));

    const dangling = join(work, 'init-dangling');
    mkdirSync(dangling, { recursive: true });
    writeFileSync(join(dangling, 'main.py'), 'from fastapi import FastAPI\napp = FastAPI()\n');
    symlinkSync(join(outside, 'made-by-init'), join(dangling, '.gitignore'));
    symlinkSync(join(outside, 'gh'), join(dangling, '.github'));
    const ci = await cli(dangling, ['init', '.', '--ci', 'github']);
    assert.equal(ci.code, 1, ci.stdout + ci.stderr);
    assert.match(ci.stderr, /\.github is a link where init writes.*\[FILES_EXIST\]/);
    const plain = await cli(dangling, ['init', '.']);
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
    assert.deepEqual(readdirSync(outside), ['ssh_config'], 'nothing made outside the folder');
  });

  it('dev says which values of the function its shell filled (platform.yaml ${VAR}, .env ${VAR}: it said nothing), and answers this machine\'s host names only (DNS rebinding)', { timeout: 120_000 }, async () => {
    // Before: `dev` in a folder whose platform.yaml has `env: {LOOK: "${AWS_SECRET_ACCESS_KEY}"}`
    // (or a .env line `T=${GITHUB_TOKEN}`) put the developer's value into the function, whose code
    // (the folder's author's) read it and, egress allowed, could send it anywhere; `deploy` names
    // such keys, dev printed nothing (probe-red14/dev-env).
    const dir = folder('devshell', (d) => writeFileSync(join(d, '.env'), 'T=${RED14_SHELL_TOKEN}\nPLAIN=x\n'), 'env:\n  LOOK: "${RED14_SHELL_KEY}"\n  HERE: "${PLAIN}"\n');
    const dev = new EventProcess(process.execPath, [BIN, 'dev', dir, '--json', '--port', '0'], {
      env: { PATH: process.env.PATH ?? '', HOME: work, FP_CONFIG_DIR: join(work, 'config'), RED14_SHELL_KEY: 'key-value', RED14_SHELL_TOKEN: 'token-value' },
    });
    try {
      const started = await dev.next((e) => e.event === 'started', 90_000, true);
      const reloaded = await dev.next((e) => e.event === 'reloaded', 90_000, true);
      // A web page whose name was made to resolve to 127.0.0.1 (DNS rebinding) sends its own name
      // as Host: the local platform answered it, so the page read the folder's functions (421 now).
      const port = new URL(String(started.url)).port;
      const asHost = (host: string) => new Promise<number>((done, fail) => {
        request({ host: '127.0.0.1', port, path: '/fn/devshell/', headers: { host } }, (res) => { res.resume(); done(res.statusCode ?? 0); }).on('error', fail).end();
      });
      assert.equal(await asHost(`rebind.attacker.test:${port}`), 421);
      assert.equal(await asHost(`127.0.0.1:${port}`), 200);
      assert.equal(await asHost(`localhost:${port}`), 200);
      assert.deepEqual(reloaded.envFromShell, [
        { file: 'platform.yaml', key: 'LOOK', from: 'RED14_SHELL_KEY' },
        { file: '.env', key: 'T', from: 'RED14_SHELL_TOKEN' },
      ]);
    } finally {
      await dev.stop();
    }
  });

  it('a link within the folder still deploys, as its target', { timeout: 60_000 }, async () => {
    const dir = folder('inside', () => undefined);
    const res = await cli(dir, ['deploy']);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    const call = await fetch(`${h.url}/fn/inside/`);
    assert.equal(await call.text(), '"inside\\n"');
  });
});

describe('attack: async results kept by the platform (anyone may call a public function\'s /async)', () => {
  // Before: the embedded store kept every async run's index row, with the function's whole answer
  // (up to 63 MiB), its timeline and attempts, for ever (the Redis store expires them with the run
  // retention): five anonymous `POST /async/<fn>` of a function answering 30 MiB grew async.db by
  // 150 MB, never freed.
  const p = usePlatform({ poolSize: 1, runRetentionMs: 3000, runPruneIntervalMs: 500 });

  async function finished(runId: string): Promise<{ state: string; result: { headers: Record<string, string>; body?: unknown; bodyBase64?: string } | null }> {
    for (let i = 0; i < 200; i++) {
      const res = await p.api.call('GET', `/runs/${runId}`);
      const run = (res.body as { run?: { state?: string; result: never } }).run;
      if (run?.state === 'succeeded' || run?.state === 'failed') return run as never;
      await sleep(100);
    }
    throw new Error(`run ${runId} did not finish`);
  }

  it('a result over 256 KiB is kept without its body (its size in x-fp-result-omitted); one of 256 KiB whole', { timeout: 120_000 }, async () => {
    await createFunction(p.api, 'big-answer');
    await upload(p.api, 'big-answer', { 'main.py': py('def handler(event, context):', '    n = int(event["query"].get("n", 8 * 1024 * 1024))', '    return {"statusCode": 200, "headers": {"content-type": "application/octet-stream"}, "body": b"x" * n}') });
    await deploy(p.api, 'big-answer');
    const queued = (await (await fetch(`${p.url}/async/big-answer/`, { method: 'POST', body: 'x' })).json()) as { runId: string };
    const run = await finished(queued.runId);
    assert.equal(run.state, 'succeeded');
    assert.equal(run.result?.headers['x-fp-result-omitted'], String(8 * 1024 * 1024));
    assert.ok((run.result?.bodyBase64 ?? '').length === 0 && (run.result?.body ?? '') === '', 'no body kept');
    for (const [n, kept] of [[256 * 1024 + 1, false], [256 * 1024, true]] as const) {
      const next = (await (await fetch(`${p.url}/async/big-answer/?n=${n}`, { method: 'POST', body: 'x' })).json()) as { runId: string };
      const done = await finished(next.runId);
      assert.equal(done.result?.headers['x-fp-result-omitted'], kept ? undefined : String(n), `a body of ${n} bytes`);
    }
  });

  it('a result\'s headers are kept up to 64 KiB, the count of those dropped in x-fp-result-headers-omitted (red team of 2026-12-05)', { timeout: 120_000 }, async () => {
    // 30 headers of 8 KiB: 240 KiB of headers with a 2-byte body (900 of 64 KiB stored 59 MB;
    // an answer may carry at most 256 KiB of headers since red team 6).
    await createFunction(p.api, 'big-headers');
    await upload(p.api, 'big-headers', { 'main.py': py('def handler(event, context):', '    return {"statusCode": 200, "headers": {f"x-h{i:03d}": "v" * 8192 for i in range(30)}, "body": "ok"}') });
    await deploy(p.api, 'big-headers');
    const queued = (await (await fetch(`${p.url}/async/big-headers/`, { method: 'POST', body: 'x' })).json()) as { runId: string };
    const run = await finished(queued.runId);
    assert.equal(run.state, 'succeeded');
    const headers = run.result?.headers ?? {};
    const kept = Object.keys(headers).filter((h) => h.startsWith('x-h'));
    assert.ok(kept.length > 0 && kept.length < 30, `${kept.length} of 30 headers kept`);
    assert.ok(kept.reduce((n, h) => n + h.length + headers[h]!.length, 0) <= 64 * 1024);
    assert.ok(Number(headers['x-fp-result-headers-omitted']) >= 30 - kept.length, String(headers['x-fp-result-headers-omitted']));
    // The test invoke shows what is kept the same way.
    const shown = await p.api.call('POST', '/functions/big-headers/invoke', {});
    assert.equal(shown.status, 200);
    assert.ok(Number((shown.body as { headers: Record<string, string> }).headers['x-fp-result-headers-omitted']) > 0);
  });

  it('an answer of more than 1000 headers, or over 256 KiB of them, is refused (502 FUNCTION_RESPONSE_HEADERS_TOO_LARGE); 1000 go out (red team 6)', { timeout: 120_000 }, async () => {
    // 80 000 headers cost the gateway's event loop ~70 ms an answer: four loops calling such a
    // function took another workspace's p99 from ~60 ms to ~690 ms (docs/security.md).
    await createFunction(p.api, 'many-headers');
    await upload(p.api, 'many-headers', { 'main.py': py(
      'def handler(event, context):',
      '    n, size = int(event["query"]["n"]), int(event["query"].get("size", "1"))',
      '    return {"statusCode": 200, "multiValueHeaders": {"x-h": ["v" * size] * n}, "body": "ok"}',
    ) });
    await deploy(p.api, 'many-headers');
    for (const query of ['n=80000', 'n=1001', 'n=40&size=8192']) {
      const res = await fetch(`${p.url}/fn/many-headers/?${query}`);
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      assert.equal(res.status, 502, `${query}: ${JSON.stringify(body).slice(0, 300)}`);
      assert.equal(body.error?.code, 'FUNCTION_RESPONSE_HEADERS_TOO_LARGE', query);
    }
    const fine = await fetch(`${p.url}/fn/many-headers/?n=1000`);
    assert.equal(fine.status, 200);
    assert.equal(fine.headers.get('x-h')?.split(', ').length, 1000);
    assert.equal(await fine.text(), 'ok');
  });

  it('finished async runs go after the run retention, with their results, timelines and attempts', { timeout: 120_000 }, async () => {
    await createFunction(p.api, 'small-answer');
    await upload(p.api, 'small-answer', { 'main.py': py('def handler(event, context):', '    return "ok"') });
    await deploy(p.api, 'small-answer');
    const queued = (await (await fetch(`${p.url}/async/small-answer/`, { method: 'POST', body: 'x' })).json()) as { runId: string };
    const run = await finished(queued.runId);
    assert.equal(run.result?.body, 'ok');
    const db = new Database(join(p.stateDir, 'async.db'), { readonly: true });
    after(() => db.close());
    const rows = (): number[] => ['async_runs', 'transitions', 'attempts'].map((t) => (db.prepare(`SELECT count(*) AS n FROM ${t} WHERE run_id = ?`).get(queued.runId) as { n: number }).n);
    assert.ok(rows().every((n) => n > 0), JSON.stringify(rows()));
    const deadline = Date.now() + 30_000;
    while (rows().some((n) => n > 0) && Date.now() < deadline) await sleep(250);
    assert.deepEqual(rows(), [0, 0, 0], 'the run is gone from async.db after the retention');
    // Its attempt's record may outlive it by a moment (the run store's own pruning): then the run is
    // answered from that record as one whose async state is gone (ADR 0193), with no result either.
    const left = (await p.api.call('GET', `/runs/${queued.runId}`)).body as { run?: { result?: unknown } };
    assert.equal(left.run?.result ?? null, null, 'no stored result is served any more');
  });
});

describe('attack: async results kept by the platform, under its own cap (FP_ASYNC_RESULT_MAX_BYTES, ADR 0236)', () => {
  // Each kept result lives for the run retention in Redis's memory (production, `noeviction`):
  // the cap was a constant; an operator with a small Redis could not lower it.
  const p = usePlatform({ poolSize: 1, asyncResultMaxBytes: 1024, asyncResultBytesPerWorkspace: 4096 });

  it('a body over the configured cap is kept without it (its size and that cap in `omitted`, said by `runs <id>`), one at the cap whole; a stream past it too', { timeout: 120_000 }, async () => {
    const name = fnName('capped');
    await createFunction(p.api, name);
    await upload(p.api, name, {
      'main.py': py(
        'async def app(scope, receive, send):',
        '    n = int(dict(x.split("=") for x in scope["query_string"].decode().split("&") if x).get("n", "0"))',
        '    chunks = int(dict(x.split("=") for x in scope["query_string"].decode().split("&") if x).get("chunks", "1"))',
        '    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/octet-stream")]})',
        '    for i in range(chunks):',
        '        await send({"type": "http.response.body", "body": b"x" * n, "more_body": i + 1 < chunks})',
      ),
    }, { entrypoint: 'main:app' });
    await deploy(p.api, name);
    type Result = { runId: string; headers: Record<string, string>; omitted?: unknown; dropped?: unknown; bodyBase64?: string; body?: unknown };
    const ran = async (runId: string): Promise<Result> => {
      for (let i = 0; i < 300; i++) {
        const run = ((await p.api.call('GET', `/runs/${runId}`)).body as { run?: { state: string; result: object } }).run;
        if (run?.state === 'succeeded') return { runId, ...run.result } as never;
        await sleep(100);
      }
      throw new Error(`run ${runId} did not succeed`);
    };
    const runIds: string[] = [];
    const result = async (query: string): Promise<Result> => {
      const { runId } = (await (await fetch(`${p.url}/async/${name}/?${query}`, { method: 'POST', body: 'x' })).json()) as { runId: string };
      runIds.push(runId);
      return ran(runId);
    };
    // Before: 1025 bytes kept whole (the constant 256 KiB).
    const over = await result('n=1025');
    assert.equal(over.headers['x-fp-result-omitted'], '1025');
    // Its owner reads the cap it was over, not the default (loose ends round 8: `runs <id>` said
    // "256 KiB by default" of a platform keeping 1 KiB, and the API gave the size only).
    assert.deepEqual(over.omitted, { sizeBytes: 1025, maxBytes: 1024 });
    assert.equal(over.headers['x-fp-result-max-bytes'], '1024');
    const shown = await runCli(['runs', over.runId, '--url', p.url, '--token', p.api.token!], { env: { HOME: tmpdir(), PATH: process.env.PATH ?? '' } });
    assert.match(shown.stdout, /\(body not kept: 1025 bytes, over the 1024 bytes an async run's result keeps on this platform, FP_ASYNC_RESULT_MAX_BYTES;/, shown.stdout + shown.stderr);
    const whole = await result('n=1024');
    assert.equal(whole.headers['x-fp-result-omitted'], undefined);
    assert.equal(whole.omitted, undefined);
    assert.equal(whole.body, 'x'.repeat(1024));
    // Streamed in 64 chunks of 64 KiB: read to its end, nothing of it kept, its size said.
    const streamed = await result(`n=${64 * 1024}&chunks=64`);
    assert.equal(streamed.headers['x-fp-result-omitted'], String(4 << 20));
    assert.deepEqual(streamed.omitted, { sizeBytes: 4 << 20, maxBytes: 1024 });
    assert.equal(streamed.bodyBase64 ?? streamed.body, '');
    // Their sum is bounded too (chaos round 5, ADR 0250): the workspace's kept results hold at most
    // 4 KiB here; three more of 1 KiB drop the oldest accepted ones, each keeping its status.
    for (let i = 0; i < 3; i++) assert.equal((await result('n=1024')).body, 'x'.repeat(1024));
    const dropped = await ran(runIds[1]!);
    assert.equal(dropped.body ?? dropped.bodyBase64, '', 'the 1 KiB result kept whole first is dropped');
    assert.ok(Number(dropped.headers['x-fp-result-dropped']) > 1024, JSON.stringify(dropped.headers));
    // Said by a field of the run's JSON too, as `omitted` is (loose ends round 10: the header alone
    // said it), which `runs <id> --json` prints and `runs <id>` says in words.
    const went = { sizeBytes: Number(dropped.headers['x-fp-result-dropped']), reason: 'workspace-budget' };
    assert.deepEqual(dropped.dropped, went);
    assert.equal(over.dropped, undefined);
    const cli = (args: string[]) => runCli(['runs', dropped.runId, ...args, '--url', p.url, '--token', p.api.token!], { env: { HOME: tmpdir(), PATH: process.env.PATH ?? '' } });
    assert.deepEqual((JSON.parse((await cli(['--json'])).stdout) as { run: { result: { dropped: unknown } } }).run.result.dropped, went);
    assert.match((await cli([])).stdout, /\(result dropped: \d+ bytes kept, then dropped as the workspace's newer async results filled its budget/);
    assert.equal((await ran(runIds.at(-1)!)).body, 'x'.repeat(1024), 'the newest is kept');
  });
});
