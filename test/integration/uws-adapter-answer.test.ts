/**
 * How gateway/uws-adapter.ts turns the handler's outcome into an answer (one `then` per request,
 * issue 11): a response, a synchronous throw and a rejection (both through onError), an onError
 * that throws (500); every request leaves the in-flight count, so idle() resolves.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IncomingRequest, OutgoingResponse } from '../../gateway/http-server.js';
import { startHttpServer } from '../../gateway/uws-adapter.js';

describe('uws adapter: answering', () => {
  it('answers a response, a throw, a rejection and a failing onError, and ends idle', async (t) => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => { warnings.push(w.message); };
    process.on('warning', onWarning);
    t.after(() => process.off('warning', onWarning));
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1024,
      handle(req: IncomingRequest): Promise<OutgoingResponse> {
        switch (req.url) {
          case '/ok':
            return Promise.resolve({ status: 200, headers: [['content-type', 'text/plain']], body: 'fine' });
          case '/throw':
            throw new Error('thrown');
          case '/reject':
            return Promise.reject(new Error('rejected'));
          case '/later':
            return new Promise((resolve) => setTimeout(() => resolve({ status: 201, headers: [], body: 'later' }), 20));
          default:
            return Promise.reject(new Error('onError fails on this one'));
        }
      },
      onError(err: unknown, req: IncomingRequest): OutgoingResponse {
        if (req.url === '/bug') throw new Error('a bug in onError');
        return { status: 502, headers: [], body: `onError: ${(err as Error).message}` };
      },
    });
    t.after(() => server.closeAll());
    const base = `http://127.0.0.1:${server.port}`;
    const get = async (path: string): Promise<[number, string]> => {
      const res = await fetch(base + path);
      return [res.status, await res.text()];
    };
    assert.deepEqual(await get('/ok'), [200, 'fine']);
    assert.deepEqual(await get('/throw'), [502, 'onError: thrown']);
    assert.deepEqual(await get('/reject'), [502, 'onError: rejected']);
    assert.deepEqual(await get('/later'), [201, 'later']);
    assert.deepEqual(await get('/bug'), [500, '']);
    assert.ok(warnings.some((w) => w.includes('could not answer a request')), warnings.join('; '));
    const many = await Promise.all(['/ok', '/throw', '/later', '/bug', '/reject'].map(get));
    assert.deepEqual(many.map(([status]) => status), [200, 502, 201, 500, 502]);
    assert.equal(server.inFlight, 0);
    await server.idle();
  });

  it('gives the whole body without a promise once it arrived (bodyNow: at once without a body), and each request its own headers', async (t) => {
    const seen: { url: string; now: string | null; body: string; headers: string }[] = [];
    const bodyless: Record<string, boolean | undefined> = {};
    const emptyBodies: Uint8Array[] = [];
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1 << 20,
      async handle(req: IncomingRequest): Promise<OutgoingResponse> {
        bodyless[req.url] = req.bodyless;
        const now = req.bodyNow();
        const body = await req.body();
        if (req.bodyless === true) emptyBodies.push(body);
        // Once body() resolved, bodyNow gives the same bytes.
        assert.equal(req.bodyNow(), body);
        seen.push({ url: req.url, now: now === null ? null : Buffer.from(now).toString(), body: Buffer.from(body).toString(), headers: req.headers.filter(([k]) => k.startsWith('x-')).map((p) => p.join('=')).join(',') });
        return { status: 200, headers: [], body: 'ok' };
      },
      onError(): OutgoingResponse {
        return { status: 500, headers: [], body: '' };
      },
    });
    t.after(() => server.closeAll());
    const base = `http://127.0.0.1:${server.port}`;
    await fetch(`${base}/none`, { headers: { 'x-a': '1' } }).then((r) => r.text());
    await fetch(`${base}/small`, { method: 'POST', body: 'hello', headers: { 'x-b': '2', 'x-c': '3' } }).then((r) => r.text());
    const big = 'y'.repeat(300_000);
    await fetch(`${base}/big`, { method: 'POST', body: big }).then((r) => r.text());
    const closing = await fetch(`${base}/close`, { headers: { connection: 'close' } });
    await closing.text();
    assert.equal(closing.headers.get('connection'), 'close');
    const byUrl = Object.fromEntries(seen.map((s) => [s.url, s]));
    assert.deepEqual(byUrl['/none'], { url: '/none', now: '', body: '', headers: 'x-a=1' });
    // The handler starts in uWS's callback for the head, before any body bytes are handed over.
    assert.deepEqual(byUrl['/small'], { url: '/small', now: null, body: 'hello', headers: 'x-b=2,x-c=3' });
    assert.equal(byUrl['/big']!.now, null);
    assert.equal(byUrl['/big']!.body, big);
    // Without a body: said so (the invoke path then makes no buffer), and whoever asks still gets
    // a fresh empty buffer of the request's own (one may be transferred to a worker and detached).
    assert.deepEqual(bodyless, { '/none': true, '/small': false, '/big': false, '/close': true });
    assert.equal(emptyBodies.length, 2);
    assert.notEqual(emptyBodies[0], emptyBodies[1]);
    assert.notEqual(emptyBodies[0]!.buffer, emptyBodies[1]!.buffer);
  });

  it('writes the status line and every header as its own line, in order, with one call into uWS for all of them', async (t) => {
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1024,
      handle(req: IncomingRequest): Promise<OutgoingResponse> {
        if (req.url === '/none') return Promise.resolve({ status: 204, headers: [] });
        if (req.url === '/teapot') return Promise.resolve({ status: 418, headers: [['x-a', '1']], body: 'tea' });
        if (req.url === '/latin1') return Promise.resolve({ status: 200, headers: [['x-l', 'caf\u00e9'], ['x-m', 'plain']], body: 'l', latin1Headers: true });
        return Promise.resolve({ status: 200, headers: [['content-type', 'text/plain'], ['x-run-id', 'abc'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['server-timing', 'queue;dur=0, total;dur=1.5']], body: 'hi' });
      },
      onError(): OutgoingResponse {
        return { status: 500, headers: [], body: '' };
      },
    });
    t.after(() => server.closeAll());
    const { connect } = await import('node:net');
    const raw = (path: string): Promise<Buffer> => new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect(server.port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
    });
    const head = (bytes: Buffer): string[] => bytes.toString('latin1').split('\r\n\r\n')[0]!.split('\r\n').filter((l) => !/^(date|connection|content-length):/i.test(l));
    assert.deepEqual(head(await raw('/many')), ['HTTP/1.1 200 OK', 'content-type: text/plain', 'x-run-id: abc', 'set-cookie: a=1', 'set-cookie: b=2', 'server-timing: queue;dur=0, total;dur=1.5']);
    assert.deepEqual(head(await raw('/none')), ['HTTP/1.1 204 No Content']);
    // The whole head as it leaves, with the lines uWS adds (only Date's value varies): the client's
    // `Connection: close` answered by the gateway's own line, after the handler's headers.
    const whole = (bytes: Buffer): string[] => bytes.toString('latin1').split('\r\n\r\n')[0]!.split('\r\n').map((l) => (/^date:/i.test(l) ? 'Date: *' : l));
    // (The same bytes as the status and each header in a call of their own: checked against the build before.)
    assert.deepEqual(whole(await raw('/many')), ['HTTP/1.1 200 OK', 'content-type: text/plain', 'x-run-id: abc', 'set-cookie: a=1', 'set-cookie: b=2',
      'server-timing: queue;dur=0, total;dur=1.5', 'connection: close', 'Date: *', 'Content-Length: 2']);
    assert.deepEqual(whole(await raw('/none')), ['HTTP/1.1 204 No Content', 'connection: close', 'Date: *']);
    assert.deepEqual(whole(await raw('/teapot')), ['HTTP/1.1 418 I\'m a Teapot', 'x-a: 1', 'connection: close', 'Date: *', 'Content-Length: 3']);
    // Latin-1 values as bytes, as before: one call per header there.
    const latin = await raw('/latin1');
    assert.ok(latin.includes(Buffer.from('x-l: caf\xe9\r\nx-m: plain\r\n', 'latin1')), latin.toString('latin1'));
  });
});
