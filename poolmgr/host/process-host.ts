/**
 * The local process host: each runtime is a Python process tree on this machine, in its own box
 * (runtime/fp_sandbox: namespaces, a private filesystem view, seccomp; at specialize its own uid,
 * limits and cgroups), or a bare process when the sandbox is off. The frame channel is the
 * process's fd 3, a Unix socketpair made by libuv, so no other process can connect to it.
 * The watched process is the box's keeper: it exits only once everything in the box is gone,
 * and killing it takes the whole box down (runtime/fp_sandbox/keeper.py).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, realpathSync } from 'node:fs';
import type { Socket } from 'node:net';
import { isAbsolute, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { PlatformError, type BoxSpec } from '../../protocol/index.js';
import { Cgroups } from './cgroups.js';
import type { HostedRuntime, Isolation, Placement, RuntimeEvents, RuntimeHost, RuntimeStats, SandboxMode } from './types.js';
import { UidAllocator } from './uids.js';

export interface ProcessHostOptions {
  pythonPath: string;
  runtimeEntry: string;
  /** The whole environment of a runtime process. */
  childEnv: Record<string, string>;
  /** Forward runtime stdout/stderr to ours. */
  debug: boolean;
  sandbox: SandboxMode;
  /** Directories holding function versions; a version outside them cannot be placed. */
  codeRoots: readonly string[];
  /** The directory holding dependency sites, bound hidden into every box like the code roots; null: none. */
  depsRoot?: string | null;
  dataRoot?: string | null;
  uidRange: readonly [number, number];
  /** Size of each box's /tmp and /dev/shm (and the largest file a function may write). */
  tmpBytes: number;
  /** Processes and threads per instance. */
  tasksMax: number;
  /** Open files per process of a function. */
  openFiles: number;
  /** CPU weight of every function (v1 shares: 1024 = one fair share). */
  cpuShares: number;
  /** Receives what runtimes write to stdout/stderr outside calls (debug forwarding, tests). */
  onOutput?: (rt: HostedRuntime, stream: 'stdout' | 'stderr', text: string) => void;
}

const STDERR_TAIL_BYTES = 4096;
const NO_STATS: RuntimeStats = {
  memoryBytes: null, memoryLimitBytes: null, tasks: null, tasksLimit: null, tasksLimitHits: 0, oomKills: 0, cpuNs: null,
};

interface Runtime extends HostedRuntime {
  child: ChildProcess;
  socket: Socket;
  stderrTail: string;
  /** The function it was placed for (its uid is held while it lives). */
  placedFn: string | null;
  alive: boolean;
  gone: Promise<void>;
}

export class ProcessHost implements RuntimeHost {
  readonly isolation: Isolation;
  private readonly runtimes = new Map<string, Runtime>();
  private readonly cgroups: Cgroups | null;
  private readonly uids: UidAllocator | null;
  private readonly codeRoots: string[];
  private readonly depsRoot: string | null;
  private readonly dataRoot: string | null;
  private seq = 0;

  constructor(private readonly options: ProcessHostOptions) {
    const warnings: string[] = [];
    // Each root is bound into every box at spawn, so it must exist before functions are deployed.
    for (const root of options.codeRoots) mkdirSync(root, { recursive: true });
    this.codeRoots = options.codeRoots.map((root) => realpathOr(root));
    if (options.depsRoot) mkdirSync(options.depsRoot, { recursive: true });
    this.depsRoot = options.depsRoot ? realpathOr(options.depsRoot) : null;
    if (options.dataRoot) mkdirSync(options.dataRoot, { recursive: true, mode: 0o755 });
    this.dataRoot = options.dataRoot ? realpathOr(options.dataRoot) : null;
    let cgroups: Cgroups | null = null;
    if (options.sandbox === 'root') {
      const opened = Cgroups.open({ tasksMax: options.tasksMax, cpuShares: options.cpuShares });
      cgroups = opened.cgroups;
      if (cgroups === null) warnings.push(`no per-instance cgroups (${opened.reason}): memory and process limits use rlimits only, and functions share the CPU without weights`);
    } else if (options.sandbox === 'userns') {
      warnings.push('not running as root: functions are boxed in user namespaces but share the platform\'s uid, and limits use rlimits only (no cgroups)');
    } else {
      warnings.push('the sandbox is OFF (--unsafe-no-sandbox): every function can read and change the platform, its secrets and every other function');
    }
    this.cgroups = cgroups;
    this.uids = options.sandbox === 'root' ? new UidAllocator(options.uidRange[0], options.uidRange[1]) : null;
    this.isolation = Object.freeze({
      mode: options.sandbox,
      cgroups: cgroups?.version ?? null,
      seccomp: options.sandbox !== 'off' && process.arch === 'x64',
      uidRange: options.sandbox === 'root' ? [options.uidRange[0], options.uidRange[1]] as [number, number] : null,
      warnings,
    });
  }

