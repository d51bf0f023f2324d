/**
 * Secrets at rest on the production platform (Redis + FerretDB, two processes sharing one
 * FP_SECRETS_KEY): a secret set through one process reaches a real Python function served by the
 * other, is nowhere in FerretDB's files in clear, and a token document planted in MongoDB grants
 * nothing after a reload of the token index or a restart (401).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { Api, deployed, errorOf, fnName, py, sleep } from './platform-harness.js';
import { clusterOptions, productionSkip, startNode, useServers, type Node } from './production-harness.js';

const ENV_READER = py('import os', 'def handler(event, context):', '    return {"DB_PASSWORD": os.environ.get("DB_PASSWORD")}');

async function passwordAt(url: string, name: string): Promise<unknown> {
  const res = await fetch(`${url}/fn/${name}/`);
  return res.status === 200 ? ((await res.json()) as { DB_PASSWORD: unknown }).DB_PASSWORD : res.status;
}

async function eventually<T>(read: () => Promise<T>, expected: T, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (JSON.stringify(value) === JSON.stringify(expected)) return;
    if (Date.now() > deadline) assert.deepEqual(value, expected);
    await sleep(100);
  }
}

describe('secrets on the production platform', { skip: productionSkip, timeout: 120_000 }, () => {
  const servers = useServers();
  let a: Node;
  let b: Node;
  let database = '';
  let options: ReturnType<typeof clusterOptions>;
  before(async () => {
    options = clusterOptions(servers);
    database = options.mongoDatabase!;
    a = await startNode(options);
    b = await startNode(options, a.api.token);
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('a secret set through one process reaches the function served by the other, and is never stored in clear', async () => {
    const name = fnName('prodsecret');
    const [first, second] = [`pw-${randomBytes(9).toString('hex')}`, `pw-${randomBytes(9).toString('hex')}`];
    await deployed(a.api, name, { 'main.py': ENV_READER }, { secrets: { DB_PASSWORD: first } });
    await eventually(() => passwordAt(b.url, name), first);
    const patched = await a.api.call('PATCH', `/functions/${name}`, { secrets: { DB_PASSWORD: second } });
    assert.deepEqual(patched.body.function.secrets, ['DB_PASSWORD']);
    await eventually(() => passwordAt(b.url, name), second);
    const files = readdirSync(servers.ferret.dir).filter((n) => n.startsWith(`${database}.sqlite`));
    assert.ok(files.length > 0);
    const bytes = Buffer.concat(files.map((n) => readFileSync(join(servers.ferret.dir, n))));
    for (const value of [first, second]) assert.equal(bytes.includes(value), false, 'a clear secret in FerretDB');
  });

  it('a token document planted in MongoDB grants nothing after a reload or a restart (401)', async () => {
    const planted = `fpa_${randomBytes(32).toString('base64url')}`;
    const sha = createHash('sha256').update(planted).digest('hex');
    const client = await MongoClient.connect(servers.ferret.url);
    try {
      const tokens = client.db(database).collection<{ _id: string; keyId?: string | null } & Record<string, unknown>>('tokens');
      const keyId = (await tokens.findOne({ kind: 'admin', revokedAt: null }))?.keyId;
      assert.match(String(keyId), /^k_[0-9a-f]{12}$/);
      await tokens.insertMany([
        { _id: 'tok_planted_legacy', kind: 'admin', scope: null, label: 'admin', hash: sha, createdAt: 1, seq: 1, revokedAt: null },
        { _id: 'tok_planted_current', kind: 'admin', scope: null, label: 'admin', digest: createHash('sha256').update(sha).digest('hex'), keyId, createdAt: 1, seq: 2, revokedAt: null },
      ]);
    } finally {
      await client.close();
    }
    // A token change through `a` makes every process reload its token index from the store.
    const fn = fnName('tokened');
    await deployed(a.api, fn, { 'main.py': ENV_READER }, { auth: 'token' });
    for (const node of [a, b]) {
      // b reloads when the bus message arrives: waited for, not guessed.
      await eventually(async () => (await new Api(node.url, planted).call('GET', '/functions')).status, 401);
      const refused = await new Api(node.url, planted).call('GET', '/functions');
      assert.deepEqual([refused.status, errorOf(refused).code], [401, 'ADMIN_TOKEN_INVALID']);
      assert.equal((await node.api.call('GET', '/functions')).status, 200);
    }
    const c = await startNode(options, a.api.token);
    try {
      assert.equal((await new Api(c.url, planted).call('GET', '/functions')).status, 401);
      assert.equal((await c.api.call('GET', '/functions')).status, 200);
    } finally {
      await c.close();
    }
  });
});
