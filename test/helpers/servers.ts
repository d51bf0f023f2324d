/**
 * Test helper: real `redis-server` and real FerretDB (MongoDB wire, SQLite backend) processes on
 * free ports, each in its own temp directory, for any test that needs them.
 *
 *   const redis = await startRedis();
 *   after(() => redis.destroy());
 *   // redis.url, redis.stop(), redis.start() (same port, same directory: a restart)
 *
 * Binaries: `redis-server` from PATH; `ferretdb` from PATH, then `$(go env GOPATH)/bin`.
 * `scripts/services.sh` installs both. When one is missing, `serverSkip()` returns a reason to skip
 * with, unless `CI` is set: in CI a missing server is a failure, never a silent skip.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chownSync, constants, createWriteStream, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ferretdbSqliteUrl } from '../../platform/ferretdb-sqlite.js';
import { descendantsOf, signalIfAlive } from './processes.js';

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && executable(join(dir, name))) return join(dir, name);
  }
  return null;
}

let goBin: string | null | undefined;
/** `$(go env GOPATH)/bin` (each GOPATH entry), asked once; null when Go is not installed. */
function goBinDirs(): string[] {
  if (goBin === undefined) {
    try {
      goBin = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      goBin = null;
    }
  }
  return goBin ? goBin.split(delimiter).map((p) => join(p, 'bin')) : [];
}

/** The absolute path of a server binary, or null when it is not installed. */
export function findBinary(name: 'redis-server' | 'ferretdb'): string | null {
  const found = onPath(name);
  if (found !== null || name !== 'ferretdb') return found;
  for (const dir of goBinDirs()) if (executable(join(dir, name))) return join(dir, name);
  return null;
}

/**
 * A reason to skip a test that needs these servers, or false to run it. Throws in CI (CI set) when
 * one is missing: there the servers are installed by scripts/services.sh and must run.
 */
export function serverSkip(...names: ('redis-server' | 'ferretdb')[]): string | false {
  const missing = names.filter((n) => findBinary(n) === null);
  if (missing.length === 0) return false;
  const why = `${missing.join(' and ')} not installed (run: bash scripts/services.sh)`;
  if (process.env.CI) throw new Error(`${why}; CI is set, so these tests must run`);
  return `skipped: ${why}`;
}

