/**
 * `invoke`'s output against a stand-in gateway (a local HTTP server): on a terminal a large or
 * binary body is cut to a head (or not printed) with how to save it whole; piped it stays whole;
 * the "runs <id>" hint only follows a failed run (a platform error), not a 4xx the function chose.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { main } from '../../cli/main.js';
import { runCli } from '../helpers/cli-harness.js';
import { stubApi } from '../helpers/stub-api.js';

const BIG = Array.from({ length: 100_000 }, (_, i) => `line ${i}`).join('\n'); // ~0.9 MiB
const BINARY = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n'), Buffer.alloc(2000, 0)]);

/** Ends the stream once the CLI has printed its first event, or after 3 s (then the test fails). */
let firstShown: () => void = () => undefined;
let streamEnded = false;

describe('cli invoke output', () => {
  const api = stubApi('fp-cli-invoke-', (req, res) => {
    if (req.url === '/fn/sse/' || req.url === '/fn/chunked/') {
      const sse = req.url === '/fn/sse/';
      res.writeHead(200, { 'content-type': sse ? 'text/event-stream' : 'text/plain; charset=utf-8', 'x-run-id': 'run-s', 'x-cold-start': '0' });
      streamEnded = false;
      let ending = false;
      // Pieces that end inside a UTF-8 character and between \r and \n: never shown as escapes.
      res.write(Buffer.from('data: one \xc3', 'latin1'));
      const end = (): void => {
        if (ending) return;
        ending = true;
        res.write(Buffer.from('\xa9\r', 'latin1'));
        setTimeout(() => {
          streamEnded = true;
          res.end('\ndata: \x1b[31mtwo\n\n');
        }, 30);
      };
      if (req.headers['x-end-now'] !== undefined) end();
      else {
        firstShown = end;
        setTimeout(end, 3000).unref();
      }
      return;
    }
    // With its length, as the gateway answers a whole body (a stream has none: chunked).
    const send = (status: number, type: string, body: string | Buffer, runId = 'run-1'): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'x-run-id': runId, 'x-cold-start': '0' });
      res.end(body);
    };
    if (req.url === '/fn/big/') return send(200, 'text/plain; charset=utf-8', BIG);
    if (req.url === '/fn/bigjson/') return send(200, 'application/json', JSON.stringify({ items: BIG.split('\n') }));
    if (req.url === '/fn/small/') return send(200, 'application/json', '{"a":1}');
    if (req.url === '/fn/cookies/') {
      res.writeHead(200, [['content-type', 'text/plain'], ['content-length', '2'], ['x-run-id', 'run-c'], ['x-cold-start', '0'],
        ['set-cookie', 'a=1; Path=/'], ['set-cookie', 'old=; expires=Sat, 05 Dec 2026 01:05:38 GMT; Path=/'], ['set-cookie', 'b="two words"']]);
      res.end('ok');
      return;
    }
    if (req.url === '/fn/moved/') {
      res.writeHead(307, { location: '/fn/moved/there', 'content-length': '0', 'x-run-id': 'run-r', 'x-cold-start': '0' });
      res.end();
      return;
    }
    if (req.url === '/fn/bin/') return send(200, 'image/png', BINARY);
    // A function's own answer that looks like the platform's refusal, with a Retry-After of its own.
    if (req.url === '/fn/fakelimit/') {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': Buffer.from('1\u009d0;TITLE\u009c', 'utf8').toString('latin1'), 'x-run-id': 'run-l', 'x-cold-start': '0' });
      res.end('{"error":{"code":"RATE_LIMITED","message":"slow down","component":"gateway"}}');
      return;
    }
    // An 8-bit CSI (U+009B, as the gateway writes it: UTF-8) in the type of a binary body.
    if (req.url === '/fn/bincsi/') return send(200, Buffer.from('image/png x\u009b2J', 'utf8').toString('latin1'), BINARY);
    if (req.url === '/fn/ansi/') return send(200, 'text/plain; charset=utf-8', '\x1b]0;pwned\x07hello\t\x1b[31mred\r\nline 2\n');
    if (req.url === '/fn/nul/') return send(200, 'text/plain', Buffer.from('abc\0def'));
    if (req.url === '/fn/missing/') return send(404, 'application/json', '{"detail":"no such order"}', 'run-404');
    if (req.url === '/fn/fake/') return send(404, 'application/json', '{"error":{"code":"ORDER_GONE","message":"gone"}}', 'run-fake');
    if (req.url === '/fn/gone/') return send(404, 'application/json', '{"error":{"code":"ROUTE_NOT_FOUND","message":"No such route.","component":"gateway"}}', 'run-gone');
    if (req.url === '/fn/broken/') return send(500, 'application/json', '{"error":{"code":"FUNCTION_ERROR","message":"The function raised an error.","component":"function","runId":"run-500"}}', 'run-500');
    if (req.url === '/async/again/') return send(202, 'application/json', '{"runId":"run-a","created":false}', 'run-a');
    if (req.url === '/async/reused/') return send(422, 'application/json', '{"error":{"code":"IDEMPOTENCY_KEY_REUSED","message":"sent before","component":"request"}}', 'x');
    if (req.url === '/async/bigasync/') return send(202, 'application/json', '{"runId":"run-a","created":true}', 'run-a');
    if (req.url === '/api/v1/runs/run-a') {
      return send(200, 'application/json', JSON.stringify({ run: { runId: 'run-a', state: 'succeeded', transitions: [], attempts: [{}], result: { status: 200, attempt: 1, headers: {}, body: BIG } } }));
    }
    if (req.url === '/async/failing/') return send(202, 'application/json', '{"runId":"run-f","created":true}', 'run-f');
    if (req.url === '/api/v1/runs/run-f') {
      return send(200, 'application/json', JSON.stringify({ run: { runId: 'run-f', state: 'failed', transitions: [], attempts: [{ attempt: 1, error: { type: 'ValueError', message: 'no' } }, { attempt: 2, error: { type: 'ValueError', message: 'no' } }], result: null } }));
    }
    if (req.url === '/api/v1/runs/run-500') return send(200, 'application/json', JSON.stringify({ run: { runId: 'run-500', error: { type: 'ValueError', message: 'bad value' } } }));
    if (req.url === '/api/v1/functions') return send(200, 'application/json', JSON.stringify({ items: [{ name: 'small' }, { name: 'bigjson' }, { name: 'my-fn' }] }));
    send(404, 'application/json', '{"error":{"code":"FUNCTION_NOT_FOUND","message":"No function with this name.","component":"gateway"}}', 'x');
  });

  const invoke = (name: string, tty: boolean, more: string[] = []) =>
    runCli(['invoke', name, '--url', api.url, '--token', 'fpa_test', ...more], { env: { FP_CONFIG_DIR: api.dir }, cwd: api.dir, tty });

  /** `invoke` with an stdout that tells when it first printed `data: one`, and whether the stream had ended then. */
  const watch = async (name: string, tty: boolean, more: string[] = []) => {
    let stdout = '';
    let seenBeforeEnd: boolean | null = null;
    const code = await main(['invoke', name, '--url', api.url, '--token', 'fpa_test', ...more], {
      io: {
        stdout: (t) => {
          stdout += t;
          if (seenBeforeEnd === null && stdout.includes('data: one')) {
            seenBeforeEnd = !streamEnded;
            firstShown();
          }
        },
        stderr: () => undefined,
        readStdin: async () => Buffer.alloc(0),
        ...(tty ? { stdoutIsTTY: true } : {}),
      },
      env: { FP_CONFIG_DIR: api.dir },
      cwd: api.dir,
      waitForSignal: () => new Promise(() => undefined),
    });
    return { code, stdout, seenBeforeEnd: seenBeforeEnd as boolean | null };
  };

  it('prints a streamed answer (SSE, chunked text) as it arrives, escaped on a terminal, the summary line after it', async () => {
    for (const name of ['sse', 'chunked']) {
      const tty = await watch(name, true);
      assert.equal(tty.code, EXIT.OK);
      assert.equal(tty.seenBeforeEnd, true, `${name}: nothing was printed before the stream ended`);
      assert.equal(tty.stdout, 'data: one é\ndata: \\x1b[31mtwo\n\n\nHTTP 200  ·  ' + tty.stdout.split('HTTP 200  ·  ')[1]);
      assert.match(tty.stdout, /\n\nHTTP 200 {2}· {2}[\d.]+ m?s {2}· {2}streamed [\d.]+ m?s {2}· {2}warm {2}· {2}run run-s\n$/);
      const piped = await watch(name, false);
      assert.equal(piped.seenBeforeEnd, true, name);
      assert.ok(piped.stdout.startsWith('data: one é\r\ndata: \x1b[31mtwo\n\n\n'), JSON.stringify(piped.stdout));
    }
    // -i: the headers before the body; -o: written as it comes.
    const headers = await watch('sse', false, ['-i']);
    assert.match(headers.stdout, /^content-type: text\/event-stream\n[^]*\ndata: one/);
    const saved = await watch('sse', false, ['-o', 'events.txt', '-H', 'x-end-now: 1']);
    assert.equal(saved.seenBeforeEnd, null); // nothing of the body on stdout
    assert.equal(readFileSync(join(api.dir, 'events.txt'), 'utf8'), 'data: one é\r\ndata: \x1b[31mtwo\n\n');
    // --json: one document, after the end.
    const json = await watch('sse', false, ['--json', '-H', 'x-end-now: 1']);
    assert.equal((JSON.parse(json.stdout) as { body: string }).body, 'data: one é\r\ndata: \x1b[31mtwo\n\n');
  });

  it('prints each Set-Cookie on its own line with -i, keeps them apart in --json, and a redirect\'s location without -i (helper round, 2026-12-05)', async () => {
    const included = await invoke('cookies', false, ['-i']);
    assert.match(included.stdout, /^set-cookie: a=1; Path=\/\nset-cookie: old=; expires=Sat, 05 Dec 2026 01:05:38 GMT; Path=\/\nset-cookie: b="two words"$/m, included.stdout);
    const json = JSON.parse((await invoke('cookies', false, ['--json'])).stdout) as { headers: Record<string, string> };
    assert.deepEqual(json.headers['set-cookie']!.split('\n'), ['a=1; Path=/', 'old=; expires=Sat, 05 Dec 2026 01:05:38 GMT; Path=/', 'b="two words"']);
    const moved = await invoke('moved', false);
    assert.match(moved.stdout, /^location: \/fn\/moved\/there$/m, moved.stdout);
  });

  it('cuts a large body to a head on a terminal, and says how to save it whole', async () => {
    const r = await invoke('big', true);
    assert.equal(r.code, EXIT.OK);
    assert.ok(r.stdout.length < 8192, `${r.stdout.length} characters printed`);
    assert.match(r.stdout, /^line 0$/m);
    assert.match(r.stdout, /… \(\d+(\.\d)? (KiB|MiB) in all, the first [\d.]+ (B|KiB) shown: save it whole with node \S+\/bin\/fastapi-platform\.js invoke big … -o FILE/);
    const json = await invoke('bigjson', true);
    assert.ok(json.stdout.length < 8192);
    assert.match(json.stdout, /^ {4}"line 0",$/m);
  });

  it('cuts a large async result on a terminal too (--async --wait), and says where the whole one is', async () => {
    const r = await invoke('bigasync', true, ['--async', '--wait']);
    assert.equal(r.code, EXIT.OK);
    assert.ok(r.stdout.length < 8192, `${r.stdout.length} characters printed`);
    assert.match(r.stdout, /shown: save it whole with node \S+\/bin\/fastapi-platform\.js runs run-a --json > result\.json/);
    assert.ok((await invoke('bigasync', false, ['--async', '--wait'])).stdout.includes(BIG));
  });

  it('prints a binary body (by type, or a NUL byte) on a terminal as its size only', async () => {
    for (const name of ['bin', 'nul']) {
      const r = await invoke(name, true);
      assert.equal(r.code, EXIT.OK);
      assert.ok(!r.stdout.includes('\0') && !r.stdout.includes('PNG'), name);
      assert.match(r.stdout, new RegExp(`binary, not printed on the terminal; save it whole with node \\S+/bin/fastapi-platform\\.js invoke ${name} … -o FILE`));
    }
  });

  it('escapes the type of a binary body it does not print (red team round 7)', async () => {
    const r = await invoke('bincsi', true);
    assert.equal(r.code, EXIT.OK);
    // Before: the function's type went to the terminal raw, its U+009B a CSI on terminals that take C1 in UTF-8.
    assert.ok(!r.stdout.includes('\u009b'), JSON.stringify(r.stdout));
    assert.match(r.stdout, /of image\/png x\\x9b2J: binary, not printed on the terminal/);
  });

  it('escapes the Retry-After it repeats after a refusal (a function may answer one itself; red team round 7)', async () => {
    const r = await invoke('fakelimit', true);
    // Before: the function's OSC (U+009D … U+009C) went to the terminal raw, setting its title.
    assert.ok(!r.stderr.includes('\u009d'), JSON.stringify(r.stderr));
    assert.match(r.stderr, /retry after 1\\x9d0;TITLE\\x9c s\./);
  });

  it('escapes control characters of a body on a terminal (tabs and line breaks kept), not when piped', async () => {
    const r = await invoke('ansi', true);
    assert.ok(!r.stdout.includes('\x1b') && !r.stdout.includes('\x07'), JSON.stringify(r.stdout));
    assert.match(r.stdout, /\\x1b\]0;pwned\\x07hello\t\\x1b\[31mred\nline 2\n/);
    assert.ok((await invoke('ansi', false)).stdout.includes('\x1b]0;pwned\x07hello'));
  });

  it('keeps piped output whole and unchanged; -o saves the body as it came', async () => {
    const r = await invoke('big', false);
    assert.ok(r.stdout.includes(BIG));
    assert.doesNotMatch(r.stdout, /shown: save it whole/);
    const small = await invoke('small', true);
    assert.match(small.stdout, /\{\n {2}"a": 1\n\}/);
    const saved = await invoke('bin', true, ['-o', 'out.png']);
    assert.match(saved.stdout, new RegExp(`${BINARY.length} bytes written to out\\.png`));
    assert.deepEqual(readFileSync(join(api.dir, 'out.png')), BINARY);
  });

  it('gives the runs hint only for a failed run, not for a 4xx the function returned', async () => {
    for (const name of ['missing', 'fake']) {
      const own = await invoke(name, true);
      assert.equal(own.code, EXIT.FAILURE);
      assert.match(own.stdout, new RegExp(`HTTP 404 .* run run-${name === 'missing' ? '404' : 'fake'}`));
      assert.doesNotMatch(own.stderr, /Details, logs and the stack/);
    }
    // A refusal of the gateway (or of the request) ran nothing: its record holds no logs or stack
    // to look at (docs/adr/0048-newcomer-round-3.md).
    const gone = await invoke('gone', true);
    assert.doesNotMatch(gone.stderr, /Details, logs and the stack/);
    const broken = await invoke('broken', true);
    assert.equal(broken.code, EXIT.FAILURE);
    assert.match(broken.stdout, /error \(from the run record\): ValueError: bad value/);
    assert.match(broken.stderr, /Details, logs and the stack: .*fastapi-platform(\.js)? runs run-500/);
  });

  it('--async with a repeated Idempotency-Key does not also say "Queued."; a refusal prints its JSON as the sync path does', async () => {
    const again = await invoke('again', false, ['--async', '--idempotency-key', 'k1']);
    assert.equal(again.code, EXIT.OK, again.stderr);
    assert.equal(again.stdout, 'run-a\n');
    assert.match(again.stderr, /nothing new was queued/);
    assert.doesNotMatch(again.stderr, /Queued\./);
    const reused = await invoke('reused', false, ['--async', '--idempotency-key', 'k1']);
    // The platform refused it (a request error): 4, as every command's refusal (ADR 0174).
    assert.equal(reused.code, EXIT.API);
    assert.match(reused.stdout, /^HTTP 422\n\{\n {2}"error": \{\n {4}"code": "IDEMPOTENCY_KEY_REUSED",/);
  });

  it("a 404 FUNCTION_NOT_FOUND suggests a near name, as the API commands' not-found errors do", async () => {
    const typo = await invoke('my-fm', false);
    assert.equal(typo.code, EXIT.API);
    assert.match(typo.stderr, /No function "my-fm" is deployed in this workspace; did you mean "my-fn"\? Deploy it with `/, typo.stderr);
    const far = await invoke('zzzzzz', false);
    assert.match(far.stderr, /No function "zzzzzz" is deployed in this workspace: deploy it with `/, far.stderr);
    assert.doesNotMatch(far.stderr, /did you mean/);
    // -w names a workspace: the note says which one it looked in.
    const other = await invoke('zzzzzz', false, ['-w', 'staging']);
    assert.match(other.stderr, /No function "zzzzzz" is deployed in workspace "staging": deploy it with `/, other.stderr);
  });
  it('says when a body meant as JSON is not (it is sent as it is), and says nothing of JSON or of plain text (journey round 11)', async () => {
    writeFileSync(join(api.dir, 'broken.json'), '{"item": "pen",}\n');
    const cases: [string[], RegExp | null][] = [
      [['-d', '{"a":'], /^note: the body of --data is not valid JSON \(.+\); sent as it is, content-type text\/plain; charset=utf-8$/m],
      [['--file', 'broken.json'], /^note: broken\.json is not valid JSON \(.+\); sent as it is, content-type application\/json$/m],
      [['-d', '@broken.json'], /^note: broken\.json is not valid JSON/m],
      [['-d', '{"a": 1}'], null],
      [['-d', 'hello'], null],
      [['-d', '{"a":', '-H', 'content-type: text/x-own'], null],
    ];
    for (const [more, note] of cases) {
      const r = await invoke('small', false, more);
      assert.equal(r.code, EXIT.OK, `${more.join(' ')}: ${r.stderr}`);
      if (note === null) assert.doesNotMatch(r.stderr, /not valid JSON/, `${more.join(' ')}: ${r.stderr}`);
      else assert.match(r.stderr, note, `${more.join(' ')}: ${r.stderr}`);
    }
    const piped = await runCli(['invoke', 'small', '-', '--url', api.url, '--token', 'fpa_test'], { env: { FP_CONFIG_DIR: api.dir }, cwd: api.dir, stdin: '[1, 2' });
    assert.match(piped.stderr, /^note: the body from stdin is not valid JSON/m, piped.stderr);
  });

  it('a run failed for good (--async --wait) says it is kept with its payload and how to replay it (new-user round 12)', async () => {
    const r = await invoke('failing', false, ['--async', '--wait', '-d', '{"id": 7}']);
    assert.equal(r.code, EXIT.FAILURE, r.stderr);
    assert.match(r.stdout, /^run run-f {2}· {2}failed {2}· {2}2 attempts$/m);
    assert.match(r.stdout, /^error \(attempt 2\): ValueError: no$/m);
    assert.match(r.stderr, /runs run-f; it is kept with its payload \(`runs failing --status failed` lists such runs\): after a fix, `(?:node )?\S*fastapi-platform(\.js)? runs replay run-f` runs it again$/m, r.stderr);
  });

  it("says an API Gateway test event given as the body is sent whole, with the call it stands for (new-user round 12)", async () => {
    writeFileSync(join(api.dir, 'event.json'), JSON.stringify({ httpMethod: 'POST', path: '/items/7', queryStringParameters: { x: '1' }, headers: { 'Content-Type': 'application/json' }, body: '{"a": 1}', isBase64Encoded: false }));
    const r = await invoke('small', false, ['--file', 'event.json']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.match(r.stderr, /^note: event\.json is an API Gateway test event .*The call it stands for: (?:node )?\S*fastapi-platform(\.js)? invoke small -X POST --path '\/items\/7\?x=1' -H 'Content-Type: application\/json' -d '\{"a": 1\}' /m, r.stderr);
    // Given a path or method, the caller is past that: no note.
    const pathed = await invoke('small', false, ['--file', 'event.json', '--path', '/']);
    assert.doesNotMatch(pathed.stderr, /API Gateway test event/, pathed.stderr);
  });
});
