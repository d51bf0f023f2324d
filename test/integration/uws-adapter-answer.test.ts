/**
 * How gateway/uws-adapter.ts turns the handler's outcome into an answer (one `then` per request,
 * issue 11): a response, a synchronous throw and a rejection (both through onError), an onError
 * that throws (500); every request leaves the in-flight count, so idle() resolves.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHttpServer, type IncomingRequest, type OutgoingResponse } from '../../gateway/uws-adapter.js';

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
});
