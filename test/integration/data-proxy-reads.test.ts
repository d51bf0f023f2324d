/**
 * The data proxy reads its database server's replies into one buffer shared by every backend
 * connection (`onread`, ADR 0033) and copies each read out before the next. A reply that arrives
 * in two reads, with another connection's reply read in between, must reach its function intact:
 * without the copy the second reply's bytes would overwrite the first reply's first half.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Long, MongoClient } from 'mongodb';
import { bindingUri, DataCredentials, DataProxy, physicalDatabase, WriteLedger } from '../../controlplane/index.js';
import { decodeOpMsg, encodeOpMsg, FrameReader, readHeader } from '../../controlplane/data/wire.js';

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('data proxy: replies read in pieces on several backend connections', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fp-data-reads-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives each function its own reply, byte for byte, when reads of two connections interleave', { timeout: 30_000 }, async () => {
    const big = (who: string): { _id: number; who: string; pad: string } => ({ _id: 1, who, pad: who.repeat(4000) });
    // A fake server: `find` on collection `a` is answered in two writes 150 ms apart; `b` at once.
    // So A's reply is read in two pieces and B's whole reply is read between them.
    const sockets: Socket[] = [];
    let aWaiting: (() => void) | null = null;
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
      const reader = new FrameReader(1 << 20);
      socket.on('data', (chunk: Buffer) => {
        for (const frame of reader.push(chunk)) {
          const { requestId } = readHeader(frame);
          const target = decodeOpMsg(frame).body.find as unknown;
          if (typeof target !== 'string') {
            socket.write(encodeOpMsg({ ok: 0, errmsg: 'only find', code: 59 }, 1, requestId));
            continue;
          }
          const reply = encodeOpMsg({ cursor: { firstBatch: [big(target === 'a' ? 'A' : 'B')], id: Long.fromNumber(0), ns: `x.${target}` }, ok: 1 }, 1, requestId);
          if (target === 'a') {
            socket.write(reply.subarray(0, reply.length >> 1));
            aWaiting = () => socket.write(reply.subarray(reply.length >> 1));
          } else {
            socket.write(reply);
            setTimeout(() => aWaiting?.(), 150);
          }
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as { port: number }).port;
    const credentials = new DataCredentials();
    const proxy = new DataProxy({ backend: { host: '127.0.0.1', port }, credentials, ledger: new WriteLedger(), markBindings: false });
    const grant = { functionKey: 'reads-fn', workspace: 'default', database: 'reads', physical: physicalDatabase('default', 'reads') };
    const sock = await proxy.listen(grant.functionKey, join(dir, 'reads', 'mongo.sock'));
    const uri = bindingUri(sock, grant.physical, credentials.credentialFor(grant));
    const clientA = new MongoClient(uri, { serverSelectionTimeoutMS: 5000, socketTimeoutMS: 5000, retryReads: false });
    const clientB = new MongoClient(uri, { serverSelectionTimeoutMS: 5000, socketTimeoutMS: 5000, retryReads: false });
    try {
      await Promise.all([clientA.connect(), clientB.connect()]);
      const a = clientA.db(grant.physical).collection('a').findOne({});
      await pause(150); // A's first half is read by the proxy
      const b = clientB.db(grant.physical).collection('b').findOne({});
      const [docA, docB] = await Promise.all([a, b]);
      assert.deepEqual(docA, big('A'));
      assert.deepEqual(docB, big('B'));
      assert.equal(sockets.length, 2, 'one backend connection per client connection');
    } finally {
      await clientA.close();
      await clientB.close();
      await proxy.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
