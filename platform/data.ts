/**
 * The database server behind the data bindings (docs/data-binding.md, ADR 0021): FP_DATA_MONGO_URL
 * when set; otherwise, embedded, a FerretDB (SQLite backend) the platform starts itself when one
 * is installed (FP_FERRETDB, PATH, then ~/go/bin: where scripts/services.sh puts it), listening
 * only on a Unix socket in a directory of the platform's user (0700): FerretDB's SQLite backend
 * has no users, so nothing but the platform (and so the proxy) may reach it. None found: null,
 * and a version declaring a binding is refused with DATA_BACKEND_NOT_CONFIGURED.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { homedir, totalmem } from 'node:os';
import { delimiter, join } from 'node:path';
import { DataBindings, DEFAULT_FERRETDB_MAX_FIELDS, type BackendAddress, type BoundFunction } from '../controlplane/index.js';
import { serviceCgroup } from '../poolmgr/index.js';
import { formatMemoryBytes, spawnedWithoutFds, workspaceOfKey } from '../protocol/index.js';
import type { PlatformConfig } from './config.js';
import { FERRETDB_WAL_LIMIT_BYTES, ferretdbSqliteUrl } from './ferretdb-sqlite.js';
import { PRODUCTION_NEEDS_DATA_URL } from './store-description.js';

/** util-linux's setpriv (Debian: always there), for FerretDB's parent-death signal; null: not found. */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;

