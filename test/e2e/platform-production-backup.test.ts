/**
 * Backing up a production platform and restoring it into a fresh database server (ops round 2),
 * as docs/stores.md ("Backup and restore", Production) says: a dump of every database of the
 * server — the platform's and the data bindings' — restored into a fresh FerretDB, and a copy of
 * Redis's append-only files started as a fresh Redis; the platform started on both with the same
 * database name, key prefix and secrets key. mongodump is not installable on the test machines:
 * the dump here is the same shape (each collection's documents with their BSON types kept, and
 * its indexes; mongorestore inserts them and creates the indexes).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MongoClient, type Document } from 'mongodb';
import { startFerret, startRedis } from '../helpers/servers.js';
import { filesOf, py, sleep, TEST_SECRETS_KEY } from './platform-harness.js';
import { productionSkip, startNode } from './production-harness.js';

interface Dumped { db: string; collection: string; options: Document; docs: Document[]; indexes: Document[] }

/** What mongodump takes: every database but the server's own, each collection's documents (types kept) and indexes. */
async function dumpServer(url: string): Promise<Dumped[]> {
  const client = await new MongoClient(url).connect();
  try {
    const out: Dumped[] = [];
    for (const { name: db } of (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases) {
      if (['admin', 'local', 'config'].includes(db)) continue;
      for (const c of await client.db(db).listCollections().toArray()) {
        const coll = client.db(db).collection(c.name);
        const docs = await coll.find({}, { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true }).toArray();
        const indexes = (await coll.listIndexes().toArray()).filter((i) => i['name'] !== '_id_');
        out.push({ db, collection: c.name, options: (c as { options?: Document }).options ?? {}, docs, indexes });
      }
    }
    return out;
  } finally {
    await client.close();
  }
}

/** What mongorestore does with it: each collection created, its documents inserted, its indexes made. */
async function restoreServer(url: string, dump: Dumped[]): Promise<void> {
  const client = await new MongoClient(url).connect();
  try {
    for (const d of dump) {
      const db = client.db(d.db);
      await db.createCollection(d.collection, d.options);
      if (d.docs.length > 0) await db.collection(d.collection).insertMany(d.docs, { ordered: true });
      for (const { key, name, v: _v, ns: _ns, ...rest } of d.indexes) await db.collection(d.collection).createIndex(key, { name, ...rest });
    }
  } finally {
    await client.close();
  }
}

const sign = (secret: string, body: string): Record<string, string> => ({ 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` });

describe('backup and restore of a production platform into a fresh database server', { skip: productionSkip, timeout: 120_000 }, () => {
  it('brings back functions, versions, runs, secrets, triggers, tokens and the bindings\' data; the platform starts on it', async () => {
    const redis = await startRedis({ appendOnly: true });
    const source = await startFerret();
    let target: Awaited<ReturnType<typeof startFerret>> | null = null;
    let restoredRedis: Awaited<ReturnType<typeof startRedis>> | null = null;
    const copies = mkdtempSync(join(tmpdir(), 'fp-redis-copy-'));
    const options = { store: 'production' as const, redisUrl: redis.url, mongoDatabase: 'fp_backup', redisPrefix: 'fpbk', secretsKey: TEST_SECRETS_KEY };
    try {
      const a = await startNode({ ...options, mongoUrl: source.url, dataMongoUrl: source.url });
      const token = a.api.token;
      let secret = '';
      let syncRun = '';
      let hookRun = '';
      try {
        const handler = py('import os', 'def handler(event, context):', '    if event["method"] == "POST":', '        context.db.items.insert_one({"n": 1})',
          '    return {"secret": os.environ.get("DB_PASSWORD"), "count": context.db.items.count_documents({})}');
        assert.equal((await a.api.call('POST', '/functions', { name: 'keep', secrets: { DB_PASSWORD: 's3cret' } })).status, 201);
        const manifest = { kind: 'function', name: 'keep', data: { mongo: { database: 'shop' } }, triggers: [{ type: 'webhook', id: 'gh' }, { type: 'cron', id: 'nightly', schedule: '0 3 * * *' }] };
        const up = await a.api.call('POST', '/functions/keep/versions', { files: filesOf({ 'main.py': handler }), manifest });
        assert.equal(up.status, 201, JSON.stringify(up.body));
        assert.equal((await a.api.call('POST', '/functions/keep/deploy', {})).status, 200);
        secret = (await a.api.call('POST', '/functions/keep/triggers/gh/secret/rotate', { grace: '0s' })).body.secret as string;
        for (let i = 1; i <= 2; i++) {
          const res = await fetch(`${a.url}/fn/keep/`, { method: 'POST', body: '{}' });
          assert.deepEqual(await res.json(), { secret: 's3cret', count: i });
          syncRun = res.headers.get('x-run-id')!;
        }
        const hook = await fetch(`${a.url}/hooks/keep/gh`, { method: 'POST', body: '{}', headers: sign(secret, '{}') });
        assert.equal(hook.status, 202);
        hookRun = ((await hook.json()) as { runId: string }).runId;
        for (let i = 0; ; i++) {
          const run = await a.api.call('GET', `/runs/${hookRun}`);
          const written = await a.api.call('GET', `/runs/${syncRun}`);
          if (run.body?.run?.state === 'succeeded' && written.status === 200) break;
          assert.ok(i < 150, JSON.stringify(run.body));
          await sleep(100);
        }
      } finally {
        await a.close();
      }
      // Redis's half: a copy of its append-only files, taken while it runs (docs/stores.md).
      cpSync(join(redis.dir, 'appendonlydir'), join(copies, 'appendonlydir'), { recursive: true });
      const dump = await dumpServer(source.url);
      assert.ok(dump.some((d) => d.db === 'default_shop'), 'the binding\'s database is in the dump');
      await source.stop();
      await redis.destroy();
      target = await startFerret();
      await restoreServer(target.url, dump);
      restoredRedis = await startRedis({ appendOnly: true, args: ['--dir', copies] });

      const b = await startNode({ ...options, redisUrl: restoredRedis.url, mongoUrl: target.url, dataMongoUrl: target.url }, token);
      try {
        assert.deepEqual(b.logs.filter((l) => /WARNING|could not|failed/.test(l)), []);
        const fn = await b.api.call('GET', '/functions/keep');
        assert.equal(fn.status, 200, JSON.stringify(fn.body));
        assert.equal(fn.body.function.activeVersion, 1);
        assert.deepEqual(fn.body.function.secrets, ['DB_PASSWORD']);
        assert.equal((await b.api.call('GET', `/runs/${syncRun}`)).status, 200, 'a sync run record');
        assert.equal((await b.api.call('GET', `/runs/${hookRun}`)).body.run.state, 'succeeded');
        const triggers = JSON.stringify((await b.api.call('GET', '/functions/keep/triggers')).body);
        assert.ok(triggers.includes('"nightly"') && triggers.includes('"gh"'), triggers);
        // The secret decrypts, the bound database holds its three documents, the webhook secret verifies.
        assert.deepEqual(await (await fetch(`${b.url}/fn/keep/`)).json(), { secret: 's3cret', count: 3 }); // two calls and the webhook's run
        assert.equal((await fetch(`${b.url}/hooks/keep/gh`, { method: 'POST', body: '{"again":1}', headers: sign(secret, '{"again":1}') })).status, 202);
      } finally {
        await b.close();
      }
    } finally {
      await Promise.all([redis.destroy(), source.destroy(), target?.destroy(), restoredRedis?.destroy()]);
      rmSync(copies, { recursive: true, force: true });
    }
  });
});
