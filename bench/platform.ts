/**
 * The platform as a user runs it (dist/platform/main.js with a state directory, not directory
 * mode), with `hello` created and deployed through the API: run recording on, in the embedded
 * default (SQLite in the state directory) or in production mode (Redis + a MongoDB-wire server).
 * Sections 1 (the platform column), 4 (recording) and 4b (storage per run) use it.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { GatewaySetting } from './args.js';
import { tempDir } from './functions.js';
import { HELLO_FIXTURE, PLATFORM_MAIN, PYTHON } from './paths.js';
import { childEnv, freePort, startServer, type RunningServer } from './servers.js';

export type StoreMode = { store: 'embedded' } | { store: 'production'; redisUrl: string; mongoUrl: string };

export interface PlatformServer extends RunningServer {
  token: string;
  stateDir: string;
}

export async function api(server: RunningServer, token: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const answer = (await res.json()) as unknown;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** The platform with `hello` deployed at the given limits. */
export interface PlatformRun {
  /** FP_* settings added to the bench's own (e.g. sampling). */
  env?: Record<string, string>;
  /** Node flags before the entry point (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Another build's dist/platform/main.js (bench/ab.ts: before and after, side by side). */
  main?: string;
}

export async function platformWithHello(mode: StoreMode, setting: GatewaySetting, run: PlatformRun = {}): Promise<PlatformServer> {
  const extraEnv = run.env ?? {};
  const state = await tempDir('platform');
  const port = await freePort();
  const own: Record<string, string> = {
    FP_STORE: mode.store, FP_PORT: String(port), FP_STATE_DIR: state.path, FP_POOL_SIZE: String(Math.max(3, setting.maxInstances)),
    FP_PYTHON: PYTHON, FP_SECRETS_KEY: randomBytes(32).toString('base64'), ...extraEnv,
  };
  // Its own database and Redis prefix: platforms of one section share the servers, not their counts.
  if (mode.store === 'production') Object.assign(own, { FP_REDIS_URL: mode.redisUrl, FP_MONGO_URL: mode.mongoUrl, FP_MONGO_DB: `bench${randomBytes(4).toString('hex')}`, FP_REDIS_PREFIX: `bench${randomBytes(4).toString('hex')}` });
  const env = childEnv(own);
  // The bench's environment may carry FP_* settings of its own; only ours count.
  for (const key of Object.keys(env)) if (key.startsWith('FP_') && !(key in own)) delete env[key];
  const label = mode.store === 'embedded' ? 'platform (embedded)' : 'platform (production)';
  const server = await startServer({ name: label, command: process.execPath, args: [...(run.nodeArgs ?? []), run.main ?? PLATFORM_MAIN], env, port, readyPath: '/api/v1/functions' });
  const stop = server.stop;
  server.stop = async () => {
    await stop();
    await state.remove();
  };
  try {
    const token = /admin token: (\S+)/.exec(server.output())?.[1];
    if (token === undefined) throw new Error(`the platform printed no admin token:\n${server.output()}`);
    await api(server, token, 'POST', '/functions', { name: 'hello', limits: { maxInstances: setting.maxInstances, concurrency: setting.concurrency, maxQueue: 10_000 } });
    const main = await readFile(HELLO_FIXTURE);
    await api(server, token, 'POST', '/functions/hello/versions', { files: [{ path: 'main.py', contentBase64: main.toString('base64') }] });
    await api(server, token, 'POST', '/functions/hello/deploy', {});
    return Object.assign(server, { token, stateDir: state.path });
  } catch (err) {
    await server.stop();
    throw err;
  }
}
