/**
 * The production stores on "another host" (section 4): a network namespace of their own, joined to
 * this one by a veth pair on a private /30 (10.213.x.y, never 127.x), with a redis-server and a
 * FerretDB started inside it and listening on its address only; the platform reaches them over the
 * veth, through both network stacks, as it would another machine. They still share this machine's
 * CPUs (the figure says so): the namespace takes the loopback shortcut away, not the contention.
 *
 *   const host = await storesInNamespace();   // throws, with the reason, where namespaces are not allowed
 *   host.redisUrl; host.mongoUrl;
 *   await host.close();                        // also on exit and Ctrl-C: servers killed, namespace deleted
 *
 * Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and `ip` (iproute2). Binaries as the tests find them
 * (test/helpers/servers.ts: `scripts/services.sh` installs both).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ferretdbSqliteUrl } from '../platform/ferretdb-sqlite.js';
import { sleep } from './servers.js';

export interface StoresHost {
  /** The namespace's name (`ip netns list`). */
  readonly namespace: string;
  /** The stores' address inside the namespace. */
  readonly address: string;
  readonly redisUrl: string;
  readonly mongoUrl: string;
  /** The servers' pids (for their CPU time, bench/proc-cpu.ts). */
  readonly pids: { redis: number; ferret: number };
  close(): Promise<void>;
}

const REDIS_PORT = 6379;
const MONGO_PORT = 27017;
const READY_TIMEOUT_MS = 15_000;

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A /30 in 10.213.0.0/16 that no route or address of this host uses yet. */
function freeSubnet(): { host: string; peer: string } {
  const used = ip('-4', 'route', 'show', 'table', 'all') + ip('-4', '-o', 'addr', 'show');
  for (let attempt = 0; attempt < 50; attempt++) {
    const third = randomBytes(1)[0]!;
    const base = (randomBytes(1)[0]! & 0x3f) * 4;
    const prefix = `10.213.${third}.`;
    if (used.includes(`10.213.0.0/16`) || [0, 1, 2, 3].some((i) => used.includes(`${prefix}${base + i}`))) continue;
    return { host: `${prefix}${base + 1}`, peer: `${prefix}${base + 2}` };
  }
  throw new Error('no free /30 in 10.213.0.0/16');
}

/** Everything set up so far, undone in reverse by `teardown` (also from the exit hook: synchronous). */
class Setup {
  private readonly steps: (() => void)[] = [];
  private readonly onExit = (): void => this.teardown();
  private readonly onSignal = (): void => {
    this.teardown();
    process.exit(130);
  };

  constructor() {
    process.once('exit', this.onExit);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  add(step: () => void): void {
    this.steps.push(step);
  }

  teardown(): void {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        step();
      } catch {
        // best effort: the next steps (the namespace's deletion) still run
      }
    }
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}

export async function storesInNamespace(): Promise<StoresHost> {
  const { findBinary, tcpProbe } = await import('../test/helpers/servers.js');
  const redisBin = findBinary('redis-server');
  const ferretBin = findBinary('ferretdb');
  if (redisBin === null || ferretBin === null) throw new Error('redis-server or FerretDB is not installed (bash scripts/services.sh)');
  const tag = randomBytes(3).toString('hex');
  const namespace = `fpbench-${tag}`;
  const [hostIf, peerIf] = [`fpb${tag}h`, `fpb${tag}n`]; // ≤ 15 characters
  const setup = new Setup();
  const children: ChildProcess[] = [];
  try {
    const { host, peer } = freeSubnet();
    ip('netns', 'add', namespace);
    setup.add(() => ip('netns', 'delete', namespace));
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', peerIf);
    // Deleting the namespace deletes its end, and with it the pair; this covers a failure before the move.
    setup.add(() => {
      if (ip('-o', 'link', 'show').includes(`${hostIf}@`)) ip('link', 'delete', hostIf);
    });
    ip('link', 'set', peerIf, 'netns', namespace);
    ip('addr', 'add', `${host}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('netns', 'exec', namespace, 'ip', 'addr', 'add', `${peer}/30`, 'dev', peerIf);
    ip('netns', 'exec', namespace, 'ip', 'link', 'set', peerIf, 'up');
    ip('netns', 'exec', namespace, 'ip', 'link', 'set', 'lo', 'up');

    const dir = mkdtempSync(join(tmpdir(), 'fp-netns-stores-'));
    setup.add(() => rmSync(dir, { recursive: true, force: true }));
    const start = (binary: string, args: string[]): ChildProcess => {
      // `ip netns exec` enters the namespace and execs the server: the pid is the server's.
      const child = spawn('ip', ['netns', 'exec', namespace, binary, ...args], { cwd: dir, stdio: 'ignore' });
      children.push(child);
      setup.add(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      return child;
    };
    const redis = start(redisBin, ['--port', String(REDIS_PORT), '--bind', peer, '--protected-mode', 'no', '--dir', dir, '--save', '', '--appendonly', 'no']);
    const ferret = start(ferretBin, [
      '--handler=sqlite', `--sqlite-url=${ferretdbSqliteUrl(dir)}`, `--listen-addr=${peer}:${MONGO_PORT}`, `--state-dir=${dir}`,
      '--debug-addr=-', '--telemetry=disable', '--log-level=warn',
    ]);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (const [what, child, port] of [['redis-server', redis, REDIS_PORT], ['FerretDB', ferret, MONGO_PORT]] as const) {
      while (!(await tcpProbe(port, undefined, undefined, peer))) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} in namespace ${namespace} exited during start-up (code ${child.exitCode})`);
        if (Date.now() > deadline) throw new Error(`${what} in namespace ${namespace} not reachable at ${peer}:${port} after ${READY_TIMEOUT_MS} ms`);
        await sleep(50);
      }
    }
    let closed = false;
    return {
      namespace,
      address: peer,
      redisUrl: `redis://${peer}:${REDIS_PORT}`,
      mongoUrl: `mongodb://${peer}:${MONGO_PORT}/`,
      pids: { redis: redis.pid ?? -1, ferret: ferret.pid ?? -1 },
      async close() {
        if (closed) return;
        closed = true;
        const exited = children.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()))));
        for (const c of children) c.kill('SIGKILL');
        await Promise.race([Promise.all(exited), sleep(5000)]);
        setup.teardown();
      },
    };
  } catch (err) {
    setup.teardown();
    throw err;
  }
}
