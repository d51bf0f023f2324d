/**
 * The data proxy's wait for its database server is bounded (FP_DATA_BACKEND_TIMEOUT_MS): a server
 * that accepts and never answers, or one stopped mid-way (SIGSTOP), costs a command the timeout
 * (and a liveness ping's short wait) and a DATA_BACKEND_UNAVAILABLE reply, not the function's whole
 * timeout; the hung connection is dropped and the next command reconnects. A server that answers
 * its ping is alive: its slow command is waited for.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BSON, MongoClient } from 'mongodb';
import { bindingUri, DataCredentials, DataProxy, physicalDatabase, WriteLedger } from '../../controlplane/index.js';
import { serverSkip, startFerret, type ServerProcess } from '../helpers/servers.js';
import { stopProcess } from '../helpers/processes.js';

type MongoError = { code?: number; message: string; errorResponse?: { fpCode?: string } };

function unavailable(port: number): (err: MongoError) => boolean {
  return (err) => err.code === 6 && err.message.startsWith('DATA_BACKEND_UNAVAILABLE') && err.message.includes('did not answer in time')
    && !err.message.includes(String(port)) && !err.message.includes('127.0.0.1');
}

describe('data proxy: a database server that never answers', () => {
  const realNow = Date.now;
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fp-data-timeout-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('answers DATA_BACKEND_UNAVAILABLE after the timeout, drops the connection, reconnects for the next command', { timeout: 30_000 }, async () => {
    // Accepts every connection, reads everything, answers nothing. The proxy's liveness pings
    // (a connection whose first bytes are a `ping`) are counted apart.
    const accepted: Socket[] = [];
    const closed: Socket[] = [];
    const probes: Socket[] = [];
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', (first: Buffer) => {
        if (first.includes('ping')) return void probes.push(socket);
        accepted.push(socket);
        socket.on('close', () => closed.push(socket));
      });
      socket.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as { port: number }).port;
    const credentials = new DataCredentials();
    const proxy = new DataProxy({ backend: { host: '127.0.0.1', port }, credentials, ledger: new WriteLedger(), markBindings: false, backendTimeoutMs: 1000 });
    const grant = { functionKey: 'hang-fn', workspace: 'default', database: 'hang', physical: physicalDatabase('default', 'hang') };
    const sock = await proxy.listen(grant.functionKey, join(dir, 'hang', 'mongo.sock'));
    const client = new MongoClient(bindingUri(sock, grant.physical, credentials.credentialFor(grant)), { serverSelectionTimeoutMS: 5000, retryReads: false, retryWrites: false });
    try {
      const started = Date.now();
      const t0 = performance.now(); // a duration: the wall clock may be stepped meanwhile (CI saw 11.4 s in a 1.8 s test)
      await assert.rejects(client.db(grant.physical).collection('x').findOne({}), unavailable(port));
      const took = performance.now() - t0;
      assert.ok(took >= 950 && took < 6000, `the command waited ${took} ms`);
      assert.equal(proxy.toldUnavailable('hang-fn', started), true, 'the proxy remembers what it told the function');
      assert.equal(proxy.toldUnavailable('other-fn', started), false);
      assert.equal(probes.length, 1, 'one liveness ping before giving up');
      await waitFor(() => closed.length === 1, 'the hung backend connection was not dropped');
      assert.equal(accepted.length, 1);
      // Another function's command meanwhile is its own: it asks the server (one function's slow
      // command must not make every binding fail).
      const other = { functionKey: 'other-fn', workspace: 'default', database: 'other', physical: physicalDatabase('default', 'other') };
      const otherSock = await proxy.listen(other.functionKey, join(dir, 'other', 'mongo.sock'));
      const otherClient = new MongoClient(bindingUri(otherSock, other.physical, credentials.credentialFor(other)), { serverSelectionTimeoutMS: 5000, retryReads: false });
      const asked = accepted.length;
      void otherClient.db(other.physical).collection('x').findOne({}).catch(() => undefined);
      await waitFor(() => accepted.length === asked + 1, 'the other function\'s command was answered without asking the server');
      // Not counted below, as accepted or as closed.
      const otherConn = accepted.pop()!;
      otherConn.destroy();
      await waitFor(() => closed.includes(otherConn), 'the other connection did not close');
      closed.splice(closed.indexOf(otherConn), 1);
      await otherClient.close();
      // Right after (a driver's retry): answered at once, the hung server not asked again.
      const retried = performance.now();
      await assert.rejects(client.db(grant.physical).collection('x').findOne({}), unavailable(port));
      // Generous bounds (a loaded CI machine): a second wait would take the whole 1 s timeout.
      assert.ok(performance.now() - retried < 700, `the retry waited ${performance.now() - retried} ms`);
      assert.equal(accepted.length, 1);
      // A moment later: a new backend connection (and the same bounded wait), though the wall clock
      // stepped back 10 minutes meanwhile (chaos round 9: answered at once for those 10 minutes).
      Date.now = () => realNow() - 10 * 60_000;
      await new Promise((resolve) => setTimeout(resolve, 1300));
      const next = performance.now();
      await assert.rejects(client.db(grant.physical).collection('x').insertOne({ a: 1 }), unavailable(port));
      assert.ok(performance.now() - next >= 950, 'the next command did not ask the server again');
      assert.equal(accepted.length, 2);
      await waitFor(() => closed.length === 2, 'the second hung connection was not dropped');
    } finally {
      Date.now = realNow;
      await client.close();
      await proxy.close();
      for (const socket of accepted) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('data proxy: a database server that closes the connection before it answers', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fp-data-closed-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  // A server killed or restarted mid-command closes with a FIN, no error: the binding's mark (made
  // ahead at a deploy, ADR 0184) waited out the whole backend timeout for it, and the function's
  // first command with it (CI: an async run's attempt still running 21 s after FerretDB was killed).
  it('answers the binding\'s first command DATA_BACKEND_UNAVAILABLE at once, not after the timeout', { timeout: 30_000 }, async () => {
    let asked = 0;
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => {
        asked++;
        socket.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as { port: number }).port;
    const credentials = new DataCredentials();
    const proxy = new DataProxy({ backend: { host: '127.0.0.1', port }, credentials, ledger: new WriteLedger(), backendTimeoutMs: 15_000 });
    const grant = { functionKey: 'closed-fn', workspace: 'default', database: 'closed', physical: physicalDatabase('default', 'closed') };
    const sock = await proxy.listen(grant.functionKey, join(dir, 'closed', 'mongo.sock'));
    const client = new MongoClient(bindingUri(sock, grant.physical, credentials.credentialFor(grant)), { serverSelectionTimeoutMS: 5000, retryReads: false, retryWrites: false });
    try {
      const t0 = performance.now();
      await assert.rejects(client.db(grant.physical).collection('x').findOne({}), (err: MongoError) => err.code === 6 && err.message.startsWith('DATA_BACKEND_UNAVAILABLE'));
      const took = performance.now() - t0;
      assert.ok(asked >= 1, 'the server was asked');
      assert.ok(took < 5000, `the command waited ${Math.round(took)} ms for a connection the server had closed (timeout 15 s)`);
    } finally {
      await client.close();
      await proxy.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('data proxy: a FerretDB stopped mid-way', { skip: serverSkip('ferretdb') }, () => {
  let ferret: ServerProcess;
  let dir: string;
  before(async () => {
    ferret = await startFerret();
    dir = mkdtempSync(join(tmpdir(), 'fp-data-stop-'));
  });
  after(async () => {
    // A test that timed out while the server was stopped: let it continue, so it can stop.
    if (ferret?.running) process.kill(ferret.pid, 'SIGCONT');
    await ferret?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers DATA_BACKEND_UNAVAILABLE while it is stopped and works again once it continues', { timeout: 30_000 }, async () => {
    const credentials = new DataCredentials();
    const proxy = new DataProxy({ backend: { host: '127.0.0.1', port: ferret.port }, credentials, ledger: new WriteLedger(), backendTimeoutMs: 1000 });
    const grant = { functionKey: 'stop-fn', workspace: 'default', database: 'stop', physical: physicalDatabase('default', 'stop') };
    const sock = await proxy.listen(grant.functionKey, join(dir, 'stop', 'mongo.sock'));
    // The driver's defaults: a read failing with code 6 is retried at once (as pymongo does).
    const client = new MongoClient(bindingUri(sock, grant.physical, credentials.credentialFor(grant)), { serverSelectionTimeoutMS: 5000 });
    const pid = ferret.pid;
    try {
      await client.db(grant.physical).collection('x').insertOne({ a: 1 });
      // Idle longer than the timeout: no failure (nothing was asked), and the timer is armed again by the next command.
      await new Promise((resolve) => setTimeout(resolve, 1200));
      assert.equal(await client.db(grant.physical).collection('x').countDocuments(), 1);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      await stopProcess(pid);
      const started = performance.now();
      await assert.rejects(client.db(grant.physical).collection('x').findOne({}), unavailable(ferret.port));
      // One wait (the timeout, then the ping's 0.5 s), not one per attempt of the driver.
      const took = performance.now() - started;
      assert.ok(took >= 1400 && took < 2800, `the read (with the driver's retry) waited ${took} ms`); // two waits: 3 s
      process.kill(pid, 'SIGCONT');
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal(await client.db(grant.physical).collection('x').countDocuments(), 1);
    } finally {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already gone
      }
      await client.close();
      await proxy.close();
    }
  });
});

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 3000;
  while (!condition()) {
    if (performance.now() > deadline) assert.fail(what);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('data proxy: a slow command on a live server', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fp-data-slow-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is waited for past the timeout while the server answers its liveness ping (a big aggregation is not an outage)', { timeout: 30_000 }, async () => {
    // A server that answers `ping` at once and every other command 2.5 s later (2.5 backend timeouts).
    let pings = 0;
    const reply = (request: Buffer, doc: Record<string, unknown>): Buffer => {
      const body = BSON.serialize(doc);
      const frame = Buffer.alloc(21 + body.length);
      frame.writeInt32LE(frame.length, 0);
      frame.writeInt32LE(7, 4);
      frame.writeInt32LE(request.readInt32LE(4), 8); // responseTo: the request's id
      frame.writeInt32LE(2013, 12);
      frame.set(body, 21);
      return frame;
    };
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.on('data', (request: Buffer) => {
        const command = BSON.deserialize(request.subarray(21, request.readInt32LE(0)));
        if ('ping' in command) {
          pings += 1;
          socket.write(reply(request, { ok: 1 }));
          return;
        }
        const ns = `${String(command.$db)}.${String(command.find)}`;
        setTimeout(() => socket.write(reply(request, { cursor: { id: BSON.Long.fromNumber(0), ns, firstBatch: [{ slow: true }] }, ok: 1 })), 2500);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as { port: number }).port;
    const credentials = new DataCredentials();
    const proxy = new DataProxy({ backend: { host: '127.0.0.1', port }, credentials, ledger: new WriteLedger(), markBindings: false, backendTimeoutMs: 1000 });
    const grant = { functionKey: 'slow-fn', workspace: 'default', database: 'slow', physical: physicalDatabase('default', 'slow') };
    const sock = await proxy.listen(grant.functionKey, join(dir, 'slow', 'mongo.sock'));
    const client = new MongoClient(bindingUri(sock, grant.physical, credentials.credentialFor(grant)), { serverSelectionTimeoutMS: 5000, retryReads: false });
    try {
      const started = performance.now();
      const doc = await client.db(grant.physical).collection('x').findOne({}, { projection: { _id: 0 } });
      assert.deepEqual(doc, { slow: true });
      assert.ok(performance.now() - started >= 2400, 'the answer came when the server sent it');
      assert.ok(pings >= 2, `the proxy asked whether the server was alive at each silent spell (${pings} pings)`);
      assert.equal(proxy.toldUnavailable('slow-fn', started), false);
    } finally {
      await client.close();
      await proxy.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