/** A port the OS says is free right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves when `probe` succeeds; rejects with the server's exit or after the timeout. */
async function waitReady(child: ChildProcess, probe: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited during start-up (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${what} not ready after ${READY_TIMEOUT_MS} ms`);
}

/** Connects to `host`, optionally sends `send`, resolves true when the reply starts with `expect` (or on connect). */
export function tcpProbe(port: number, send?: string, expect?: string, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => {
      if (send === undefined) return done(true);
      socket.write(send);
    });
    socket.on('data', (data) => done(expect === undefined || data.toString('latin1').startsWith(expect)));
  });
}

const running = new Set<ChildProcess>();
// A test process that dies without its after() hooks (a crash, a timeout's SIGTERM, Ctrl-C) must
// not leave servers behind. The signal handlers kill the servers, then die of the same signal.
const killAll = (): void => {
  for (const child of running) child.kill('SIGKILL');
};
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.kill(process.pid, signal);
  });
}

export interface ServerProcess {
  readonly port: number;
  /** The temp directory holding the server's data and its log file (`server.log`). */
  readonly dir: string;
  /** redis://127.0.0.1:PORT or mongodb://127.0.0.1:PORT/ */
  readonly url: string;
  readonly running: boolean;
  /** The server process's pid while it runs, else -1 (bench/recording.ts reads its CPU time). */
  readonly pid: number;
  /** Starts (again) on the same port with the same data directory. */
  start(): Promise<void>;
  /** SIGTERM (a clean shutdown) or SIGKILL (a crash); resolves when the process has exited. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Stops it and deletes its directory. */
  destroy(): Promise<void>;
}

interface Spec {
  binary: string;
  args(port: number, dir: string): string[];
  probe(port: number): Promise<boolean>;
  url(port: number): string;
  what: string;
}

/** Starts a server on a free port; another port is tried if the first was taken in between. */
async function startServer(spec: Spec): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    const server = await makeServer(spec, await freePort());
    try {
      await server.start();
      return server;
    } catch (err) {
      if (attempt >= 3) throw err; // the directory stays, with the server's log
      await server.destroy();
    }
  }
}

async function makeServer(spec: Spec, port: number): Promise<ServerProcess> {
  const dir = await mkdtemp(join(tmpdir(), `fp-${spec.what}-`));
  const log = createWriteStream(join(dir, 'server.log'), { flags: 'a' });
  let child: ChildProcess | null = null;

  const server: ServerProcess = {
    port,
    dir,
    url: spec.url(port),
    get running() {
      return child !== null;
    },
    get pid() {
      return child?.pid ?? -1;
    },
    async start() {
      if (child !== null) return;
      const proc = spawn(spec.binary, spec.args(port, dir), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      // Not `pipe`: a server's children keep its output open after it is killed (PostgreSQL's
      // backends write as they exit), and a write after `destroy` ended the log threw in the test.
      const toLog = (chunk: Buffer): void => {
        if (!log.writableEnded) log.write(chunk);
      };
      proc.stdout?.on('data', toLog);
      proc.stderr?.on('data', toLog);
      running.add(proc);
      proc.once('exit', () => running.delete(proc));
      child = proc;
      try {
        await waitReady(proc, () => spec.probe(port), spec.what);
      } catch (err) {
        await server.stop('SIGKILL');
        throw new Error(`${(err as Error).message}; see ${join(dir, 'server.log')}`);
      }
    },
    async stop(signal = 'SIGTERM') {
      const proc = child;
      child = null;
      if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
    async destroy() {
      // Its children too (PostgreSQL's backends outlive a killed postmaster for a moment).
      const children = child === null ? [] : descendantsOf(child.pid ?? -1);
      await server.stop('SIGKILL');
      for (const pid of children) signalIfAlive(pid, 'SIGKILL');
      log.end();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}

function mustFind(name: 'redis-server' | 'ferretdb'): string {
  const binary = findBinary(name);
  if (binary === null) throw new Error(`${name} is not installed (run: bash scripts/services.sh)`);
  return binary;
}

/**
 * A real redis-server on a free port. Without `appendOnly` nothing is persisted (a restart starts
 * empty); with it every write is fsynced to an AOF in the server's directory, so a restart (even
 * after SIGKILL) keeps the data. `args` go last (e.g. `['--save', '3600 1']`, or
 * `['--rename-command', 'CONFIG', '']` for a Redis without CONFIG, as managed ones often are).
 */
export async function startRedis(options: { appendOnly?: boolean; args?: string[] } = {}): Promise<ServerProcess> {
  const binary = mustFind('redis-server');
  return startServer({
    what: 'redis',
    binary,
    args: (port, dir) => [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      ...(options.appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
      ...(options.args ?? []),
    ],
    probe: (port) => tcpProbe(port, 'PING\r\n', '+PONG'),
    url: (port) => `redis://127.0.0.1:${port}`,
  });
}

/**
 * PostgreSQL's server binaries (`initdb`, `postgres`): on PATH, else Debian's
 * `/usr/lib/postgresql/<major>/bin`. Not installed by scripts/services.sh (apt: `postgresql`), so
 * the tests that need one skip without it, also in CI. Null when missing.
 */
export function findPostgres(): string | null {
  const onpath = onPath('initdb');
  if (onpath !== null && executable(join(onpath, '..', 'postgres'))) return join(onpath, '..');
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  for (const major of readdirSync(root).sort().reverse()) {
    const bin = join(root, major, 'bin');
    if (executable(join(bin, 'initdb')) && executable(join(bin, 'postgres'))) return bin;
  }
  return null;
}

/**
 * A real PostgreSQL on a free port, its cluster in its directory (`trust` logins, user `postgres`,
 * a database `ferretdb`), with `settings` (`max_connections=4`…). PostgreSQL refuses to run as
 * root: as root, it runs as the `postgres` user, which owns the directory.
 */
