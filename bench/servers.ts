/**
 * Child servers for the benchmark: start one, wait until it answers HTTP, stop it (its whole
 * process group: uvicorn --workers N forks). Every server started is stopped on exit, even on
 * Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { request } from 'node:http';

export interface ServerSpec {
  /** Name in messages. */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  port: number;
  /** Path polled until it answers with any HTTP status (default `/`). */
  readyPath?: string;
  readyTimeoutMs?: number;
}

export interface RunningServer {
  name: string;
  port: number;
  pid: number;
  /** The last lines the server printed (stdout and stderr), for error messages. */
  output(): string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the group: the server and any workers it forked
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const child of live) killGroup(child, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      for (const child of live) killGroup(child, 'SIGKILL');
      process.exit(130);
    });
  }
}

/** The environment for timed child processes: NODE_EXTRA_CA_CERTS costs ~100 ms per Node start. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env['NODE_EXTRA_CA_CERTS'];
  return env;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
/**
 * A free port on 127.0.0.1: any (port 0), or with `FP_BENCH_PORTS=<from>-<to>` one of that range
 * (for a machine shared by several people who were each given a range), tried in random order.
 */
export async function freePort(): Promise<number> {
  const range = /^(\d+)-(\d+)$/.exec(process.env['FP_BENCH_PORTS'] ?? '');
  if (range === null) return listenOn(0);
  const from = Number(range[1]);
  const to = Number(range[2]);
  for (let tries = 0; tries < 200; tries++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    try {
      return await listenOn(port);
    } catch {
      // taken: another one
    }
  }
  throw new Error(`no free port in FP_BENCH_PORTS=${from}-${to}`);
}

function listenOn(wanted: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(wanted, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One GET to 127.0.0.1 without keep-alive surprises; rejects on connection errors or timeout. */
export function httpGet(port: number, path: string, timeoutMs = 10_000): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the server and resolves once it answers HTTP on its port. */
export async function startServer(spec: ServerSpec): Promise<RunningServer> {
  hookExit();
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so stop() reaches forked workers too
  });
  live.add(child);
  const lines: string[] = [];
  const keep = (chunk: string): void => {
    lines.push(...chunk.split('\n').filter((l) => l.length > 0));
    if (lines.length > 60) lines.splice(0, lines.length - 60);
  };
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  let exited: string | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = `exited with ${signal ?? code}`;
      live.delete(child);
      resolve();
    });
  });
  child.on('error', (err) => {
    exited = `failed to start: ${err.message}`;
  });

  const server: RunningServer = {
    name: spec.name,
    port: spec.port,
    pid: child.pid ?? -1,
    output: () => lines.join('\n'),
    stop: async () => {
      if (exited !== null) return;
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3_000);
      await exitPromise;
      clearTimeout(timer);
      // Workers forked by the server may outlive the leader for a moment.
      killGroup(child, 'SIGKILL');
    },
  };

  const deadline = Date.now() + (spec.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (exited !== null) {
      throw new Error(`${spec.name} ${exited} before it was ready. Output:\n${server.output()}`);
    }
    try {
      await httpGet(spec.port, spec.readyPath ?? '/', 2_000);
      return server;
    } catch {
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`${spec.name} did not answer on port ${spec.port} in time. Output:\n${server.output()}`);
      }
      await sleep(50);
    }
  }
}
