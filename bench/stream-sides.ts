/**
 * The two servers of the streamed-response benchmarks (bench/stream.ts, bench/stream-pieces.ts):
 * the same FastAPI app (bench/fixtures/bigbody/app.py) served by a checkout's gateway as a function
 * (mounted at /fn/bigbody) and by uvicorn (uvloop, httptools, 1 worker, at /).
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { tempDir } from './functions.js';
import type { startGateway } from './gateway.js';
import { BENCH_SRC, PYTHON } from './paths.js';
import { childEnv, freePort, startServer, type RunningServer } from './servers.js';

const APP_DIR = join(BENCH_SRC, 'fixtures', 'bigbody');

export interface Side {
  name: string;
  server: RunningServer;
  prefix: string;
}

/** `root`'s gateway with the app as function `bigbody` (one instance); `nodeArgs` for node itself (`--cpu-prof`). */
export async function startPlatform(name: string, root: string, nodeArgs: string[] = []): Promise<Side> {
  const gateway = (await import(join(root, 'dist', 'bench', 'gateway.js'))) as { startGateway: typeof startGateway };
  const dir = await tempDir('bigbody');
  const fn = join(dir.path, 'bigbody');
  await mkdir(fn, { recursive: true });
  await copyFile(join(APP_DIR, 'app.py'), join(fn, 'app.py'));
  await writeFile(join(fn, 'platform.yaml'), stringify({ kind: 'function', name: 'bigbody', entrypoint: 'app:app', limits: { maxInstances: 1, memory: '512Mi', timeout: '60s' } }));
  const server = await gateway.startGateway({ functionsDir: dir.path, poolSize: 2, verbose: false, nodeArgs });
  const stop = server.stop;
  server.stop = async () => {
    await stop();
    await dir.remove();
  };
  return { name, server, prefix: '/fn/bigbody' };
}

export async function startUvicorn(): Promise<Side> {
  const port = await freePort();
  const server = await startServer({
    name: 'uvicorn',
    command: PYTHON,
    args: ['-m', 'uvicorn', 'app:app', '--app-dir', APP_DIR, '--host', '127.0.0.1', '--port', String(port),
      '--loop', 'uvloop', '--http', 'httptools', '--no-access-log', '--log-level', 'warning', '--workers', '1'],
    env: childEnv(),
    port,
    readyPath: '/health',
  });
  return { name: 'uvicorn', server, prefix: '' };
}