export interface DataSetup {
  bindings: DataBindings;
  /** Where the sockets live (the pool's data root). */
  socketRoot: string;
  /** What serves the data: 'external' (FP_DATA_MONGO_URL) or 'ferretdb' (started here). */
  backend: 'external' | 'ferretdb';
  close(): Promise<void>;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The FerretDB binary to start, or null. */
export function findFerretdb(config: Pick<PlatformConfig, 'ferretdbPath'>, pathEnv: string | undefined): string | null {
  if (config.ferretdbPath !== undefined) return executable(config.ferretdbPath) ? config.ferretdbPath : null;
  for (const dir of [...(pathEnv ?? '').split(delimiter).filter(Boolean), join(homedir(), 'go', 'bin')]) {
    if (executable(join(dir, 'ferretdb'))) return join(dir, 'ferretdb');
  }
  return null;
}

/** The address in FP_DATA_MONGO_URL (a host:port, or a %2F-encoded socket path). */
export function parseDataUrl(url: string): BackendAddress {
  const rest = url.slice('mongodb://'.length).replace(/\/$/, '');
  if (rest.startsWith('%2F')) return { path: decodeURIComponent(rest) };
  const colon = rest.lastIndexOf(':');
  return { host: rest.slice(0, colon), port: Number(rest.slice(colon + 1)) };
}

function waitForSocket(path: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`ferretdb exited during start-up (code ${child.exitCode})`));
      const socket = createConnection(path);
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`ferretdb not ready after ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * Why a platform has no database server for bindings, in DATA_BACKEND_NOT_CONFIGURED's words (new-user
 * round 6: under FP_DATA=off, `dev`'s own included, it said to install FerretDB, which was installed).
 */
export function dataOffReason(config: Pick<PlatformConfig, 'data' | 'store' | 'dataMongoUrl'>, pods: boolean): string {
  if (config.data === 'off') return 'FP_DATA=off turned them off at its start: start it again without FP_DATA=off (the default, auto, uses FP_DATA_MONGO_URL or the FerretDB it finds)';
  if (pods) return 'on Kubernetes, functions have no socket of the platform\'s to reach one through: bindings are not served there yet (docs/data-binding.md)';
  if (config.store === 'production' && config.dataMongoUrl === undefined) return `${PRODUCTION_NEEDS_DATA_URL}, and start it again`;
  return 'no FerretDB was found at its start and FP_DATA_MONGO_URL is not set: its operator installs FerretDB (bash scripts/services.sh) and starts the platform again, which finds it, or sets FP_DATA_MONGO_URL';
}

/** Starts what the config asks for; null when bindings are off or no server can be had. */
export async function startData(config: PlatformConfig, stateDir: string, sandboxed: boolean, pathEnv: string | undefined, log: (line: string) => void): Promise<DataSetup | null> {
  if (config.data === 'off') return null;
  if (config.store === 'production' && config.dataMongoUrl === undefined) {
    // A FerretDB of each process's own would give every platform process its own copy of each
    // bound database: a write served by one process unseen through the others (ADR 0109).
    log(`platform: data bindings off: ${PRODUCTION_NEEDS_DATA_URL}`);
    return null;
  }
  const socketRoot = join(stateDir, 'data', 'sock');
  mkdirSync(socketRoot, { recursive: true, mode: 0o755 });
  if (config.dataMongoUrl !== undefined) {
    // The bindings' server may be the store's own: its database is nobody's to bind, list or drop.
    const reserved = config.store === 'production' ? [config.mongoDatabase] : [];
    const bindings = new DataBindings({ backend: parseDataUrl(config.dataMongoUrl), socketRoot, sandboxed, workspaceOf: workspaceOfKey, reserved, backendTimeoutMs: config.dataBackendTimeoutMs, maxDatabaseBytes: config.dataMaxDatabaseBytes, log });
    return { bindings, socketRoot, backend: 'external', close: () => bindings.close() };
  }
  const binary = findFerretdb(config, pathEnv);
  if (binary === null) {
    log('platform: data bindings off: no FerretDB found (run scripts/services.sh, or set FP_DATA_MONGO_URL)');
    return null;
  }
  const home = join(stateDir, 'data', 'ferretdb');
  mkdirSync(join(home, 'sqlite'), { recursive: true, mode: 0o700 });
  const socket = join(home, 'ferretdb.sock');
  const logFile = createWriteStream(join(home, 'ferretdb.log'), { flags: 'a' });
  // Shared by every tenant's bindings: held to a memory limit of its own, so a function's heavy
  // queries make the kernel kill FerretDB (started again below), never the host's other processes.
  const memoryBytes = config.dataMemoryBytes ?? Math.min(2 * 1024 ** 3, Math.floor(totalmem() / 4));
  const cgroup = serviceCgroup(memoryBytes);
  if ('reason' in cgroup) log(`platform: ferretdb runs without a memory limit of its own: ${cgroup.reason}`);
  const launch = (): ChildProcess => {
    rmSync(socket, { force: true });
    const args = [
      '--handler=sqlite', `--sqlite-url=${ferretdbSqliteUrl(join(home, 'sqlite'))}`, '--listen-addr=', `--listen-unix=${socket}`,
      `--state-dir=${home}`, '--debug-addr=-', '--telemetry=disable', '--log-level=warn',
    ];
    // It dies with the platform (PR_SET_PDEATHSIG, set by util-linux's setpriv, which then exec's it
    // in place: the same pid): a platform killed outright (SIGKILL, the OOM killer) leaves no
    // FerretDB behind on the state directory's files. Without setpriv: as before.
    const started = spawn(SETPRIV ?? binary, SETPRIV !== null ? ['--pdeathsig', 'KILL', '--', binary, ...args] : args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C in the terminal (SIGINT to the whole foreground group) must
      // reach the platform only, which lets calls in flight finish, with their database, and then
      // stops it (`stop` below). Before, FerretDB died with the keypress and the platform logged that
      // it would start it again.
      detached: true,
    });
    spawnedWithoutFds(started); // a failed spawn's kill() (stop) would signal the platform's own process group
    if (!('reason' in cgroup) && started.pid !== undefined) {
      try {
        cgroup.join(started.pid);
      } catch (err) {
        log(`platform: ferretdb could not be put under its memory limit (${formatMemoryBytes(memoryBytes)}): ${(err as Error).message}`);
      }
    }
    started.stdout?.pipe(logFile, { end: false });
    started.stderr?.pipe(logFile, { end: false });
    const at = Date.now();
    const gone = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (stopping) return;
      // The platform's own server: started again (after a pause that doubles while it keeps dying
      // soon after each start, up to 30 s); meanwhile commands answer DATA_BACKEND_UNAVAILABLE and
      // the proxy reconnects at the next one once it is back.
      restartDelay = Date.now() - at > 60_000 ? 500 : Math.min(restartDelay * 2, 30_000);
      log(`platform: ferretdb exited (code ${code}, signal ${signal}); data bindings answer DATA_BACKEND_UNAVAILABLE until it is started again in ${restartDelay} ms (log: ${join(home, 'ferretdb.log')})`);
      restart = setTimeout(() => {
        restart = null;
        if (!stopping) child = launch();
      }, restartDelay);
      restart.unref();
    };
    started.on('exit', gone);
    // Not spawned (no file descriptor left, EMFILE: no 'exit' follows; an unheard 'error' ended the platform): started again the same way.
    started.on('error', () => {
      if (started.pid === undefined) gone(null, null);
    });
    return started;
  };
  let stopping = false;
  let restartDelay = 250;
  let restart: NodeJS.Timeout | null = null;
  await endOrphans(home, log);
  let child = launch();
  const stop = async (): Promise<void> => {
    stopping = true;
    if (restart !== null) clearTimeout(restart);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(kill);
    }
    if (!('reason' in cgroup)) cgroup.close();
    logFile.end();
  };
  try {
    await waitForSocket(socket, child, 20_000);
  } catch (err) {
    await stop();
    log(`platform: data bindings off: ${(err as Error).message} (see ${join(home, 'ferretdb.log')})`);
    return null;
  }
  // A database's WAL past its usual bound counts against its cap: a function holding a cursor open
  // keeps SQLite from starting the WAL over, and its writes then grow it whatever dbStats says
  // (docs/data-binding.md). Up to the bound it is the server's own (cut back to it at each start-over).
  const walBytes = (physical: string): number => {
    try {
      return Math.max(0, statSync(join(home, 'sqlite', `${physical}.sqlite-wal`)).size - FERRETDB_WAL_LIMIT_BYTES);
    } catch {
      return 0;
    }
  };
  const bindings = new DataBindings({ backend: { path: socket }, socketRoot, sandboxed, workspaceOf: workspaceOfKey, backendTimeoutMs: config.dataBackendTimeoutMs, maxDatabaseBytes: config.dataMaxDatabaseBytes, walBytes, serializeWrites: true, oneAccumulatorPerGroup: true, maxFieldsPerDocument: DEFAULT_FERRETDB_MAX_FIELDS, log });
  return {
    bindings, socketRoot, backend: 'ferretdb',
    async close() {
      // Closing the proxy's connections may be what lets a FerretDB that was asked to stop finally
      // exit: that is not a crash to report and restart.
      stopping = true;
      await bindings.close();
      await stop();
    },
  };
}

/**
 * A FerretDB still serving this state's data folder, left by a platform that is gone: a build from
 * before FerretDB got its parent-death signal, killed -9 (reliability round 8). The start took the
 * state lock, so no live platform serves this folder: it is an orphan. It was left running beside
 * the new FerretDB on the same SQLite files (its socket unlinked, so unreached), outlived every
 * later stop, and held its memory and the files. It is ended here (SIGKILL: it serves nobody) and
 * the log says so. Only a process of the platform's own user whose arguments name this folder's
 * `--state-dir` is ended.
 */
async function endOrphans(home: string, log: (line: string) => void): Promise<void> {
  const mark = `--state-dir=${home}`;
  const uid = process.getuid?.() ?? -1;
  const ended: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (statSync(`/proc/${entry}`).uid !== uid || !readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(mark)) continue;
      process.kill(Number(entry), 'SIGKILL');
      ended.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  if (ended.length === 0) return;
  log(`platform: warning: ended an orphaned FerretDB (pid ${ended.join(', ')}) still serving ${home}, left by a platform that was killed (an older build's FerretDB outlived it); the data bindings' server is started anew`);
  // Its SQLite files are released when it is gone (a zombie holds none).
  const deadline = Date.now() + 5_000;
  while (ended.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** Whether `pid` is a process that has not ended (a zombie has). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The embedded FerretDB's database files (`<physical>.sqlite`) in `stateDir`, as they are now: read before it starts. */
export function embeddedDataFiles(stateDir: string): Set<string> {
  const dir = join(stateDir, 'data', 'ferretdb', 'sqlite');
  return new Set(existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.sqlite')) : []);
}

/**
 * Bound functions whose database file was not in the state directory when this start found it
 * (`before`, from embeddedDataFiles), said once as a WARNING; null when none. A state directory
 * restored from a backup that left `data/ferretdb/` out (docs/stores.md named only the SQLite files
 * of the platform and blobs/; ops round 2) served every bound function with an empty database
 * without a word. A function that never wrote has no file either: the line says so.
 */
export function missingDataWarning(stateDir: string, before: Set<string>, bound: readonly BoundFunction[]): string | null {
  const missing = bound.filter((b) => !before.has(`${b.physical}.sqlite`));
  if (missing.length === 0) return null;
  const shown = missing.slice(0, 5).map((b) => `${b.function} → ${b.database}`).join(', ');
  const more = missing.length > 5 ? ` and ${missing.length - 5} more` : '';
  return `platform: WARNING: ${join(stateDir, 'data', 'ferretdb', 'sqlite')} has no database file of ${missing.length} bound function${missing.length === 1 ? '' : 's'} (${shown}${more}): ` +
    'they start with an empty database. Unless they never wrote to it, this state directory was restored without its data: a backup needs ' +
    'data/ferretdb/sqlite/*.sqlite too (docs/stores.md, "Backup and restore"); stop, put them back, start again';
}