  spawn(events: RuntimeEvents): HostedRuntime {
    const id = `r${++this.seq}`;
    const args = ['-I', this.options.runtimeEntry, '--fd', '3'];
    let setupError: Error | null = null;
    if (this.options.sandbox !== 'off') {
      let cg = null;
      try {
        cg = this.cgroups?.forRuntime(id) ?? null;
      } catch (err) {
        setupError = err as Error;
      }
      args.push('--box', JSON.stringify({
        mode: this.options.sandbox, codeRoots: this.codeRoots, tmpBytes: this.options.tmpBytes,
        ...(this.depsRoot !== null ? { depsRoot: this.depsRoot } : {}),
        ...(this.dataRoot !== null ? { dataRoot: this.dataRoot } : {}),
        cgroupJoin: cg?.join ?? [], cgroupBinds: cg?.binds ?? {},
      }));
    }
    const child = spawn(this.options.pythonPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: this.options.childEnv });
    let settleGone!: () => void;
    const rt: Runtime = {
      id, pid: child.pid ?? 0, child,
      // libuv creates extra stdio pipes as socketpairs, so fd 3 is a net.Socket at run time.
      socket: child.stdio[3] as unknown as Socket,
      stderrTail: '', placedFn: null, alive: true,
      gone: new Promise<void>((resolve) => { settleGone = resolve; }),
    };
    this.runtimes.set(id, rt);
    const onOutput = this.options.onOutput;
    drain(child.stdout, this.options.debug ? `[runtime ${rt.pid} stdout] ` : null,
      onOutput === undefined ? null : (text) => onOutput(rt, 'stdout', text));
    drain(child.stderr, this.options.debug ? `[runtime ${rt.pid} stderr] ` : null, (text) => {
      rt.stderrTail = (rt.stderrTail + text).slice(-STDERR_TAIL_BYTES);
      onOutput?.(rt, 'stderr', text);
    });
    let reported = false;
    const report = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      if (reported) return;
      reported = true;
      rt.alive = false;
      const oomKilled = this.cgroups !== null && this.cgroups.stats(id).oomKills > 0;
      events.onExit({ exitCode, signal, oomKilled });
      void this.release(rt).then(settleGone);
    };
    child.on('exit', report);
    child.on('error', (err) => {
      // Only a failed spawn matters here; a failed kill() of a dead process is not news.
      if (rt.pid !== 0) return;
      rt.stderrTail = `could not start ${this.options.pythonPath}: ${err.message}`;
      report(null, null);
    });
    if (setupError !== null) {
      rt.stderrTail = `could not create the runtime's cgroups: ${setupError.message}`;
      child.kill('SIGKILL');
    }
    return rt;
  }

  connect(rt: HostedRuntime): Socket {
    return this.get(rt).socket;
  }

  place(hosted: HostedRuntime, fn: Placement): BoxSpec | null {
    if (this.options.sandbox === 'off') return null;
    const rt = this.get(hosted);
    const { root, dir } = this.locate(fn.dir);
    const depsDir = fn.depsDir === undefined ? undefined : this.locateDeps(fn.depsDir);
    const dataDir = fn.dataDir === undefined ? undefined : this.locateUnder(this.dataRoot, fn.dataDir, 'data socket');
    let uid = 1000;
    if (this.uids !== null) {
      if (rt.placedFn !== null) throw new PlatformError('INTERNAL_ERROR', `runtime ${rt.id} was already placed`);
      uid = this.uids.acquire(fn.name);
      rt.placedFn = fn.name;
    }
    const { tasksMax, tmpBytes, openFiles } = this.options;
    return {
      codeRoot: root, codeDir: dir, uid, gid: uid, hostname: fn.name.slice(0, 63),
      rlimits: {
        nofile: openFiles,
        // Per uid: one uid serves every instance of the function (root mode); per box in a user namespace.
        nproc: this.uids !== null ? tasksMax * Math.max(1, fn.maxInstances) : tasksMax,
        fsize: tmpBytes,
        core: 0,
      },
      cgroup: this.cgroups?.place(rt.id, fn.name, fn.memoryBytes) ?? [],
      ...(depsDir !== undefined ? { depsDir } : {}),
      ...(dataDir !== undefined ? { dataDir } : {}),
    };
  }

  signal(rt: HostedRuntime, signal: 'SIGKILL' | 'SIGTERM'): void {
    const r = this.runtimes.get(rt.id);
    if (r !== undefined && r.alive) r.child.kill(signal);
  }

  stats(rt: HostedRuntime): RuntimeStats {
    return this.cgroups?.stats(rt.id) ?? NO_STATS;
  }

  lastOutput(rt: HostedRuntime): string {
    return this.runtimes.get(rt.id)?.stderrTail ?? '';
  }

  destroy(rt: HostedRuntime): void {
    this.signal(rt, 'SIGKILL');
  }

  async close(): Promise<void> {
    const all = [...this.runtimes.values()];
    for (const rt of all) this.signal(rt, 'SIGKILL');
    await Promise.all(all.map((rt) => rt.gone));
    this.cgroups?.close();
  }

  /** Which code root holds `dir`, and the path under it. */
  private locate(dir: string): { root: number; dir: string } {
    for (const candidate of [dir, realpathOr(dir)]) {
      for (let i = 0; i < this.codeRoots.length; i++) {
        const rel = relative(this.codeRoots[i]!, candidate);
        if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return { root: i, dir: rel.split(sep).join('/') };
      }
    }
    throw new PlatformError('RUNTIME_UNAVAILABLE', `the function's code directory ${dir} is outside the sandbox's code roots (${this.codeRoots.join(', ')})`);
  }

  /** `depsDir` relative to the deps root (bound hidden at /.fp/deps; enter.py binds it at /deps). */
  private locateDeps(depsDir: string): string {
    return this.locateUnder(this.depsRoot, depsDir, 'dependency');
  }

  /** `dir` relative to `root` (`/`-separated), or RUNTIME_UNAVAILABLE if it is not under it. */
  private locateUnder(root: string | null, dir: string, what: string): string {
    for (const candidate of [dir, realpathOr(dir)]) {
      const rel = root === null ? '' : relative(root, candidate);
      if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return rel.split(sep).join('/');
    }
    throw new PlatformError('RUNTIME_UNAVAILABLE', `the function's ${what} directory ${dir} is outside the sandbox's ${what === 'dependency' ? 'deps' : 'data'} root (${root ?? 'none'})`);
  }

  private get(rt: HostedRuntime): Runtime {
    const r = this.runtimes.get(rt.id);
    if (r === undefined) throw new PlatformError('INTERNAL_ERROR', `unknown runtime ${rt.id}`);
    return r;
  }

  private async release(rt: Runtime): Promise<void> {
    if (rt.placedFn !== null) this.uids?.release(rt.placedFn);
    rt.placedFn = null;
    await this.cgroups?.release(rt.id);
    this.runtimes.delete(rt.id);
  }
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Reads a child's output so it can never block on a full pipe; forwards it in debug mode. */
function drain(stream: Readable | null, prefix: string | null, keep: ((text: string) => void) | null): void {
  if (stream === null) return;
  if (prefix === null && keep === null) {
    stream.resume();
    return;
  }
  stream.setEncoding('utf8');
  stream.on('data', (text: string) => {
    keep?.(text);
    if (prefix !== null) process.stderr.write(prefix + text.replace(/\n(?=.)/g, `\n${prefix}`));
  });
}