export async function startPostgres(settings: string[] = []): Promise<ServerProcess> {
  const bin = findPostgres();
  if (bin === null) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) } : null;
  const as = (cmd: string, args: string[]): [string, string[]] => (user === null ? [cmd, args] : ['setpriv', ['--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups', '--', cmd, ...args]]);
  const [binary] = as(join(bin, 'postgres'), []);
  return startServer({
    what: 'postgres',
    binary,
    args: (port, dir) => {
      const data = join(dir, 'data');
      if (!existsSync(data)) {
        if (user !== null) chownSync(dir, user.uid, user.gid);
        const [cmd, args] = as(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
        execFileSync(cmd, args, { stdio: 'ignore', cwd: dir });
        const [single, singleArgs] = as(join(bin, 'postgres'), ['--single', '-D', data, 'postgres']);
        execFileSync(single, singleArgs, { input: 'CREATE DATABASE ferretdb;\n', stdio: ['pipe', 'ignore', 'ignore'], cwd: dir });
      }
      const [, args] = as(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', ...settings.flatMap((kv) => ['-c', kv])]);
      return args;
    },
    probe: (port) => tcpProbe(port),
    url: (port) => `postgres://postgres@127.0.0.1:${port}/ferretdb`,
  });
}

/**
 * A real FerretDB 1.x with its SQLite backend on a free port; data in its directory (one
 * `<database>.sqlite` file per database, plus `state.json`), its WAL limited as the platform's own
 * (platform/ferretdb-sqlite.ts). No telemetry, and no debug listener unless `debug` (then its
 * Prometheus metrics are at `metricsUrl`: `ferretdbOpenCursors` reads them).
 * With `postgresqlUrl`, its PostgreSQL backend on that URL instead (FerretDB connects to it on the
 * first command, so it starts, and answers, with no PostgreSQL there).
 */
export async function startFerret(options: { postgresqlUrl?: string; debug?: boolean; busyTimeoutMs?: number } = {}): Promise<ServerProcess & { metricsUrl: string | null }> {
  const binary = mustFind('ferretdb');
  const debugPort = options.debug === true ? await freePort() : null;
  // `busyTimeoutMs`: SQLite's wait for a database's write lock (FerretDB's default 10 s).
  const busy = options.busyTimeoutMs === undefined ? '' : `&_pragma=busy_timeout(${options.busyTimeoutMs})`;
  const backend = (dir: string): string[] =>
    options.postgresqlUrl === undefined ? ['--handler=sqlite', `--sqlite-url=${ferretdbSqliteUrl(dir)}${busy}`] : ['--handler=postgresql', `--postgresql-url=${options.postgresqlUrl}`];
  const server = await startServer({
    what: 'ferretdb',
    binary,
    args: (port, dir) => [
      ...backend(dir), `--listen-addr=127.0.0.1:${port}`,
      `--state-dir=${dir}`, `--debug-addr=${debugPort === null ? '-' : `127.0.0.1:${debugPort}`}`, '--telemetry=disable', '--log-level=warn',
    ],
    probe: (port) => tcpProbe(port),
    url: (port) => `mongodb://127.0.0.1:${port}/`,
  });
  return Object.assign(server, { metricsUrl: debugPort === null ? null : `http://127.0.0.1:${debugPort}/debug/metrics` });
}

/**
 * Cursors a FerretDB started with `debug` holds open now: those it created less those it removed
 * (closed, exhausted, killed, or gone with their connection), from its Prometheus counters.
 */
export async function ferretdbOpenCursors(ferret: { metricsUrl: string | null }): Promise<number> {
  if (ferret.metricsUrl === null) throw new Error('FerretDB was started without debug: no metrics');
  const text = await (await fetch(ferret.metricsUrl)).text();
  const sum = (name: string): number =>
    text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return sum('ferretdb_cursors_created_total') - sum('ferretdb_cursors_duration_seconds_count');
}
