/**
 * Production-mode platforms for end-to-end tests: one real redis-server and one FerretDB per test
 * file (test/helpers/servers.ts), and platforms started against them with a fresh Redis key prefix
 * and MongoDB database per group, so groups never see each other's data.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { startPlatform, type StartedPlatform, type StartOptions } from '../../platform/start.js';
import { serverSkip, startFerret, startRedis, type ServerProcess } from '../helpers/servers.js';
import { Api, TEST_SECRETS_KEY } from './platform-harness.js';

export const productionSkip = serverSkip('redis-server', 'ferretdb');

export interface Servers {
  redis: ServerProcess;
  ferret: ServerProcess;
}

/** Platform processes started by startNode and not closed yet, oldest first. */
const openNodes = new Set<{ node: Node; options: StartOptions }>();

/**
 * Starts Redis (append-only, so a restart keeps what it acknowledged) and FerretDB for the file.
 * Its `after` runs before the hooks registered after it (node:test runs a suite's `after` hooks in
 * the order they were registered), so it first closes, newest first, the nodes still open on these
 * servers: closed after them, each node spent its record sink's whole 5 s drain on servers that
 * were gone (10 s of every two-process file; docs/adr/0186-test-time-windows-and-polls.md).
 */
export function useServers(): Servers {
  const s = {} as Servers;
  before(async () => {
    [s.redis, s.ferret] = await Promise.all([startRedis({ appendOnly: true }), startFerret()]);
  });
  after(async () => {
    const mine = [...openNodes].filter(({ options }) => options.redisUrl === s.redis?.url || options.mongoUrl === s.ferret?.url);
    for (const { node } of mine.reverse()) await node.close();
    await Promise.all([s.redis?.destroy(), s.ferret?.destroy()]);
  });
  return s;
}

/** The options of one shared production "cluster": every platform started with them shares state. */
export function clusterOptions(servers: Servers): StartOptions {
  const id = randomBytes(4).toString('hex');
  return { store: 'production', redisUrl: servers.redis.url, mongoUrl: servers.ferret.url, mongoDatabase: `e2e_${id}`, redisPrefix: `e2e${id}`, secretsKey: TEST_SECRETS_KEY };
}

/** The environment of a `node dist/platform/main.js` (main-harness) joining the cluster of `o`. */
export function mainEnv(o: StartOptions): Record<string, string> {
  return { FP_STORE: 'production', FP_REDIS_URL: o.redisUrl!, FP_MONGO_URL: o.mongoUrl!, FP_MONGO_DB: o.mongoDatabase!, FP_REDIS_PREFIX: o.redisPrefix!, FP_SECRETS_KEY: TEST_SECRETS_KEY };
}

export interface Node {
  platform: StartedPlatform;
  url: string;
  /** An API client; the admin token is the cluster's first node's. */
  api: Api;
  logs: string[];
  close(): Promise<void>;
}

/** Starts one platform process of a cluster (its own state directory for code, port 0). */
export async function startNode(options: StartOptions, adminToken: string | null = null): Promise<Node> {
  const stateDir = mkdtempSync(join(tmpdir(), 'fp-prod-'));
  const logs: string[] = [];
  const platform = await startPlatform({ stateDir, port: 0, poolSize: 1, shutdownGraceMs: 2000, log: (line) => logs.push(line), ...options });
  const entry = { node: {} as Node, options };
  entry.node = {
    platform,
    url: platform.url,
    api: new Api(platform.url, platform.takeAdminToken() ?? adminToken),
    logs,
    async close() {
      openNodes.delete(entry);
      await platform.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  openNodes.add(entry);
  return entry.node;
}

/** Two platform processes of one new cluster, started before the group's tests and closed after (the second first). */
export function usePair(servers: Servers): { a: Node; b: Node } {
  const pair = {} as { a: Node; b: Node };
  before(async () => {
    const options = clusterOptions(servers);
    pair.a = await startNode(options);
    pair.b = await startNode(options, pair.a.api.token);
  });
  after(async () => {
    await pair.b?.close();
    await pair.a?.close();
  });
  return pair;
}
